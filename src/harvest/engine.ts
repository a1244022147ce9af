/**
 * The harvesting engine: FOLIO's provider run, made durable and polite (work items shared by all
 * processes, per-endpoint politeness, the exception policy), put together from its parts:
 *
 * - provider-run.ts: a provider job binds the provider to its service implementation (binding.ts),
 *   records the harvest attempt, plans the missing (report, months) and stores one work item per request;
 *   the job ends after its last item;
 * - item-workers.ts: item workers in every process take items as politeness allows and fetch them;
 * - policy.ts decides what a response means, actions.ts carries it out, months.ts stores the months with
 *   FOLIO's upsert rule (upload.ts).
 */
import type { ServiceContext } from '../context.ts';
import type { ErmStore } from '../erm/port.ts';
import type { CompleteProviderJob, HarvestProvider } from '../jobs/provider-hook.ts';
import { WorkItemQueue } from '../store/sql/work-items.ts';
import { DecisionActions } from './actions.ts';
import { Bindings } from './binding.ts';
import type { HarvestParts } from './context.ts';
import { ItemWorkers } from './item-workers.ts';
import { MonthStore } from './months.ts';
import { EndpointPaces } from './pace.ts';
import { ProviderRuns } from './provider-run.ts';
import { HarvestTally } from './tally.ts';

export class HarvestEngine {
  private readonly workers: ItemWorkers;

  /** The hook the job service calls for each provider job. */
  readonly harvestProvider: HarvestProvider;

  constructor(ctx: ServiceContext, erm: ErmStore, completeJob: CompleteProviderJob) {
    const cfg = ctx.config;
    const parts: HarvestParts = {
      ctx,
      erm,
      queue: new WorkItemQueue(
        ctx.db,
        cfg.instanceId,
        cfg.staleHeartbeatMinutes * 60_000,
        cfg.harvest.providerRequestConcurrency,
      ),
      bindings: new Bindings(ctx, erm),
      paces: new EndpointPaces(ctx.db, cfg.harvest),
      tally: new HarvestTally(ctx),
    };
    const runs = new ProviderRuns(parts, completeJob);
    this.workers = new ItemWorkers(parts, new DecisionActions(parts, new MonthStore(parts)), runs);
    this.harvestProvider = async (tenant, provider, job) => {
      const outcome = await runs.plan(tenant, provider, job);
      if (outcome === 'detached') this.workers.wake();
      return outcome;
    };
  }

  /** Starts the item workers, their heartbeat and the reaper. */
  async start(): Promise<void> {
    await this.workers.start();
  }

  /** Stops them; requests cut off go back to the queue. */
  async stop(): Promise<void> {
    await this.workers.stop();
  }

  /** One round of the reaper now (it also runs periodically). */
  async reap(): Promise<void> {
    await this.workers.reap();
  }

  /** Wakes the workers (new items, or a test moved the clock). */
  wake(): void {
    this.workers.wake();
  }
}
