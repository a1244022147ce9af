/**
 * Carrying out the policy's decision on one response: store the months, defer the request, back off
 * after a rate limit, stop the run or the report, record the months as failed, or split a range into
 * single months. What to do, how long to wait and how a month counts are the policy's (policy.ts).
 */
import { findLocalStorageError, localStorageReason } from '../counter/index.ts';
import { makeFailure } from '../sushi/failure.ts';
import type { FetchResult } from '../sushi/types.ts';
import { NO_PACE } from '../store/sql/endpoint-pace.ts';
import { releaseEndpoint } from '../store/sql/endpoints.ts';
import { failRun, markRateLimited } from '../store/sql/harvest-runs.ts';
import { scrub } from './binding.ts';
import type { HarvestParts, ItemContext } from './context.ts';
import type { MonthStore } from './months.ts';
import { expandItem, itemMonths } from './planner.ts';
import {
  decide,
  deferral,
  monthFailure,
  rateLimitWait,
  stopJobError,
  storedState,
  type PolicyDecision,
} from './policy.ts';

/** What `act` leaves to its caller. */
export interface ActOutcome {
  /** Rest of the endpoint beyond its spacing, ms. */
  endpointWaitMs: number;
  /** The request is done: its item is to be removed (with the endpoint's release, one statement). */
  removeItem: boolean;
}

export class DecisionActions {
  constructor(
    private readonly parts: HarvestParts,
    private readonly months: MonthStore,
  ) {}

  private now(): number {
    return this.parts.ctx.clock.now();
  }

  /**
   * Carries out the decision; returns how long the endpoint must rest beyond its spacing, and whether
   * the item is done and still to be removed (the caller removes it as it releases the endpoint).
   */
  async act(c: ItemContext, result: FetchResult, decision: PolicyDecision): Promise<ActOutcome> {
    const reason = result.kind === 'failure' ? scrub(c.binding, result.reason) : '';
    const rest = (endpointWaitMs: number): ActOutcome => ({ endpointWaitMs, removeItem: false });
    switch (decision.action) {
      case 'store':
      case 'store-partial':
      case 'store-empty':
        try {
          if (result.kind === 'data') await this.months.storeData(c, result.data, storedState(decision));
          else await this.months.storeEmpty(c, result.exceptions);
        } catch (err) {
          return this.afterStorageFailure(c, err);
        }
        return { endpointWaitMs: 0, removeItem: true };
      case 'defer':
        return rest(await this.defer(c, decision, reason));
      case 'rate-limit':
        return rest(await this.rateLimit(c, decision, reason));
      case 'stop-job':
      case 'stop-report':
        await this.stopRun(c, decision, reason);
        return rest(0);
      case 'fail':
        if (decision.expand && c.item.begin !== c.item.end) {
          const months = expandItem(c.item);
          c.log.info(
            { event: 'expanded', months: months.length },
            `expanded ${c.item.reportName} ${c.item.begin}..${c.item.end} into ${months.length} months`,
          );
          await this.parts.queue.expand(c.item, months, this.now());
          return rest(0);
        }
        await this.months.failItem(c, reason, monthFailure(decision));
        return rest(0);
      case 'not-ready':
      case 'terminal':
        await this.months.failItem(c, reason, monthFailure(decision));
        return rest(0);
    }
  }

  /**
   * Storing the data failed: when the harvester's own storage failed (a spilled month could not be read
   * back), the request is what a `local` failure is (policy.ts); the months stored before it stay, and
   * the request made again finds them unchanged. Any other error is thrown on.
   */
  private async afterStorageFailure(c: ItemContext, err: unknown): Promise<ActOutcome> {
    const local = findLocalStorageError(err);
    if (!local) throw err;
    const failure = makeFailure('local', localStorageReason(local), c.binding.endpoint.secrets);
    const decision = decide(failure);
    c.log.warn(
      { event: 'local-storage-failed', action: decision.action, code: local.code },
      "the months could not be read back from the harvester's temporary storage",
    );
    // The request was to be removed with the endpoint's release; now it goes back to the queue first
    // (item-workers.ts releases before such decisions): the endpoint's spacing must already count.
    await releaseEndpoint(this.parts.ctx.db, c.item.endpoint, this.now());
    return this.act(c, failure, decision);
  }

