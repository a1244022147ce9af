/**
 * The COUNTER Registry's records as this project uses them, and tolerant readers from the API's JSON
 * (snake_case, `null` for unknown, booleans that may be missing). Unknown fields are ignored, so new
 * registry fields do not break the reader; a record without its `id` (or a platform without `name`)
 * is refused with REGISTRY_BAD_ANSWER.
 */
import { RegistryError } from './errors.ts';

/** COUNTER releases as the registry names them: `"5"` (5.0.x) and `"5.1"`. */
export type RegistryRelease = '5' | '5.1';

export interface RegistryContact {
  person?: string;
  email?: string;
  phone?: string;
  formUrl?: string;
}

export interface RegistryReportEntry {
  release: string;
  reportId: string;
  reportName?: string;
}

/** A platform's link to one of its COUNTER API services. */
export interface RegistryServiceRef {
  id: string;
  release: string;
  /** The service's record on the registry (not the COUNTER API URL). */
  recordUrl: string;
}

export interface RegistryPlatform {
  id: string;
  name: string;
  abbrev?: string;
  contentProviderName?: string;
  website?: string;
  country?: { code?: string; name?: string };
  contact?: RegistryContact;
  hostTypes: string[];
  reports: RegistryReportEntry[];
  sushiServices: RegistryServiceRef[];
  audited?: boolean;
}

/** Which credentials a COUNTER API service needs besides the customer id (which it always needs). */
export interface CredentialRequirements {
  customerId: boolean;
  requestorId: boolean;
  apiKey: boolean;
  platform: boolean;
}

export interface RegistryMigration {
  id?: string;
  dataHostId?: string;
  dataHostOriginalName?: string;
  migrationDate?: string;
}

export interface RegistryAudit {
  startDate?: string;
  finishDate?: string;
  finished?: boolean;
  result?: string;
  release?: string;
  status?: string;
}

