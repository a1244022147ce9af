/**
 * The item workers of one process: claim requests as politeness allows (up to `requestConcurrency` in
 * flight), fetch each one, let the policy decide and act on it, and end the provider job after its last
 * item. A request's slot is free again once its answer has been read: storing its months (the
 * database's work) goes on beside the next requests, up to `ITEMS_HELD_PER_SLOT` items per slot. The
 * workers claim `CLAIM_AHEAD_PER_SLOT` items per slot more than there are free slots: those wait for
 * the next answer's slot (request-slots.ts), so the slots do not stand idle while a claim is on its way
 * (a claim's round trip is a good part of a request's). Beside them a heartbeat keeps this process's
 * items alive, and a reaper puts the items of a dead process back in the queue (whichever process
 * took them) and ends jobs whose end was never recorded.
 */
import { setMaxListeners } from 'node:events';
import type { Logger } from '../log.ts';
import { Loop } from '../loop.ts';
import { releaseEndpoint } from '../store/sql/endpoints.ts';
import { failRun, getRun, spaceRequests } from '../store/sql/harvest-runs.ts';
import { reclaimIntervalMs } from '../store/sql/lease.ts';
import { subscribeWakeups } from '../store/notify.ts';
import { anyWorkItems, waitingJobsWithoutItems } from '../store/sql/queue.ts';
import type { ClaimedItem, JobItemsLeft } from '../store/sql/work-items.ts';
import type { FetchResult } from '../sushi/types.ts';
import type { ActOutcome, DecisionActions } from './actions.ts';
import type { ProviderBinding } from './binding.ts';
import { ITEMS_HELD_PER_SLOT, type HarvestParts } from './context.ts';
import type { PaceAfterAnswer } from './pace.ts';
import { ReportOffers } from './offers.ts';
import { RequestSlots } from './request-slots.ts';
import { itemDates } from './planner.ts';
import { newReportLater } from './tally.ts';
import { decide, type PolicyAction } from './policy.ts';
import type { ProviderRuns } from './provider-run.ts';

/**
 * Items claimed per request slot beyond the free slots, waiting for one. Half a slot's worth covers a
 * claim's round trip at the concurrencies measured (bench/harvest.ts: a claim took 15–40 ms against
 * 75 ms for a request and its answer) while holding few endpoints idle for other processes.
 */
export const CLAIM_AHEAD_PER_SLOT = 0.5;

/** The decisions after which the item is removed as its endpoint is released, in one statement. */
const STORING: ReadonlySet<PolicyAction> = new Set<PolicyAction>(['store', 'store-partial', 'store-empty']);

/** One claimed item's hold on a request slot: taken before its request goes out, freed by its answer. */
interface ItemSlot {
  take(): Promise<void>;
  free(): void;
}

export class ItemWorkers {
  private readonly running = new Map<string, Promise<void>>();
  /** Items claimed whose request has not been answered yet (sending or waiting for a slot). */
  private unanswered = 0;
  private readonly slots: RequestSlots;
  private readonly loops: Loop[] = [];
  private readonly workers: Loop;
  private readonly abort = new AbortController();
  private readonly offers: ReportOffers;
  private stopping = false;
  /** No work item in the queue at the last look: the workers wait for a wakeup (or the idle poll). */
  private idle = false;
  private wakeups: ReturnType<typeof subscribeWakeups>;

  constructor(
    private readonly parts: HarvestParts,
    private readonly actions: DecisionActions,
    private readonly runs: ProviderRuns,
  ) {
    const { ctx } = parts;
    this.offers = new ReportOffers(parts);
    this.slots = new RequestSlots(ctx.config.harvest.requestConcurrency);
    // Every request in flight links this one stop signal (a listener each): no warning at high concurrency.
    setMaxListeners(0, this.abort.signal);
    this.workers = new Loop(
      'harvest:items',
      () => this.pollMs(),
      () => this.fill(),
      ctx.log,
    );
  }

  private now(): number {
    return this.parts.ctx.clock.now();
  }

