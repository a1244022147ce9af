/**
 * From a registry platform and its COUNTER API services to a usage data provider record (FOLIO's
 * udprovider shape), and the link that record keeps to the registry:
 *
 *     harvestingConfig.registry = {
 *       platformId, platformName, serviceId, release: "5.1" | "5",
 *       serviceUrl,                       // the URL as the registry gave it (for sync)
 *       requires: { customerId, requestorId, apiKey, platform },
 *       syncedAt                          // ISO date-time of the import or last sync
 *     }
 *
 * `requires` tells the harvesting engine which credentials the provider needs: `missingCredentials`
 * lists those that are required but empty, for a clear error before any request is sent.
 */
import { MASTER_REPORT_IDS } from '../counter/index.ts';
import type { UsageDataProvider } from '../model/records.ts';
import { parseServiceUrl, r50Base, r51Base } from '../sushi/url.ts';
import { EndpointInitError } from '../sushi/types.ts';
import { RegistryError } from './errors.ts';
import type {
  CredentialRequirements,
  RegistryPlatform,
  RegistryRelease,
  RegistrySushiService,
} from './model.ts';

export interface RegistryLink {
  platformId: string;
  platformName: string;
  serviceId: string;
  release: RegistryRelease;
  /** The COUNTER API URL as the registry gave it at the last sync (not normalised). */
  serviceUrl: string;
  requires: CredentialRequirements;
  /** When the provider was made from the registry or last brought in step with it. */
  syncedAt: string;
}

/** A provider record not stored yet (no id). */
export type NewUsageDataProvider = Partial<UsageDataProvider> & {
  label: string;
  description?: string;
  notes?: string;
};

export interface ProviderCredentials {
  customerId?: string;
  requestorId?: string;
  apiKey?: string;
  platform?: string;
}

export interface ProviderFromRegistryOptions {
  /** Credentials the user entered; those left out stay empty. */
  credentials?: ProviderCredentials;
  /** Use this release's service; default 5.1 when the platform has one, else 5. */
  release?: RegistryRelease;
  /** Default: the platform's name. */
  label?: string;
  /** First month to harvest, `yyyy-MM`. */
  harvestingStart?: string;
  /** Default: the master reports the registry lists for the release (all four when it lists none). */
  requestedReports?: string[];
  /** The time of the import; default now. */
  now?: Date;
}

export interface ProviderDraft {
  provider: NewUsageDataProvider;
  /** The service the provider harvests. */
  service: RegistrySushiService;
  /** Credential fields the service requires that were not given (`sushiCredentials.apiKey`, ...). */
  missing: string[];
}

const RELEASE_PREFERENCE: readonly RegistryRelease[] = ['5.1', '5'];

/** `cs51` for COUNTER 5.1, `cs50` for 5.0. */
export function serviceTypeFor(release: RegistryRelease): 'cs51' | 'cs50' {
  return release === '5.1' ? 'cs51' : 'cs50';
}

/** The base URL the cs51 / cs50 client derives from a registry URL, or undefined for a bad URL. */
export function serviceBaseUrl(url: string | undefined, release: RegistryRelease): string | undefined {
  const parsed = parseServiceUrl(url);
  if (parsed instanceof EndpointInitError) return undefined;
  return release === '5.1' ? r51Base(parsed) : r50Base(parsed);
}

function isRegistryRelease(release: string): release is RegistryRelease {
  return release === '5' || release === '5.1';
}

/** The service to harvest: the given release, else 5.1, else 5.0; only services with a usable URL. */
export function preferredService(
  services: readonly RegistrySushiService[],
  release?: RegistryRelease,
): RegistrySushiService | undefined {
  const usable = services.filter((s) => isRegistryRelease(s.release) && serviceBaseUrl(s.url, s.release));
  for (const r of release ? [release] : RELEASE_PREFERENCE) {
    const found = usable.find((s) => s.release === r);
    if (found) return found;
  }
  return undefined;
}

/** The master reports the platform lists for the release, in COUNTER's order; all four when none. */
export function masterReportsOf(platform: RegistryPlatform, release: RegistryRelease): string[] {
  const listed = new Set(
    platform.reports.filter((r) => r.release === release).map((r) => r.reportId.toUpperCase()),
  );
  const masters = MASTER_REPORT_IDS.filter((id) => listed.has(id));
  return masters.length > 0 ? masters : [...MASTER_REPORT_IDS];
}

const CREDENTIAL_FIELDS: ReadonlyArray<keyof CredentialRequirements> = [
  'customerId',
  'requestorId',
  'apiKey',
  'platform',
];

function given(value: string | undefined): value is string {
  return typeof value === 'string' && value.trim() !== '';
}

