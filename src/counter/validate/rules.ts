/**
 * The Code of Practice facts the semantic checks need: which Metric_Types each report may carry per
 * release, which reports must identify their items, the YOP format and the Unique/Total pairs.
 * The 5.1 lists equal the metric members of the 5.1.0.1 schema's `*_Performance*` objects (a test
 * compares them); the 5.0 lists follow the R5.0 Code of Practice tables.
 */
import { masterReportOf, type CounterRelease, type ReportId } from '../reports.ts';

const TII = 'Total_Item_Investigations';
const TIR = 'Total_Item_Requests';
const UII = 'Unique_Item_Investigations';
const UIR = 'Unique_Item_Requests';
const UTI = 'Unique_Title_Investigations';
const UTR = 'Unique_Title_Requests';
const LE = 'Limit_Exceeded';
const NL = 'No_License';
const SEARCHES_DB = ['Searches_Automated', 'Searches_Federated', 'Searches_Regular'];
const SP = 'Searches_Platform';

const INVESTIGATIONS_REQUESTS = [TII, TIR, UII, UIR, UTI, UTR];

const COMMON: Record<ReportId, readonly string[]> = {
  PR: [SP, ...INVESTIGATIONS_REQUESTS],
  PR_P1: [SP, TIR, UIR, UTR],
  DR: [...SEARCHES_DB, ...INVESTIGATIONS_REQUESTS, LE, NL],
  DR_D1: [...SEARCHES_DB, TII, TIR, UII, UIR],
  DR_D2: [LE, NL],
  TR: [...INVESTIGATIONS_REQUESTS, LE, NL],
  TR_B1: [TIR, UTR],
  TR_B2: [LE, NL],
  TR_B3: INVESTIGATIONS_REQUESTS,
  TR_J1: [TIR, UIR],
  TR_J2: [LE, NL],
  TR_J3: [TII, TIR, UII, UIR],
  TR_J4: [TIR, UIR],
  IR: [TII, TIR, UII, UIR, LE, NL],
  IR_A1: [TIR, UIR],
  IR_M1: [TIR, UIR],
};

/** R5.0 differs in two views: DR_D1 without the Unique_Item metrics, IR_M1 with Total_Item_Requests only. */
const R50_OVERRIDES: Partial<Record<ReportId, readonly string[]>> = {
  DR_D1: [...SEARCHES_DB, TII, TIR],
  IR_M1: [TIR],
};

/** Every Metric_Type of R5.0 and R5.1. */
export const METRIC_TYPES: readonly string[] = [...SEARCHES_DB, SP, ...INVESTIGATIONS_REQUESTS, LE, NL];

const allowedCache = new Map<string, ReadonlySet<string>>();

/** The Metric_Types a report of this release may contain. */
export function allowedMetrics(release: CounterRelease, report: ReportId): ReadonlySet<string> {
  const key = `${release}:${report}`;
  let set = allowedCache.get(key);
  if (!set) {
    set = new Set((release === '5' ? R50_OVERRIDES[report] : undefined) ?? COMMON[report]);
    allowedCache.set(key, set);
  }
  return set;
}

/**
 * Title and item reports describe things that must be identifiable: each of their items should carry
 * at least one identifier in `Item_ID` (a DOI, ISBN, ISSN, URI or a proprietary one). Platform and
 * database reports name their subject instead.
 */
export function requiresItemId(report: ReportId): boolean {
  const master = masterReportOf(report);
  return master === 'TR' || master === 'IR';
}

/** Four digits; the Code of Practice uses 0001 for an unknown year and 9999 for articles in press. */
export const YOP_PATTERN = /^\d{4}$/;

/**
 * For one item, attribute combination and month, a unique count cannot exceed the total it is a
 * de-duplicated part of: `[unique, total, releases]`. Unique_Title is held against Total_Item only in
 * 5.1: a 5.0 title report puts a book's Unique_Title counts on a row of their own (no Section_Type),
 * apart from the rows with the Total_Item counts.
 */
export const UNIQUE_TOTAL_PAIRS: readonly (readonly [string, string, readonly CounterRelease[]])[] = [
  [UII, TII, ['5', '5.1']],
  [UIR, TIR, ['5', '5.1']],
  [UTI, TII, ['5.1']],
  [UTR, TIR, ['5.1']],
];

/** The metrics the pairs mention, each with its slot in a per-unit array of counts. */
export const PAIR_METRIC_SLOTS: ReadonlyMap<string, number> = new Map([
  [TII, 0],
  [TIR, 1],
  [UII, 2],
  [UIR, 3],
  [UTI, 4],
  [UTR, 5],
]);

/** The pairs as slots: `[unique slot, total slot, unique, total, releases]`. */
export const PAIR_SLOTS = UNIQUE_TOTAL_PAIRS.map(
  ([unique, total, releases]) =>
    [PAIR_METRIC_SLOTS.get(unique)!, PAIR_METRIC_SLOTS.get(total)!, unique, total, releases] as const,
);
