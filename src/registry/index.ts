/** The COUNTER Registry: client, records, providers made from it, and keeping them in step. */
export {
  DEFAULT_REGISTRY_URL,
  REGISTRY_URL_VARIABLE,
  RegistryClient,
  registryUrlFrom,
  type RegistryClientOptions,
  type RegistrySnapshot,
} from './client.ts';
export {
  RegistryError,
  RegistryNotFoundError,
  RegistryUnreachableError,
  type RegistryErrorCode,
} from './errors.ts';
export {
  normaliseRelease,
  readPlatform,
  readPlatformList,
  readSushiService,
  recordIdOf,
  type CredentialRequirements,
  type RegistryAudit,
  type RegistryContact,
  type RegistryMigration,
  type RegistryPlatform,
  type RegistryRelease,
  type RegistryReportEntry,
  type RegistryServiceRef,
  type RegistrySushiService,
} from './model.ts';
export {
  masterReportsOf,
  missingCredentials,
  notesFromRegistry,
  preferredService,
  providerFromRegistry,
  registryLinkOf,
  serviceBaseUrl,
  serviceTypeFor,
  type NewUsageDataProvider,
  type ProviderCredentials,
  type ProviderDraft,
  type ProviderFromRegistryOptions,
  type RegistryLink,
} from './provider.ts';
export {
  applyRegistryChanges,
  diffProvider,
  diffWithRegistry,
  registryRefsOf,
  type ApplyOptions,
  type ProviderSyncReport,
  type RegistryChange,
} from './sync.ts';
