/**
 * erm-usage-harvester's package entry: the typed HTTP client of the service, its wire types and errors.
 * The service itself is started with `erm-usage-harvester serve` (see src/server.ts).
 */
export * from './client/index.ts';
