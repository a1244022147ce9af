/**
 * What the provider offers: before the first request of a provider job (in each process that takes its
 * items), the provider's `/reports` list (COUNTER 5) is asked while the job's claimed item holds the
 * endpoint's slot, so the look obeys the endpoint's politeness like any request. Configured reports that
 * the list does not name are taken off the job's queue (one note on the job names them) instead of
 * collecting a 3000 per month. No list (not offered, failed, empty, COUNTER 4): nothing changes.
 */
import { releaseEndpoint } from '../store/sql/endpoints.ts';
import { addJobNote } from '../store/sql/job-info.ts';
import type { ClaimedItem } from '../store/sql/work-items.ts';
import { scrub, type ProviderBinding } from './binding.ts';
import type { HarvestParts, ItemContext } from './context.ts';

export class ReportOffers {
  /** Bindings (one per job and process) whose provider has been asked. */
  private readonly asked = new WeakSet<ProviderBinding>();

  constructor(private readonly parts: HarvestParts) {}

  /**
   * `'asked'` when the list was asked now: the endpoint is released and the item is back in the queue
   * (or gone, when its report is not offered); `'go'` to make the item's request.
   */
  async beforeRequest(c: ItemContext, signal: AbortSignal): Promise<'asked' | 'go'> {
    const { binding, item, log } = c;
    const probe = binding.endpoint.probe?.bind(binding.endpoint);
    if (!probe || this.asked.has(binding)) return 'go';
    this.asked.add(binding);
    let offered: ReadonlySet<string>;
    try {
      const offer = await probe({ status: false, signal });
      if (!offer.reportsOffered || offer.reportsOffered.length === 0) {
        log.info(
          { event: 'report-list', messages: offer.messages },
          'no report list: every report requested',
        );
        return this.requeue(item);
      }
      offered = new Set(offer.reportsOffered);
    } catch (err) {
      log.warn({ event: 'report-list' }, `report list failed: ${scrub(binding, (err as Error).message)}`);
      return this.requeue(item);
    }
    const { queue, ctx } = this.parts;
    const pending = await queue.pendingForJob(item.jobId);
    const skipped = [
      ...new Set(pending.map((i) => i.reportName.toUpperCase()).filter((report) => !offered.has(report))),
    ];
    if (skipped.length === 0) return this.requeue(item);
    for (const report of skipped) await queue.takeQueued(item.jobId, report);
    const text = `Not requested, the provider does not offer them (its /reports list): ${skipped.join(', ')}`;
    log.warn({ event: 'reports-not-offered', reports: skipped }, text);
    await addJobNote(ctx.db, item.tenant, item.jobId, text);
    if (offered.has(item.reportName.toUpperCase())) return this.requeue(item);
    await this.release(item);
    await queue.remove(item.id);
    return 'asked';
  }

  /**
   * The list was the endpoint's request: its spacing starts now. Released before the item leaves its
   * slot (requeued or removed): from then on another claim may take the job's next item, and must find
   * the endpoint's next allowed time already moved.
   */
  private async release(item: ClaimedItem): Promise<void> {
    await releaseEndpoint(this.parts.ctx.db, item.endpoint, this.parts.ctx.clock.now());
  }

  private async requeue(item: ClaimedItem): Promise<'asked'> {
    await this.release(item);
    await this.parts.queue.requeue(item, this.parts.ctx.clock.now(), {});
    return 'asked';
  }
}
