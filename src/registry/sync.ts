/**
 * Keeping providers made from the registry in step with it: a pure comparison of providers (their
 * `harvestingConfig.registry` links) with what the registry says now, and a pure update of one
 * provider that takes the registry's changes over.
 *
 * Nothing here deletes or deactivates a provider: a platform or service that disappeared from the
 * registry is reported, and what to do about it is the user's decision.
 */
import type { UsageDataProvider } from '../model/records.ts';
import type { RegistrySnapshot } from './client.ts';
import type { CredentialRequirements, RegistryRelease } from './model.ts';
import {
  missingCredentials,
  registryLinkOf,
  serviceBaseUrl,
  serviceTypeFor,
  type RegistryLink,
} from './provider.ts';

export type RegistryChange =
  /** The registry no longer lists the platform. */
  | { kind: 'platform-gone'; platformId: string }
  /** The registry no longer has the service the provider harvests (or the platform no longer lists it). */
  | { kind: 'service-gone'; serviceId: string }
  | { kind: 'platform-renamed'; from: string; to: string }
  /** The registry's URL for the service changed since the last sync; `to` is normalised. */
  | { kind: 'url-changed'; from: string; to: string; providerUrl: string }
  /** The registry's URL did not change, but the provider's differs from it (edited by hand). */
  | { kind: 'url-differs'; registryUrl: string; providerUrl: string }
  | { kind: 'requirements-changed'; from: CredentialRequirements; to: CredentialRequirements }
  /** The provider harvests COUNTER 5.0 and the platform now has a 5.1 service. */
  | { kind: 'release-available'; release: RegistryRelease; serviceId: string; serviceUrl: string }
  /** Credentials the registry requires (now) that the provider lacks. */
  | { kind: 'credentials-missing'; fields: string[] };

export interface ProviderSyncReport {
  providerId: string;
  label: string;
  link: RegistryLink;
  changes: RegistryChange[];
}

/** The registry records the providers link to, for `RegistryClient.snapshotFor`. */
export function registryRefsOf(
  providers: Iterable<UsageDataProvider>,
): Array<{ platformId: string; serviceId: string }> {
  const refs = new Map<string, { platformId: string; serviceId: string }>();
  for (const provider of providers) {
    const link = registryLinkOf(provider);
    if (link)
      refs.set(`${link.platformId}|${link.serviceId}`, {
        platformId: link.platformId,
        serviceId: link.serviceId,
      });
  }
  return [...refs.values()];
}

function sameRequirements(a: CredentialRequirements, b: CredentialRequirements): boolean {
  return (
    a.customerId === b.customerId &&
    a.requestorId === b.requestorId &&
    a.apiKey === b.apiKey &&
    a.platform === b.platform
  );
}

function providerUrlOf(provider: UsageDataProvider): string {
  return provider.harvestingConfig?.sushiConfig?.serviceUrl ?? '';
}