  private async defer(c: ItemContext, decision: PolicyDecision, reason: string): Promise<number> {
    const { item, log } = c;
    const now = this.now();
    const next = deferral(decision, item, now, this.parts.ctx.config.harvest);
    if (next.exhausted) {
      log.warn(
        { event: 'deferral-exhausted', deferrals: item.deferrals },
        'deferral budget exhausted; months recorded as failed (not counted)',
      );
      await this.months.failItem(c, reason, monthFailure(decision));
      return 0;
    }
    const { deferrals, delayMs } = next;
    log.info({ event: 'deferred', deferrals, delayMs, code: decision.code }, 'request deferred');
    await this.parts.queue.requeue(item, now + delayMs, { deferrals, firstDeferredAt: next.firstDeferredAt });
    await this.parts.tally.deferred(item, log);
    return next.endpointRestMs;
  }

  /**
   * A rate limit: the request waits (Retry-After, the endpoint's pace) and is not counted; it is given
   * up only when the endpoint has answered nothing but rate limits for the deferral budget, and then the
   * months of every request of the job still waiting for it are recorded as deferred (policy.ts).
   */
  private async rateLimit(c: ItemContext, decision: PolicyDecision, reason: string): Promise<number> {
    const { item, log } = c;
    const cfg = this.parts.ctx.config.harvest;
    const now = this.now();
    const wait = rateLimitWait(decision, c.pace ?? NO_PACE, now, cfg);
    await markRateLimited(this.parts.ctx.db, item.jobId, now + cfg.rateLimitedSpacingMs);
    if (wait.exhausted) {
      const failure = monthFailure(decision);
      const text = `TooManyRequestsException: ${reason}`;
      // Taken first, as in stopRun: none of them can be claimed while this item still holds the endpoint.
      const waiting = await this.parts.queue.takeQueued(item.jobId);
      await this.months.failItem(c, text, failure);
      for (const other of waiting)
        await this.months.failMonths({ ...c, item: other }, itemMonths(other), text, failure);
      log.warn(
        { event: 'rate-limit-starved', deferredRequests: waiting.length + 1 },
        'the endpoint answered nothing but rate limits for the deferral budget; months deferred (not counted)',
      );
      return wait.waitMs;
    }
    log.info(
      { event: 'rate-limited', retry: item.rateLimitRetries + 1, waitMs: wait.waitMs },
      'too many requests: retry later',
    );
    await this.parts.queue.requeue(item, now + wait.waitMs, { rateLimitRetries: item.rateLimitRetries + 1 });
    await this.parts.tally.deferred(item, log);
    return wait.waitMs;
  }

  /** Credentials or configuration rejected, or a report not supported: no request storm. */
  private async stopRun(c: ItemContext, decision: PolicyDecision, reason: string): Promise<void> {
    const { item, log } = c;
    const scopeReport = decision.action === 'stop-report' ? item.reportName : undefined;
    const failure = monthFailure(decision);
    // The job's queued items are taken before this item leaves the queue: while it is still running its
    // endpoint counts it as in flight, so no other worker can claim (and send) one of them meanwhile.
    const skipped = await this.parts.queue.takeQueued(item.jobId, scopeReport);
    await this.months.failItem(c, reason, failure);
    for (const other of skipped)
      await this.months.failMonths({ ...c, item: other }, itemMonths(other), reason, failure, true);
    log.warn(
      {
        event: 'stopped',
        skippedRequests: skipped.length,
        scope: scopeReport ? 'report' : 'job',
        code: decision.code,
      },
      scopeReport
        ? `report ${item.reportName} not supported: skipping its other requests`
        : 'provider run stopped',
    );
    if (decision.action === 'stop-job')
      await failRun(
        this.parts.ctx.db,
        item.jobId,
        JSON.stringify({ name: stopJobError(decision), message: reason }),
      );
  }
}