  async start(): Promise<void> {
    const { ctx, queue } = this.parts;
    // Items of dead processes go back to the queue; at start-up also this instance id's, and on the
    // embedded database (one owner) every running item: whoever held it is gone.
    const n = await queue.reclaimDead(this.now(), { all: ctx.db.kind === 'pglite' });
    if (n > 0) ctx.log.warn({ items: n }, 'requests of a stopped process put back in the queue');
    const cfg = ctx.config;
    this.loops.push(new Loop('harvest:heartbeat', cfg.heartbeatIntervalMs, () => this.beat(), ctx.log));
    this.loops.push(
      new Loop(
        'harvest:reaper',
        reclaimIntervalMs(cfg.staleHeartbeatMinutes * 60_000),
        () => this.reap(),
        ctx.log,
      ),
    );
    for (const loop of this.loops) loop.start();
    // Items queued by other processes on the same PostgreSQL database wake the workers.
    this.wakeups = subscribeWakeups(ctx.db, cfg.databaseUrl, 'items', () => this.wake(), ctx.log);
    this.workers.start();
    this.workers.wake();
  }

  /**
   * The short poll while items are queued (one may become due: an endpoint's spacing, a deferral) or
   * while this process hears no wakeups from the others; the idle poll while the queue is empty.
   */
  private pollMs(): number {
    const { queuePollMs, queueIdlePollMs } = this.parts.ctx.config;
    if (!this.idle || (this.wakeups && !this.wakeups.listener.connected)) return queuePollMs;
    return Math.max(queuePollMs, queueIdlePollMs);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.abort.abort();
    this.slots.releaseWaiting();
    await Promise.all([this.workers.stop(), ...this.loops.map((l) => l.stop()), this.wakeups?.release()]);
    await Promise.allSettled([...this.running.values()]);
    // Requests cut off by the stop are made again by the next process that takes them.
    await this.parts.queue.giveBackMine().catch(() => {});
  }

  /** Wakes the workers (new items, or a test moved the clock). */
  wake(): void {
    this.workers.wake();
  }

  private async beat(): Promise<void> {
    if (this.running.size > 0) await this.parts.queue.heartbeat(this.now());
  }

  /** One round of the reaper (also for tests): dead processes' items, jobs whose end was not recorded. */
  async reap(): Promise<void> {
    const { ctx, queue } = this.parts;
    const n = await queue.reclaimDead(this.now());
    if (n > 0) {
      ctx.log.warn({ items: n }, 'requests of a stopped process put back in the queue');
      this.workers.wake();
    }
    // A process that died between its job's last item and the job's end leaves a waiting job without items.
    for (const jobId of await waitingJobsWithoutItems(ctx.db)) await this.runs.finishIfDone(jobId);
  }

  private async fill(): Promise<void> {
    const { ctx, queue } = this.parts;
    const slots = this.slots.size;
    const ahead = Math.ceil(slots * CLAIM_AHEAD_PER_SLOT);
    // Every free slot (and the items claimed ahead) in one claim; a claim that finds fewer items ends the round.
    for (;;) {
      const free = Math.min(
        slots + ahead - this.unanswered,
        slots * ITEMS_HELD_PER_SLOT + ahead - this.running.size,
      );
      if (this.stopping || free <= 0) break;
      const items = await queue.claimMany(this.now(), free);
      for (const item of items) {
        this.unanswered++;
        let taken = false;
        let answered = false;
        const slot: ItemSlot = {
          take: async () => {
            await this.slots.take();
            taken = true;
          },
          free: () => {
            if (answered) return;
            answered = true;
            this.unanswered--;
            if (taken) this.slots.give();
            this.workers.wake();
          },
        };
        const done = this.processAndFinish(item, slot)
          .catch((err: unknown) =>
            ctx.log.error({ err: String(err), item: item.id }, 'work item failed unexpectedly'),
          )
          .finally(() => {
            slot.free();
            this.running.delete(item.id);
            this.workers.wake();
          });
        this.running.set(item.id, done);
      }
      if (items.length < free) break;
    }
    this.idle = this.running.size === 0 && !(await anyWorkItems(ctx.db));
  }

  private logFor(item: ClaimedItem, binding?: ProviderBinding): Logger {
    return this.parts.ctx.log.child({
      tenant: item.tenant,
      providerId: item.providerId,
      provider: binding?.provider.label,
      jobId: item.jobId,
      report: item.reportName,
      begin: item.begin,
      end: item.end,
    });
  }

  /** One request; when it was its job's last item, the job ends here (not at the reaper's next round). */
  private async processAndFinish(item: ClaimedItem, slot: ItemSlot): Promise<void> {
    const left = await this.process(item, slot);
    if (!this.abort.signal.aborted) await this.runs.finishIfDone(item.jobId, left);
  }

