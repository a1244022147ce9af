/**
 * One bound for the data the service holds in memory while it works, from which every part's budget is
 * derived (docs/decisions.md, "One memory bound"): the export's table merge, the grouped items of COUNTER 4
 * responses and of uploaded tabular files, and the month buckets of the responses split at once.
 *
 * The bound is MEMORY_BUDGET_MB when set; otherwise half of what the V8 heap limit leaves above the
 * service's own heap. With Node's default limit (several GB) every part gets the size it always had (the
 * caps below); with a heap limit in the start command (`--max-old-space-size`) the parts shrink with it, so
 * that they fit together under the limit instead of ending the process: they spill to disk earlier.
 */
import { getHeapStatistics } from 'node:v8';

const MiB = 1024 * 1024;

/** The heap the service uses besides these budgets (modules, Fastify, schemas, connections): about 60 MB. */
const BASE_HEAP_BYTES = 64 * MiB;
/** The smallest bound: below it the parts would spill nearly everything. */
const MIN_BOUND_BYTES = 16 * MiB;

let configured: number | undefined;

/** Sets the bound (MEMORY_BUDGET_MB of the configuration); `undefined` derives it from the heap limit. */
export function setMemoryBound(bytes: number | undefined): void {
  configured = bytes;
}

/** The bound in bytes. */
export function memoryBound(): number {
  if (configured !== undefined) return Math.max(MIN_BOUND_BYTES, configured);
  const limit = getHeapStatistics().heap_size_limit;
  return Math.max(MIN_BOUND_BYTES, Math.floor((limit - BASE_HEAP_BYTES) / 2));
}

export interface MemoryBudgets {
  /**
   * The export's table merge (counter/tabular/spill.ts): the estimated size of the combined items kept
   * before a partition spills. Its peak heap use is about 1.6 times this, so it gets a quarter of the
   * bound divided by 1.6. At most 128 MiB.
   */
  tableMergeBytes: number;
  /** Grouped items of one COUNTER 4 response or R4 tabular file before it spills: a quarter. At most 128 MiB. */
  r4GroupedBytes: number;
  /** One R4 month larger than this spills at once: a quarter of `r4GroupedBytes`, at most 32 MiB. */
  r4SpillThresholdBytes: number;
  /** Grouped rows of one uploaded R5 tabular file: a quarter of the bound, at most 64 MiB. */
  tabularUploadBytes: number;
  /**
   * The month buckets of all responses split at once together (kept outside the JavaScript heap, but in
   * the process's memory): a quarter of the bound, shared by `concurrent` responses; between 1 and 16 MiB
   * for each.
   */
  splitterBucketBytes(concurrent: number): number;
}

const clamp = (n: number, low: number, high: number) => Math.floor(Math.min(high, Math.max(low, n)));

/** Every part's budget from the bound. */
export function memoryBudgets(bound = memoryBound()): MemoryBudgets {
  const quarter = bound / 4;
  const r4GroupedBytes = clamp(quarter, 2 * MiB, 128 * MiB);
  return {
    tableMergeBytes: clamp(quarter / 1.6, 2 * MiB, 128 * MiB),
    r4GroupedBytes,
    r4SpillThresholdBytes: clamp(r4GroupedBytes / 4, MiB, 32 * MiB),
    tabularUploadBytes: clamp(quarter, 2 * MiB, 64 * MiB),
    splitterBucketBytes: (concurrent) => clamp(quarter / Math.max(1, concurrent), MiB, 16 * MiB),
  };
}
