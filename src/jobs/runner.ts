/**
 * What the two one-shot job types do (folio-contract §6.5, §7.1 steps 1–2 up to the harvest itself).
 *
 * - Tenant job: lists the tenant's active UDPs (paged, 1000 at a time) and requests one provider job per UDP
 *   in list order; UDPs with an active provider job are skipped (logged only). It does not wait for them.
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
import { JobConflictError } from './queue.ts';

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

/** Tenant job: one provider job per active UDP; returns the ids that were skipped. */
export async function runTenantJob(
  erm: ErmStore,
  tenant: string,
  requestProviderJob: (providerId: string) => Promise<unknown>,
  log: Logger,
): Promise<string[]> {
  const skipped: string[] = [];
  for (const id of await listActiveProviderIds(erm, tenant)) {
    try {
      await requestProviderJob(id);
    } catch (err) {
      skipped.push(id);
      const reason = err instanceof JobConflictError ? 'already active' : formatJobError(err);
      log.info({ tenant, providerId: id, reason }, 'tenant job: provider skipped');
    }
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