/** What changed in the registry for one linked provider; undefined when the provider has no link. */
export function diffProvider(
  provider: UsageDataProvider,
  snapshot: RegistrySnapshot,
): ProviderSyncReport | undefined {
  const link = registryLinkOf(provider);
  if (!link) return undefined;
  const report: ProviderSyncReport = { providerId: provider.id, label: provider.label, link, changes: [] };
  const changes = report.changes;
  const platform = snapshot.platforms.get(link.platformId);
  if (platform === null) changes.push({ kind: 'platform-gone', platformId: link.platformId });
  if (platform && link.platformName && platform.name !== link.platformName) {
    changes.push({ kind: 'platform-renamed', from: link.platformName, to: platform.name });
  }
  const service = snapshot.services.get(link.serviceId);
  const listed = !platform || platform.sushiServices.some((ref) => ref.id === link.serviceId);
  if (service === null || (service && !listed))
    changes.push({ kind: 'service-gone', serviceId: link.serviceId });

  if (service && listed) {
    const registryUrl = serviceBaseUrl(service.url, link.release) ?? service.url ?? '';
    const recordedUrl = serviceBaseUrl(link.serviceUrl, link.release) ?? link.serviceUrl;
    const providerUrl = providerUrlOf(provider);
    const providerBase = serviceBaseUrl(providerUrl, link.release) ?? providerUrl;
    if (registryUrl !== recordedUrl) {
      changes.push({ kind: 'url-changed', from: recordedUrl, to: registryUrl, providerUrl });
    } else if (registryUrl !== providerBase) {
      changes.push({ kind: 'url-differs', registryUrl, providerUrl });
    }
    if (!sameRequirements(service.requires, link.requires)) {
      changes.push({ kind: 'requirements-changed', from: link.requires, to: { ...service.requires } });
    }
    const missing = missingCredentials({
      ...provider,
      harvestingConfig: { ...provider.harvestingConfig, registry: { ...link, requires: service.requires } },
    });
    if (missing.length > 0) changes.push({ kind: 'credentials-missing', fields: missing });
  }

  if (platform && link.release === '5') {
    const newer = platform.sushiServices.find((ref) => ref.release === '5.1');
    const newerService = newer ? snapshot.services.get(newer.id) : undefined;
    const url = newerService ? serviceBaseUrl(newerService.url, '5.1') : undefined;
    if (newer && url)
      changes.push({ kind: 'release-available', release: '5.1', serviceId: newer.id, serviceUrl: url });
  }
  return report;
}

/** The linked providers for which the registry says something new, in the order given. */
export function diffWithRegistry(
  providers: Iterable<UsageDataProvider>,
  snapshot: RegistrySnapshot,
): ProviderSyncReport[] {
  const reports: ProviderSyncReport[] = [];
  for (const provider of providers) {
    const report = diffProvider(provider, snapshot);
    if (report && report.changes.length > 0) reports.push(report);
  }
  return reports;
}

export interface ApplyOptions {
  /** Also move a COUNTER 5.0 provider to the platform's 5.1 service (`release-available`). */
  switchRelease?: boolean;
  /** Also take the registry's URL over when the provider's was edited by hand (`url-differs`). */
  overrideEditedUrl?: boolean;
  now?: Date;
}

/**
 * The provider with the registry's changes taken over: a changed service URL, changed credential
 * rules and the platform's new name go into the link (and the URL into `sushiConfig.serviceUrl`);
 * with `switchRelease`, a 5.0 provider moves to the 5.1 service. Gone platforms or services leave
 * the provider as it is. Credentials and everything else of the record are kept.
 */
export function applyRegistryChanges(
  provider: UsageDataProvider,
  report: ProviderSyncReport,
  snapshot: RegistrySnapshot,
  options: ApplyOptions = {},
): UsageDataProvider {
  const updated = structuredClone(provider);
  const config = (updated.harvestingConfig ??= {});
  const link: RegistryLink = { ...report.link, requires: { ...report.link.requires } };
  const setUrl = (url: string) => {
    config.sushiConfig = { ...config.sushiConfig, serviceUrl: url };
  };
  for (const change of report.changes) {
    switch (change.kind) {
      case 'platform-renamed':
        link.platformName = change.to;
        break;
      case 'url-changed':
        setUrl(change.to);
        link.serviceUrl = snapshot.services.get(link.serviceId)?.url ?? change.to;
        break;
      case 'url-differs':
        if (options.overrideEditedUrl) setUrl(change.registryUrl);
        break;
      case 'requirements-changed':
        link.requires = { ...change.to };
        break;
      default:
        break;
    }
  }
  const upgrade = report.changes.find((c) => c.kind === 'release-available');
  const newer = upgrade ? snapshot.services.get(upgrade.serviceId) : undefined;
  if (options.switchRelease && upgrade && newer) {
    link.serviceId = newer.id;
    link.release = upgrade.release;
    link.serviceUrl = newer.url ?? upgrade.serviceUrl;
    link.requires = { ...newer.requires };
    config.sushiConfig = { ...config.sushiConfig, serviceType: serviceTypeFor(upgrade.release) };
    setUrl(upgrade.serviceUrl);
    config.reportRelease = upgrade.release;
  }
  link.syncedAt = (options.now ?? new Date()).toISOString();
  config.registry = link;
  return updated;
}
