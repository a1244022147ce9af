/**
 * Where the statements of `store/sql/` find their tables. Every table of the system schema is named
 * once, in the module that owns it, through `systemTable`; tenant tables are named per tenant by
 * `tenantTable` (store/tenants.ts), which quotes the schema.
 */

/** The schema all tenants and processes share. A plain identifier: it needs no quoting. */
const SYSTEM_SCHEMA = 'harvester';

/** `harvester.<name>` */
export function systemTable(name: string): string {
  return `${SYSTEM_SCHEMA}.${name}`;
}