export interface RegistrySushiService {
  id: string;
  /** The COUNTER API base URL as registered (may end in `/`, `/reports`, `/r51`...). */
  url?: string;
  release: string;
  dataHostId?: string;
  contact?: RegistryContact;
  requires: CredentialRequirements;
  /** The provider's help texts for each credential. */
  help: { customerId?: string; requestorId?: string; apiKey?: string; platform?: string };
  credentialsAutoExpire: boolean;
  credentialsAutoExpireInfo?: string;
  requestVolumeLimits: boolean;
  requestVolumeLimitsInfo?: string;
  ipAddressAuthorization: boolean;
  ipAddressAuthorizationInfo?: string;
  customizations: boolean;
  customizationsInfo?: string;
  notificationCount: number;
  migrations: RegistryMigration[];
  lastAudit?: RegistryAudit;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A non-empty trimmed string, or undefined. */
function text(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** `true`, `1` and `"true"` are true; anything else (also `null`: unknown) is false. */
function flag(value: unknown): boolean {
  return value === true || value === 1 || (typeof value === 'string' && /^(true|1|yes)$/i.test(value.trim()));
}

function array(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function compact<T extends object>(value: T): T | undefined {
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  return entries.length === 0 ? undefined : (Object.fromEntries(entries) as T);
}

/** `"5"`, `"5.0"`, `"5.0.3"` → `"5"`; `"5.1"`, `"5.1.0.1"` → `"5.1"`; anything else as given. */
export function normaliseRelease(value: unknown): string {
  const raw = typeof value === 'number' ? String(value) : (text(value) ?? '');
  if (/^5(\.0(\.\d+)*)?$/.test(raw)) return '5';
  if (/^5\.1(\.\d+)*$/.test(raw)) return '5.1';
  return raw;
}

/** The id in a registry record URL: the path segment after `/<kind>/` (either registry host). */
export function recordIdOf(
  url: unknown,
  kind: 'sushi-service' | 'usage-data-host' | 'platform',
): string | undefined {
  const s = text(url);
  if (!s) return undefined;
  const m = new RegExp(`/${kind}/([^/?#]+)`).exec(s);
  return m ? decodeURIComponent(m[1]) : undefined;
}

function contactOf(value: unknown): RegistryContact | undefined {
  if (!isObject(value)) return undefined;
  return compact({
    person: text(value.person),
    email: text(value.email),
    phone: text(value.phone),
    formUrl: text(value.form_url),
  });
}

function bad(what: string): never {
  throw new RegistryError('REGISTRY_BAD_ANSWER', `The COUNTER Registry answered with ${what}`);
}

export function readPlatform(value: unknown, where = 'a platform'): RegistryPlatform {
  if (!isObject(value)) bad(`${where} that is not an object`);
  const id = text(value.id);
  const name = text(value.name);
  if (!id) bad(`${where} without an id`);
  if (!name) bad(`platform ${id} without a name`);
  const country = isObject(value.address_country)
    ? compact({ code: text(value.address_country.code), name: text(value.address_country.name) })
    : undefined;
  const platform: RegistryPlatform = {
    id,
    name,
    hostTypes: array(value.host_types)
      .map((h) => (isObject(h) ? text(h.name) : text(h)))
      .filter((h): h is string => h !== undefined),
    reports: array(value.reports).flatMap((r): RegistryReportEntry[] => {
      const reportId = isObject(r) ? text(r.report_id) : undefined;
      if (!isObject(r) || !reportId) return [];
      const reportName = text(r.report_name);
      return [
        { release: normaliseRelease(r.counter_release), reportId, ...(reportName ? { reportName } : {}) },
      ];
    }),
    sushiServices: array(value.sushi_services).flatMap((s): RegistryServiceRef[] => {
      if (!isObject(s)) return [];
      const serviceId = recordIdOf(s.url, 'sushi-service');
      return serviceId
        ? [{ id: serviceId, release: normaliseRelease(s.counter_release), recordUrl: String(s.url) }]
        : [];
    }),
  };
  const optional: Partial<RegistryPlatform> = {
    abbrev: text(value.abbrev),
    contentProviderName: text(value.content_provider_name),
    website: text(value.website),
    country,
    contact: contactOf(value.contact),
    audited: typeof value.audited === 'boolean' ? value.audited : undefined,
  };
  return { ...platform, ...compact(optional) };
}

export function readPlatformList(value: unknown): RegistryPlatform[] {
  if (!Array.isArray(value)) {
    // A paginated answer ({results: [...]}) would be read the same way.
    if (isObject(value) && Array.isArray(value.results)) return readPlatformList(value.results);
    bad('a platform list that is not a JSON array');
  }
  return value.map((p, i) => readPlatform(p, `platform ${i + 1} of the list`));
}

function auditOf(value: unknown): RegistryAudit | undefined {
  if (!isObject(value)) return undefined;
  return compact({
    startDate: text(value.start_date),
    finishDate: text(value.finish_date),
    finished: typeof value.finished === 'boolean' ? value.finished : undefined,
    result: text(value.result),
    release: value.counter_release === undefined ? undefined : normaliseRelease(value.counter_release),
    status: text(value.audit_status),
  });
}

export function readSushiService(value: unknown, where = 'a sushi service'): RegistrySushiService {
  if (!isObject(value)) bad(`${where} that is not an object`);
  const id = text(value.id);
  if (!id) bad(`${where} without an id`);
  const service: RegistrySushiService = {
    id,
    release: normaliseRelease(value.counter_release),
    requires: {
      // Not a documented field; read when present, and required by COUNTER otherwise.
      customerId: value.customer_id_required === undefined ? true : flag(value.customer_id_required),
      requestorId: flag(value.requestor_id_required),
      apiKey: flag(value.api_key_required),
      platform: flag(value.platform_attr_required),
    },
    help:
      compact({
        customerId: text(value.customer_id_info),
        requestorId: text(value.requestor_id_info),
        apiKey: text(value.api_key_info),
        platform: text(value.platform_specific_info),
      }) ?? {},
    credentialsAutoExpire: flag(value.credentials_auto_expire),
    requestVolumeLimits: flag(value.request_volume_limits_applied),
    ipAddressAuthorization: flag(value.ip_address_authorization),
    customizations: flag(value.customizations_in_place),
    notificationCount: typeof value.notification_count === 'number' ? value.notification_count : 0,
    migrations: array(value.migrations)
      .filter(isObject)
      .map(
        (m) =>
          compact({
            id: text(m.id),
            dataHostId: recordIdOf(m.data_host, 'usage-data-host'),
            dataHostOriginalName: text(m.data_host_original_name),
            migrationDate: text(m.migration_date),
          }) ?? {},
      ),
  };
  const optional: Partial<RegistrySushiService> = {
    url: text(value.url),
    dataHostId: recordIdOf(value.data_host, 'usage-data-host'),
    contact: contactOf(value.contact),
    credentialsAutoExpireInfo: text(value.credentials_auto_expire_info),
    requestVolumeLimitsInfo: text(value.request_volume_limits_info),
    ipAddressAuthorizationInfo: text(value.ip_address_authorization_info),
    customizationsInfo: text(value.customizations_info),
    lastAudit: auditOf(value.last_audit),
  };
  return { ...service, ...compact(optional) };
}
