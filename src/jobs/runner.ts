/**
 * What the two one-shot job types do (compat spec §6.5, §7.1 steps 1–2 up to the harvest itself).
 *
 * - Tenant job: lists the tenant's active UDPs (paged, 1000 at a time) and requests one provider job per UDP
 *   in list order; UDPs with an active provider job are skipped (logged only). It does not wait for them.
 * - Provider job: loads the UDP, checks that harvesting is active, then hands it to the pluggable
 *   {@link HarvestProvider} hook, which does the harvest proper.
 *
 * A job succeeds when its function resolves and fails when it throws; the JobInfo `errorMessage` is
 * `<ShortErrorName>: <message>` of the error thrown ({@link formatJobError}).
 */
import type { Logger } from '../log.ts';
import { secrets } from '../log.ts';
import type { UsageDataProvider } from '../model/records.ts';
import type { ErmStore } from '../erm/port.ts';
import type { Queryable } from '../store/db.ts';
import { JobConflictError } from './queue.ts';

/** What a harvest gets besides the tenant and the loaded, active UDP. */
export interface ProviderJobContext {
  /** The provider job's JobInfo id. */
  jobId: string;
  /** Where UDPs, aggregator settings, counter reports and settings live (standalone store or FOLIO). */
  erm: ErmStore;
  /** Logger bound to tenant, provider and job. */
  log: Logger;
  /** Aborted when the service stops; a harvest should then stop soon (its job stays unfinished). */
  signal: AbortSignal;
  /** The service clock (epoch ms); tests pin it. */
  now(): number;
  /**
   * Hands the rest of the job to durable work items: call inside the transaction that stores them, then
   * resolve with `'detached'`. The job stays running (and live) until {@link JobService.completeDetached}.
   */
  detach(tx: Queryable): Promise<void>;
}

/**
 * The harvest of one UDP (§7.1 from step 2 on). Resolve for `success`; throw for `failure`, the error's
 * `name` and `message` becoming the JobInfo `errorMessage` (`<name>: <message>`). Per-report errors are
 * not job failures: they are stored as failed counter reports and the hook resolves.
 * Heartbeats are sent by the worker while the returned promise is pending; the hook need not send any.
 */
export type HarvestProvider = (
  tenant: string,
  provider: UsageDataProvider,
  job: ProviderJobContext,
) => Promise<void | 'detached'>;

/** Default hook until the harvest is implemented: nothing to do, success. */
export const recordSuccess: HarvestProvider = async (tenant, provider, job) => {
  job.log.info({ tenant, providerId: provider.id }, 'no harvester installed: provider job ends with success');
};

/** A provider job failure of §7.1 step 1. */
export class ProviderJobError extends Error {
  override name = 'ProviderJobError';
}

/** `<ShortErrorName>: <message>` (or the name alone when there is no message), secrets removed. */
export function formatJobError(err: unknown): string {
  if (!(err instanceof Error)) return secrets.redact(String(err));
  const name = err.name || err.constructor.name || 'Error';
  return secrets.redact(err.message ? `${name}: ${err.message}` : name);
}

export const ACTIVE_PROVIDERS_CQL = 'harvestingConfig.harvestingStatus=="active" sortby id';
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

/** Provider job, §7.1 step 1: loads the UDP and checks `harvestingStatus`, then runs the harvest hook. */
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
