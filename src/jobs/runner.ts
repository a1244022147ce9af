/**
 * What the two one-shot job types do (folio-contract §6.5, §7.1 steps 1–2 up to the harvest itself).
 *
 * - Tenant job: lists the tenant's active UDPs (paged, 1000 at a time) and requests one provider job per UDP
 *   in list order, the jobs of 1000 UDPs accepted together; UDPs with an active provider job are skipped
 *   (logged only). It does not wait for them.
 * - Provider job: loads the UDP, checks that harvesting is active, then hands it to the
 *   {@link HarvestProvider} hook (provider-hook.ts), which does the harvest proper.
 *
 * A job succeeds when its function resolves and fails when it throws; the JobInfo `errorMessage` is
 * `<ShortErrorName>: <message>` of the error thrown ({@link formatJobError}).
 */
import type { Logger } from '../log.ts';
import { secrets } from '../log.ts';
import type { UsageDataProvider } from '../model/records.ts';
import type { ErmStore } from '../erm/port.ts';
import type { HarvestProvider, ProviderJobContext } from './provider-hook.ts';

/** A provider job failure of folio-contract §7.1 step 1. */
export class ProviderJobError extends Error {
  override name = 'ProviderJobError';
}

/** `<ShortErrorName>: <message>` (or the name alone when there is no message), secrets removed. */
export function formatJobError(err: unknown): string {
  if (!(err instanceof Error)) return secrets.redact(String(err));
  const name = err.name || err.constructor.name || 'Error';
  return secrets.redact(err.message ? `${name}: ${err.message}` : name);
}

const ACTIVE_PROVIDERS_CQL = 'harvestingConfig.harvestingStatus=="active" sortby id';
const PAGE_SIZE = 1000;

/** The ids of the tenant's active UDPs, in `sortby id` order, read page by page. */
export async function listActiveProviderIds(erm: ErmStore, tenant: string): Promise<string[]> {
  const ids: string[] = [];
  for (let offset = 0; ; offset += PAGE_SIZE) {
    const page = await erm.findProviders(tenant, ACTIVE_PROVIDERS_CQL, offset, PAGE_SIZE);
    ids.push(...page.records.map((p) => p.id));
    if (page.records.length === 0 || offset + PAGE_SIZE >= page.totalRecords) return ids;
  }
}

/**
 * Tenant job: one provider job per active UDP; returns the ids that were skipped. `requestProviderJobs`
 * accepts the jobs of a page of UDPs together and answers the ids it refused (an active job); a page
 * it fails on is skipped as a whole.
 */
export async function runTenantJob(
  erm: ErmStore,
  tenant: string,
  requestProviderJobs: (providerIds: string[]) => Promise<string[]>,
  log: Logger,
): Promise<string[]> {
  const skipped: string[] = [];
  const ids = await listActiveProviderIds(erm, tenant);
  for (let at = 0; at < ids.length; at += PAGE_SIZE) {
    const page = ids.slice(at, at + PAGE_SIZE);
    let refused: string[];
    let reason = 'already active';
    try {
      refused = await requestProviderJobs(page);
    } catch (err) {
      refused = page;
      reason = formatJobError(err);
    }
    for (const providerId of refused)
      log.info({ tenant, providerId, reason }, 'tenant job: provider skipped');
    skipped.push(...refused);
  }
  return skipped;
}

/** Provider job, folio-contract §7.1 step 1: loads the UDP and checks `harvestingStatus`, then runs the harvest hook. */
export async function runProviderJob(
  erm: ErmStore,
  tenant: string,
  providerId: string,
  harvest: HarvestProvider,
  job: ProviderJobContext,
): Promise<void | 'detached'> {
  let provider: UsageDataProvider;
  try {
    provider = await erm.getProvider(tenant, providerId);
  } catch (err) {
    throw new ProviderJobError(`Provider: ${providerId}, ${(err as Error).message}`);
  }
  if (provider.harvestingConfig?.harvestingStatus !== 'active')
    throw new ProviderJobError(`Provider: ${providerId}, HarvestingStatus not ACTIVE`);
  secrets.addFromRecord(provider);
  return harvest(tenant, provider, job);
}