  /**
   * One request, start to end; every outcome ends with the item removed, re-queued or expanded.
   * Returns the job's items left as the removal of this one counted them (undefined when not removed
   * so; `ProviderRuns.finishIfDone`). `slot`: taken before the request goes out, freed once its answer
   * has been read whole.
   */
  private async process(item: ClaimedItem, slot: ItemSlot): Promise<JobItemsLeft | undefined> {
    const { ctx, queue, bindings } = this.parts;
    // The run as the claim read it (one statement less per request); read now for an item taken otherwise.
    const run = item.run !== undefined ? (item.run ?? undefined) : await getRun(ctx.db, item.jobId);
    if (run?.failure) {
      await queue.remove(item.id);
      return;
    }
    let binding: ProviderBinding;
    try {
      binding = await bindings.forItem(item);
    } catch (err) {
      this.logFor(item).error(
        { err: (err as Error).message },
        'cannot prepare the request; the item is dropped',
      );
      await failRun(
        ctx.db,
        item.jobId,
        JSON.stringify({ name: 'ProviderError', message: (err as Error).message }),
      );
      await queue.remove(item.id);
      return;
    }
    const log = this.logFor(item, binding);
    await slot.take();
    // Stopping while it waited for a slot: the item goes back to the queue untouched.
    if (this.abort.signal.aborted) return;
    // The provider's report list was the request (the endpoint is released, its spacing follows it).
    if ((await this.offers.beforeRequest({ item, binding, log }, this.abort.signal)) === 'asked') return;
    let result: FetchResult;
    const started = performance.now();
    try {
      result = await binding.endpoint.fetchReport(
        { reportName: item.reportName, ...itemDates(item) },
        { signal: this.abort.signal },
      );
    } catch (err) {
      const e = err as Error;
      result = { kind: 'failure', cause: 'transport', exceptions: [], reason: `${e.name}: ${e.message}` };
    }
    slot.free();
    if (this.abort.signal.aborted) {
      // Stopping: the item goes back to the queue untouched.
      if (result.kind === 'data') await result.data.dispose().catch(() => {});
      return;
    }
    const decision = decide(result);
    const outcome = result.kind === 'data' ? 'data' : result.cause;
    ctx.metrics.sushiDuration.observe({ outcome }, (performance.now() - started) / 1000);
    ctx.metrics.sushiRequests.inc({
      outcome,
      action: decision.action,
      code: String(decision.code ?? 'none'),
    });
    log.info(
      { event: 'response', rule: decision.rule, action: decision.action, code: decision.code },
      'report response',
    );
    let acted: ActOutcome = { endpointWaitMs: 0, removeItem: false };
    let pace: PaceAfterAnswer | undefined;
    let left: JobItemsLeft | undefined;
    const reportLater = newReportLater();
    try {
      pace = await this.parts.paces.record(item.endpoint, result, decision, this.now(), item.pace);
      // Released before the item leaves its slot other than by its removal with the release (a
      // deferral, a retry, an expansion, a failure): once it is no longer running, another claim may
      // take the job's next item, and must find the endpoint's spacing (and rest) already counting.
      if (pace.restMs > 0 || !STORING.has(decision.action))
        await releaseEndpoint(ctx.db, item.endpoint, this.now(), pace.restMs);
      acted = await this.actions.act({ item, binding, log, pace, reportLater }, result, decision);
    } finally {
      // A request done: its item is removed as the endpoint is released, and its uploaded months are
      // added to the job report (one statement); otherwise the report is written on its own.
      const removed = acted.removeItem;
      left = await queue.removeAndRelease(
        removed ? item : undefined,
        item.endpoint,
        this.now(),
        Math.max(acted.endpointWaitMs, pace?.restMs ?? 0),
        removed && reportLater.uploaded
          ? { stored: reportLater.stored, empty: reportLater.empty }
          : undefined,
      );
      if (!removed) await this.parts.tally.reportLater(item, reportLater, log);
      if (run?.rateLimited)
        await spaceRequests(ctx.db, item.jobId, this.now() + ctx.config.harvest.rateLimitedSpacingMs);
      if (result.kind === 'data') await result.data.dispose().catch(() => {});
    }
    return left;
  }
}