/** Human-readable notes from the registry: where to find each credential, limits, contact. */
export function notesFromRegistry(platform: RegistryPlatform, service: RegistrySushiService): string {
  const lines = [
    `From the COUNTER Registry: ${platform.name} (COUNTER ${service.release === '5' ? '5.0' : '5.1'}).`,
  ];
  const help: Array<[string, string | undefined]> = [
    ['Customer ID', service.help.customerId],
    ['Requestor ID', service.help.requestorId],
    ['API key', service.help.apiKey],
    ['Platform', service.help.platform],
    ['Request limits', service.requestVolumeLimitsInfo],
    ['Credentials expire', service.credentialsAutoExpireInfo],
    ['IP address authorisation', service.ipAddressAuthorizationInfo],
    ['Customisations', service.customizationsInfo],
  ];
  for (const [what, info] of help) if (info) lines.push(`${what}: ${info}`);
  const contact = service.contact ?? platform.contact;
  const reach = [contact?.person, contact?.email, contact?.phone, contact?.formUrl]
    .filter(Boolean)
    .join(', ');
  if (reach) lines.push(`Contact: ${reach}`);
  return lines.join('\n');
}

/**
 * A new usage data provider for a registry platform. The provider harvests only when every required
 * credential is given (`harvestingConfig.harvestingStatus` is `inactive` otherwise, `missing` says
 * what is lacking). Throws RegistryError REGISTRY_NO_SERVICE when the platform has no usable
 * COUNTER 5.0 or 5.1 service.
 */
export function providerFromRegistry(
  platform: RegistryPlatform,
  services: readonly RegistrySushiService[],
  options: ProviderFromRegistryOptions = {},
): ProviderDraft {
  const service = preferredService(services, options.release);
  if (!service || !isRegistryRelease(service.release)) {
    const which = options.release
      ? `COUNTER ${options.release === '5' ? '5.0' : '5.1'}`
      : 'COUNTER 5.0 or 5.1';
    throw new RegistryError(
      'REGISTRY_NO_SERVICE',
      `The COUNTER Registry lists no ${which} API service with a valid URL for ${platform.name}; add the provider by hand`,
    );
  }
  const release = service.release;
  const credentials: ProviderCredentials = {};
  for (const field of CREDENTIAL_FIELDS) {
    const value = options.credentials?.[field];
    if (given(value)) credentials[field] = value.trim();
  }
  const missing = CREDENTIAL_FIELDS.filter((f) => service.requires[f] && !given(credentials[f])).map(
    (f) => `sushiCredentials.${f}`,
  );
  const link: RegistryLink = {
    platformId: platform.id,
    platformName: platform.name,
    serviceId: service.id,
    release,
    serviceUrl: service.url ?? '',
    requires: { ...service.requires },
    syncedAt: (options.now ?? new Date()).toISOString(),
  };
  const provider: NewUsageDataProvider = {
    label: options.label?.trim() || platform.name,
    ...(platform.contentProviderName && platform.contentProviderName !== platform.name
      ? { description: platform.contentProviderName }
      : {}),
    status: 'active',
    harvestingConfig: {
      harvestingStatus: missing.length === 0 ? 'active' : 'inactive',
      harvestVia: 'sushi',
      sushiConfig: { serviceType: serviceTypeFor(release), serviceUrl: serviceBaseUrl(service.url, release) },
      reportRelease: release,
      requestedReports: options.requestedReports ?? masterReportsOf(platform, release),
      ...(options.harvestingStart ? { harvestingStart: options.harvestingStart } : {}),
      registry: link,
    },
    sushiCredentials: credentials,
    notes: notesFromRegistry(platform, service),
  };
  return { provider, service, missing };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The provider's registry link, when it has a well-formed one. */
export function registryLinkOf(provider: { harvestingConfig?: object }): RegistryLink | undefined {
  const config = provider.harvestingConfig as Record<string, unknown> | undefined;
  const link = config?.registry;
  if (!isObject(link) || !isObject(link.requires)) return undefined;
  const { platformId, serviceId, release } = link;
  if (typeof platformId !== 'string' || typeof serviceId !== 'string') return undefined;
  if (typeof release !== 'string' || !isRegistryRelease(release)) return undefined;
  const requires = link.requires;
  return {
    platformId,
    platformName: typeof link.platformName === 'string' ? link.platformName : '',
    serviceId,
    release,
    serviceUrl: typeof link.serviceUrl === 'string' ? link.serviceUrl : '',
    requires: {
      customerId: requires.customerId !== false,
      requestorId: requires.requestorId === true,
      apiKey: requires.apiKey === true,
      platform: requires.platform === true,
    },
    syncedAt: typeof link.syncedAt === 'string' ? link.syncedAt : '',
  };
}

/**
 * The credential fields the provider's registry link requires but the provider leaves empty, as dotted
 * paths (`sushiCredentials.requestorId`). Empty without a link: then only the implementation's own
 * checks apply. The engine refuses to start the provider's requests while this is not empty.
 */
export function missingCredentials(provider: UsageDataProvider | NewUsageDataProvider): string[] {
  const link = registryLinkOf(provider);
  if (!link) return [];
  const credentials = (provider.sushiCredentials ?? {}) as Record<string, unknown>;
  return CREDENTIAL_FIELDS.filter((f) => {
    const value = credentials[f];
    return link.requires[f] && !(typeof value === 'string' && value.trim() !== '');
  }).map((f) => `sushiCredentials.${f}`);
}
