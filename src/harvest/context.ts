/** What the parts of the harvest share, and the context one work item is handled in. */
import type { ServiceContext } from '../context.ts';
import type { ErmStore } from '../erm/port.ts';
import type { Logger } from '../log.ts';
import type { ClaimedItem, WorkItemQueue } from '../store/sql/work-items.ts';
import type { Bindings, ProviderBinding } from './binding.ts';
import type { EndpointPaces, PaceAfterAnswer } from './pace.ts';
import type { HarvestTally, ReportLater } from './tally.ts';

/**
 * Items a process holds per request slot: those whose request is in flight and those whose answer is
 * being stored. The answers being stored keep their month buckets, so the splitter's memory budget is
 * shared by this many responses per slot (binding.ts).
 */
export const ITEMS_HELD_PER_SLOT = 2;

/** Built once by the HarvestEngine. */
export interface HarvestParts {
  ctx: ServiceContext;
  /** Where providers, aggregators, counter reports and settings live (local store or FOLIO). */
  erm: ErmStore;
  queue: WorkItemQueue;
  bindings: Bindings;
  /** The adaptive pace of each endpoint (rate limits). */
  paces: EndpointPaces;
  /** The job report and the metrics of months and requests. */
  tally: HarvestTally;
}

/** One claimed request on its way: the item, its provider's binding, and a logger naming both. */
export interface ItemContext {
  readonly item: ClaimedItem;
  readonly binding: ProviderBinding;
  readonly log: Logger;
  /** The endpoint's pace after this item's answer. */
  readonly pace?: PaceAfterAnswer;
  /** Where uploaded months are counted for the job report written with the item's removal. */
  readonly reportLater?: ReportLater;
}
