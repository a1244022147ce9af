/** Building usage data provider records from CLI flags, and keeping their secrets off the screen. */
import type { UsageDataProvider } from '../client/index.ts';

export type DirectServiceType = 'cs51' | 'cs50' | 'cs41';

export const SERVICE_TYPES: readonly DirectServiceType[] = ['cs51', 'cs50', 'cs41'];

/** The COUNTER release each direct service type harvests. */
const RELEASE_OF: Record<DirectServiceType, string> = { cs51: '5.1', cs50: '5', cs41: '4' };

const R5_MASTER_REPORTS = ['TR', 'PR', 'DR', 'IR'];

export interface ProviderFlags {
  label: string;
  url: string;
  type: DirectServiceType;
  release?: string;
  customerId?: string;
  requestorId?: string;
  apiKey?: string;
  platform?: string;
  reports?: string;
  start?: string;
  end?: string;
  inactive?: boolean;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

export function providerFromFlags(f: ProviderFlags): UsageDataProvider {
  const status = f.inactive ? 'inactive' : 'active';
  const credentials = definedOnly({
    customerId: f.customerId,
    requestorId: f.requestorId,
    apiKey: f.apiKey,
    platform: f.platform,
  });
  return {
    label: f.label,
    status,
    harvestingConfig: definedOnly({
      harvestingStatus: status,
      harvestVia: 'sushi' as const,
      sushiConfig: { serviceType: f.type, serviceUrl: checkUrl(f.url) },
      reportRelease: f.release ?? RELEASE_OF[f.type],
      requestedReports: reportList(f.reports, f.type),
      harvestingStart: checkMonth('--start', f.start),
      harvestingEnd: f.end === undefined ? undefined : checkMonth('--end', f.end),
    }),
    ...(Object.keys(credentials).length ? { sushiCredentials: credentials } : {}),
  };
}

export function reportList(reports: string | undefined, type: DirectServiceType): string[] {
  if (reports === undefined) {
    if (type === 'cs41')
      throw new UsageError('--reports is required for cs41 (COUNTER 4), e.g. --reports JR1,BR2,DB1,PR1');
    return R5_MASTER_REPORTS;
  }
  const list = reports
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  if (list.length === 0) throw new UsageError('--reports needs at least one report name, e.g. TR,PR');
  return list;
}

export function checkMonth(flag: string, value: string | undefined): string {
  if (value === undefined)
    throw new UsageError(`${flag} is required: the first month to harvest, e.g. ${flag} 2024-01`);
  if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(value))
    throw new UsageError(`${flag} must be a month written yyyy-MM, e.g. 2024-01; got "${value}"`);
  return value;
}

export function checkUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.protocol === 'http:' || u.protocol === 'https:') return url;
  } catch {
    // reported below
  }
  throw new UsageError(`--url must be the provider's SUSHI base URL (http or https); got "${url}"`);
}

function definedOnly<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

const SECRET_FIELDS = ['apiKey', 'requestorId'] as const;

/** A copy of the provider with `apiKey` and `requestorId` replaced by `***`. */
export function maskSecrets(p: UsageDataProvider): UsageDataProvider {
  const creds = p.sushiCredentials;
  if (!creds) return p;
  const masked = { ...creds };
  for (const field of SECRET_FIELDS) if (masked[field] !== undefined) masked[field] = '***';
  return { ...p, sushiCredentials: masked };
}

/** The TYPE column: the SUSHI service type, or the aggregator a provider is harvested through. */
export function providerType(p: UsageDataProvider): string {
  const hc = p.harvestingConfig;
  if (hc?.harvestVia === 'aggregator')
    return `aggregator${hc.aggregator?.name ? `: ${hc.aggregator.name}` : ''}`;
  return hc?.sushiConfig?.serviceType ?? '';
}

export function providerStatus(p: UsageDataProvider): string {
  const harvesting = p.harvestingConfig?.harvestingStatus;
  if (harvesting && harvesting !== p.status) return `${p.status} (harvesting ${harvesting})`;
  return p.status ?? '';
}

export function providerFailed(p: UsageDataProvider): string {
  if (p.hasFailedReport !== 'yes') return p.hasFailedReport ?? '';
  const codes = p.reportErrorCodes ?? [];
  return codes.length ? `yes (${codes.join(', ')})` : 'yes';
}
