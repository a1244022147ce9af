/** Answers of the onboarding and credential endpoints: key rotation, the COUNTER Registry, consortia. */
import type { UsageDataProvider } from './types.ts';

/** `POST /admin/credentials/rotate`. */
export interface CredentialRotation {
  /** The key every credential is now encrypted under. */
  keyId: string;
  tenants: number;
  /** Providers and aggregator settings looked at. */
  records: number;
  /** Records rewritten. */
  written: number;
  /** Values moved from a previous key. */
  reencrypted: number;
  /** Values that were stored in plain text. */
  encrypted: number;
  alreadyCurrent: number;
}

/** Which credentials a COUNTER API service needs. */
export interface CredentialRequirements {
  customerId: boolean;
  requestorId: boolean;
  apiKey: boolean;
  platform: boolean;
}

/** A COUNTER Registry platform as `GET /registry/platforms` lists it. */
export interface RegistryPlatformSummary {
  id: string;
  name: string;
  abbrev?: string;
  contentProviderName?: string;
  website?: string;
  /** COUNTER releases of its API services: `5`, `5.1`. */
  releases: string[];
}

/** A COUNTER API service of a registry platform. */
export interface RegistryServiceSummary {
  id: string;
  release: string;
  url?: string;
  requires: CredentialRequirements;
  /** Where to find each credential, in the provider's words. */
  help: { customerId?: string; requestorId?: string; apiKey?: string; platform?: string };
  requestVolumeLimits?: string;
  ipAddressAuthorization: boolean;
  credentialsAutoExpire: boolean;
}

/** `GET /registry/platforms/{id}`. */
export interface RegistryPlatformDetail extends RegistryPlatformSummary {
  services: RegistryServiceSummary[];
}

/** The body of `POST /usage-data-providers/from-registry`. */
export interface FromRegistryRequest {
  /** A registry platform id, or `platform`: its name or abbreviation. */
  platformId?: string;
  platform?: string;
  /** Complete this existing provider instead of creating one. */
  providerId?: string;
  release?: '5' | '5.1';
  label?: string;
  harvestingStart?: string;
  requestedReports?: string[];
  credentials?: { customerId?: string; requestorId?: string; apiKey?: string; platform?: string };
}

/** The answer of `POST /usage-data-providers/from-registry`. */
export interface FromRegistryResult {
  /** The provider as stored, credentials masked. */
  provider: UsageDataProvider;
  /** Required credentials not given yet (`sushiCredentials.apiKey`, ...): it does not harvest until they are. */
  missing: string[];
  service: RegistryServiceSummary;
}

/** One provider's changes in the registry (`kind`: url-changed, url-differs, platform-gone, ...). */
export interface RegistrySyncEntry {
  providerId: string;
  label: string;
  changes: ({ kind: string } & Record<string, unknown>)[];
}

/** `GET|POST /registry/sync`. */
export interface RegistrySyncResult {
  /** Providers linked to the registry. */
  checked: number;
  providers: RegistrySyncEntry[];
  /** POST: the providers rewritten. */
  applied?: string[];
}

export interface RegistrySyncOptions {
  /** Take the changes over (default true for `syncRegistry`). */
  apply?: boolean;
  /** Move COUNTER 5.0 providers to the platform's 5.1 service. */
  switchRelease?: boolean;
  /** Also replace service URLs edited by hand. */
  overrideEditedUrl?: boolean;
}

interface MemberProviderBrief {
  id?: string;
  label?: string;
  customerId?: string;
}

/** `POST /usage-data-providers/{id}/members/sync`. */
export interface MembersSyncResult {
  applied: boolean;
  /** Entries of the provider's members list. */
  members: number;
  created: MemberProviderBrief[];
  updated: (MemberProviderBrief & { changes: string[] })[];
  deactivated: MemberProviderBrief[];
  unchanged: number;
  warnings: string[];
}
