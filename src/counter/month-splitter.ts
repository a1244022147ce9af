/**
 * Splits a COUNTER R5.0/R5.1 JSON report into one report per month in FOLIO's stored form
 * (folio-contract §7.6, counter-notes §1.13), streaming: `Report_Items` elements (and R5.1 IR parent `Items`) are
 * parsed one at a time, filtered per month into buckets that spill to disk, and each month is built
 * only when the caller asks for it.
 *
 * Errors are values: the result is a report, an exception-only body, or an invalid body with a code.
 * Two codes are not about the body: `read_error` (reading the body failed: the connection dropped) and
 * `local_storage` (the harvester's own spill files failed, local-storage.ts).
 */
import { findExceptions, unwrapStringifiedJson, type SushiException } from './exceptions.ts';
import { Findings, hasOwnUsage, isUsageKey, splitItemByMonth, type Finding } from './item-split.ts';
import { stringifyCopies } from './copy-json.ts';
import { JsonObjectScanner } from './json-scanner.ts';
import {
  countMetricMapItem,
  metricMapShape,
  writeMetricMapItemLines,
  type MetricMapShape,
} from './metric-map-items.ts';
import { findKeyLoose, getLoose, isJsonObject, normaliseKey, type JsonObject } from './json.ts';
import { findLocalStorageError, LocalStorageError, localStorageReason } from './local-storage.ts';
import { MonthBuckets, type BucketStats } from './month-buckets.ts';
import { headerForMonth, headerLayout, headerPeriod, isTotalsGranularity } from './report-header.ts';
import { parseRelease, parseReportId, type CounterRelease, type ReportId } from './reports.ts';
import { UsageFacts, type MonthUsage } from './usage-facts.ts';
import { DEFAULT_MAX_EXAMPLES, DiagnosticSet, type Diagnostic } from './validate/diagnostics.ts';
import { ReportChecks, findingDiagnostics } from './validate/report-checks.ts';
import { requiresItemId } from './validate/rules.ts';
import { monthsBetween, parseYearMonth, type YearMonth } from './year-month.ts';

export interface SplitOptions {
  /** A month bucket larger than this (serialized JSON characters) spills to a temp file. Default 4 MiB. */
  spillThresholdBytes?: number;
  /** All in-memory buckets together; above it the largest spill. Default 16 MiB. */
  memoryBudgetBytes?: number;
  /** Where spill directories are created; default `os.tmpdir()`. */
  tmpDir?: string;
  /** Bodies longer than this are rejected as `too_large` (folio-contract §8.4). Default 2 GiB. */
  maxBytes?: number;
  /** Bodies that are not a JSON object (arrays, strings, HTML) are buffered up to this. Default 16 MiB. */
  maxBufferedBytes?: number;
  /**
   * The months that were asked for (`yyyy-MM` or dates). Months of the response outside them are
   * listed in `monthsOutsideRequest` and flagged on each month; usage in them is a diagnostic.
   */
  requested?: { begin: string; end: string };
  /** The report that was asked for; a different `Report_ID` in the header is a diagnostic. */
  reportId?: string;
  /** Schema and Code of Practice checks (diagnostics). Default true; counting is always on. */
  validate?: boolean;
  /** Items kept per month and metric in `topItems`. Default 100; 0 turns the ranking off. */
  topK?: number;
  /** Occurrences of one diagnostic code kept with details, per month. Default 5. */
  maxExamples?: number;
}

const DEFAULTS = {
  // Small enough that a 1 GB report stays within ~256 MB RSS (bench/ingest.ts); larger months spill.
  spillThresholdBytes: 4 * 1024 * 1024,
  memoryBudgetBytes: 16 * 1024 * 1024,
  maxBytes: 2 * 1024 * 1024 * 1024,
  maxBufferedBytes: 16 * 1024 * 1024,
  topK: 100,
};

/** FOLIO's stored `report` for one month. */
export interface MonthReportBody {
  Report_Header: JsonObject;
  Report_Items: JsonObject[];
}

/** What the split learnt about one month, computed while the items were read. */
export interface MonthFacts extends MonthUsage {
  yearMonth: YearMonth;
  /** Number of top-level `Report_Items` with usage in this month (an IR parent counts once). */
  itemCount: number;
  /** Warnings about the data of this month and about the whole report; they never block storing. */
  diagnostics: Diagnostic[];
  /** True when a requested range was given and this month lies outside it. */
  outsideRequest: boolean;
}

export interface MonthReport extends MonthFacts {
  report: MonthReportBody;
}

export interface MonthReportJson extends MonthFacts {
  /** `JSON.stringify` of the month's `MonthReportBody`. */
  json: string;
}

/**
 * One month as its header plus a stream of item texts, so that a large month is never held whole
 * (neither as objects nor as one string).
 */
export interface MonthStream extends MonthFacts {
  /** The month's `Report_Header` (Begin_Date/End_Date set to the month). */
  header: JsonObject;
  /** Serialized size of the month's items in characters (close to their JSON length). */
  itemBytes: number;
  /**
   * The items as JSON texts, in order; may be iterated again until the next month is requested. The
   * texts are decoded from UTF-8 and are what `JSON.parse` accepted or `JSON.stringify` wrote, so a NUL
   * or a lone surrogate occurs in them only escaped (`\u0000`, `\ud800`), never raw.
   */
  items(): AsyncIterable<string>;
  /**
   * The same item texts comma-joined, as UTF-8 bytes in pieces of about 4 MiB cut between items (what
   * a store writes as chunk rows, without decoding them), when the month holds plain items only (no
   * R5.1 IR parent groups); the same iteration rules as `items()`. Each piece is valid (and may be
   * changed in place) until the next one is requested.
   */
  itemChunks?(): AsyncIterable<Buffer>;
  /**
   * sha256 (hex) of the item texts as `items()` yields them, each followed by `\n`, taken while the
   * items were split; undefined when it could not be (a month holding IR parent groups, whose texts
   * are only joined when the month is read).
   */
  contentHash?: string;
}

export type InvalidCode =
  | 'empty_body'
  | 'null_body'
  | 'non_json'
  | 'invalid_json'
  | 'not_a_report'
  | 'missing_report_header'
  | 'too_large'
  /** Reading the body failed (connection reset, timeout while reading): no complete answer. */
  | 'read_error'
  /** The harvester's own temporary storage (spill files) failed; the body is not at fault. */
  | 'local_storage'
  /** Report items are there, but no usage could be read from them in either layout. */
  | 'unreadable_items';

export interface SplitInvalid {
  kind: 'invalid';
  code: InvalidCode;
  message: string;
  /** The first characters of the body, for evidence (non-JSON, invalid JSON). */
  excerpt?: string;
}

/** A body without a report that carries exceptions (naked error object, array, root Exceptions). */
export interface SplitException {
  kind: 'exception';
  exceptions: SushiException[];
  /** The parsed body without report items (kept small). */
  body: unknown;
}

export interface SplitReport {
  kind: 'report';
  /** The release the caller configured (the splitter's argument). */
  release: CounterRelease;
  /** The release the data is in, read from the items' layout (the header's when there are none). */
  detectedRelease: CounterRelease;
  /** `detectedRelease !== release`. */
  releaseDiffers: boolean;
  /** `Report_Items` elements per outcome, and per layout the elements read in it. */
  layouts: { '5': number; '5.1': number; empty: number; unreadable: number };
  /** The response's header, unchanged. */
  header: JsonObject;
  reportId: ReportId | undefined;
  /** Exceptions from the header and from the root (a report with exceptions is still a report). */
  exceptions: SushiException[];
  /** Root members other than `Report_Header` and `Report_Items`. */
  topLevel: JsonObject;
  /** The months `months()` yields: the header's Begin..End, or the months found in the data. */
  yearMonths: YearMonth[];
  /** `totals` means the counts are not per month (counter-notes §1.13); the split put them in one month. */
  granularity: 'month' | 'totals';
  /** Top-level `Report_Items` elements read. */
  itemCount: number;
  findings: Finding[];
  /** Warnings about the report as a whole (each month's `diagnostics` includes them). */
  diagnostics: Diagnostic[];
  /**
   * Months of the response (header period or data) outside the requested range, sorted; empty when
   * no range was given. `months()` still yields those in `yearMonths`, flagged `outsideRequest`.
   */
  monthsOutsideRequest: YearMonth[];
  /** Facts of any month with usage (also months the split does not yield), or undefined. */
  monthFacts(yearMonth: YearMonth): MonthFacts | undefined;
  stats(): BucketStats;
  /** One month at a time, in month order; the month's bucket is released after it is yielded. */
  months(): AsyncGenerator<MonthReport>;
  /** The same months as JSON text, built without materialising the items as objects. */
  monthsAsJson(): AsyncGenerator<MonthReportJson>;
  /**
   * The same months as header plus item stream (large reports): the month's bucket is released when
   * the next month is requested.
   */
  monthStreams(): AsyncGenerator<MonthStream>;
  /** Frees buckets and removes spill files; `months()` does this when it runs to the end. */
  dispose(): Promise<void>;
}

export type SplitResult = SplitReport | SplitException | SplitInvalid;

/**
 * A bucket line: a plain item is its JSON text (an object, so it starts with `{`); an IR child or
 * parent is tagged with the sequence number of its parent group.
 */
type Entry = ['c', number, JsonObject] | ['p', number, JsonObject];

const ITEMS = ['items'];

/** The options the collector works with, defaults applied. */
interface CollectOptions {
  requested: { begin: YearMonth; end: YearMonth } | undefined;
  reportId: ReportId | undefined;
  validate: boolean;
  topK: number;
  maxExamples: number;
}

function collectOptions(options: SplitOptions): CollectOptions {
  const begin = parseYearMonth(options.requested?.begin);
  const end = parseYearMonth(options.requested?.end);
  return {
    requested: begin !== undefined && end !== undefined ? { begin, end } : undefined,
    reportId: parseReportId(options.reportId),
    validate: options.validate ?? true,
    topK: Math.max(0, Math.floor(options.topK ?? DEFAULTS.topK)),
    maxExamples: Math.max(1, Math.floor(options.maxExamples ?? DEFAULT_MAX_EXAMPLES)),
  };
}

/**
 * Receives header, root members and report items in document order and routes every item's usage to
 * its month buckets, while `facts` counts the usage and checks it. An R5.1 IR parent group arrives
 * whole: its children are routed first (tagged with the parent's sequence number), then the parent,
 * and they are joined when a month is built.
 */
class MonthCollector {
  header: JsonObject | undefined;
  headerSeen = false;
  readonly topLevel: JsonObject = {};
  readonly findings = new Findings();
  itemCount = 0;
  /** Top-level items per month (an IR parent counts once). */
  readonly monthItemCounts = new Map<YearMonth, number>();
  readonly facts: UsageFacts;
  readonly checks: ReportChecks;
  private parentMonths = new Set<YearMonth>();
  /**
   * Months holding entries whose text is only known when the month is read (IR parent groups): their
   * bucket bytes are not the item texts, so they have no `contentHash` and no `itemChunks`.
   */
  readonly tagged = new Set<YearMonth>();

  constructor(
    readonly release: CounterRelease,
    readonly buckets: MonthBuckets,
    readonly options: CollectOptions,
  ) {
    this.facts = new UsageFacts(options);
    this.facts.setReport(options.reportId);
    this.checks = new ReportChecks(options.reportId, this.facts.reportDiagnostics, options.validate);
  }

  setHeader(value: unknown): void {
    this.headerSeen = true;
    if (!isJsonObject(value)) return;
    this.header = value;
    this.checks.header(value, headerLayout(value) ?? this.release);
    this.facts.setReport(this.checks.reportId);
  }

  setTopLevel(key: string, value: unknown): void {
    this.topLevel[key] = value;
  }

  /** Title and item reports must identify their items (validate/rules.ts). */
  private get requiresItemId(): boolean {
    return (
      this.options.validate && this.checks.reportId !== undefined && requiresItemId(this.checks.reportId)
    );
  }

  /** An element of a parent group's `Items` (R5.1 IR); belongs to the parent being read. */
  private addChild(item: unknown): void {
    if (isJsonObject(item)) this.facts.beginItem(item, this.requiresItemId);
    const byMonth = splitItemByMonth(item, this.findings, this.facts);
    if (byMonth.size === 0 && isJsonObject(item)) this.findings.add('item_without_usage');
    for (const [month, filtered] of byMonth) {
      this.buckets.add(month, JSON.stringify(['c', this.itemCount, filtered] satisfies Entry));
      this.parentMonths.add(month);
      this.tagged.add(month);
    }
  }

  /**
   * A `Report_Items` element (a whole parent group for R5.1 IR). `text` is its JSON text when it came
   * from the scanner, with the scanner's `:` count (-1 when not compact).
   */
  addTopLevel(element: unknown, text?: string, colons = -1): void {
    this.facts.beginElement(this.itemCount);
    const itemsKey = isJsonObject(element) ? findKeyLoose(element, ITEMS) : undefined;
    const months =
      isJsonObject(element) && itemsKey !== undefined
        ? this.addParent(element, itemsKey)
        : this.addItem(element, text, colons);
    this.checkSchema(element);
    this.facts.endElement(element, months);
    this.itemCount += 1;
    this.parentMonths = new Set();
  }

  /** The element against the schema of the layout its usage was read in (else the header's). */
  private checkSchema(element: unknown): void {
    if (!this.options.validate) return;
    const read = this.facts.elementLayout();
    const layout =
      read === '5' || read === '5.1' ? read : ((this.header && headerLayout(this.header)) ?? this.release);
    const violation = this.checks.element(element, layout);
    if (violation)
      this.facts.elementDiagnostic(
        'schema_item',
        `${violation.path || '/'}: ${violation.message}`,
        violation.path,
      );
  }

  private addItem(item: unknown, source?: string, colons = -1): Iterable<YearMonth> {
    if (isJsonObject(item)) {
      this.facts.beginItem(item, this.requiresItemId);
      const shape = metricMapShape(item);
      if (shape) return this.addMetricMapItem(item, shape, source, colons);
    }
    const byMonth = splitItemByMonth(item, this.findings, this.facts);
    if (byMonth.size === 0 && isJsonObject(item)) this.findings.add('item_without_usage');
    if (!isJsonObject(item)) return [];
    if (byMonth.size === 1 && source !== undefined && colons >= 0) {
      // All of the item in one month: the month's copy is the item itself, and its text is the
      // source text when that is what JSON.stringify writes (no second serialisation).
      const [[month, whole]] = byMonth;
      if (whole === item && isStringifyText(item, colons)) {
        this.buckets.add(month, source);
        this.countItem(month);
        return byMonth.keys();
      }
    }
    for (const [month, text] of stringifyCopies(item, byMonth)) {
      // Same text as JSON.stringify(filtered).
      this.buckets.add(month, text);
      this.countItem(month);
    }
    return byMonth.keys();
  }

  /**
   * An item of the common 5.1 shape (metric-map-items.ts): the same facts, months and texts as
   * `splitItemByMonth` and `stringifyCopies` give, without the per-month copies.
   */
  private addMetricMapItem(
    item: JsonObject,
    shape: MetricMapShape,
    source: string | undefined,
    colons: number,
  ): YearMonth[] {
    const found = countMetricMapItem(item, shape, this.facts);
    const { months } = found;
    if (months.length === 1) {
      // All of the item in one month: its text, the source text when that is JSON.stringify's.
      const text =
        source !== undefined && colons >= 0 && isStringifyText(item, colons) ? source : JSON.stringify(item);
      this.buckets.add(months[0], text);
      this.countItem(months[0]);
      return months;
    }
    writeMetricMapItemLines(item, shape, found, this.buckets);
    for (let j = 0; j < months.length; j++) this.countItem(months[j]);
    return months;
  }

  private countItem(month: YearMonth): void {
    this.monthItemCounts.set(month, (this.monthItemCounts.get(month) ?? 0) + 1);
  }

  private addParent(parent: JsonObject, itemsKey: string): Set<YearMonth> {
    const children = parent[itemsKey];
    if (Array.isArray(children)) for (const child of children) this.addChild(child);
    const meta: JsonObject = { ...parent, [itemsKey]: [] };
    let own = new Map<YearMonth, JsonObject>();
    if (hasOwnUsage(meta)) {
      this.facts.beginItem(meta, false);
      own = splitItemByMonth(meta, this.findings, this.facts);
    }
    const months = new Set([...this.parentMonths, ...own.keys()]);
    if (months.size === 0) this.findings.add('item_without_usage');
    for (const month of months) {
      const monthMeta = own.get(month) ?? withoutUsage(meta);
      this.buckets.add(month, JSON.stringify(['p', this.itemCount, monthMeta] satisfies Entry));
      this.tagged.add(month);
      this.countItem(month);
    }
    return months;
  }
}

/**
 * Whether `JSON.stringify(value)` gives back the compact source text it was parsed from, given the
 * scanner's verdict that the text is compact (ScanSink.element) and its `:` count: every number is a
 * safe integer other than -0 (its digits are then written back as they were), no key looks like an
 * array index (V8 would order those first), and no key occurred twice (the member count equals the
 * `:` count).
 */
function isStringifyText(value: JsonObject, colons: number): boolean {
  const members = { count: 0 };
  return canonicalValue(value, members) && members.count === colons;
}

function canonicalValue(value: unknown, members: { count: number }): boolean {
  if (typeof value === 'number') return Number.isSafeInteger(value) && !Object.is(value, -0);
  if (typeof value !== 'object' || value === null) return true;
  if (Array.isArray(value)) {
    for (const element of value) if (!canonicalValue(element, members)) return false;
    return true;
  }
  const obj = value as JsonObject;
  for (const key in obj) {
    if (isIndexLike(key)) return false;
    members.count += 1;
    if (!canonicalValue(obj[key], members)) return false;
  }
  return true;
}

/** All digits (`yyyy-MM` is not): possibly an array index, which objects keep in another order. */
function isIndexLike(key: string): boolean {
  if (key.length === 0) return false;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

function withoutUsage(obj: JsonObject): JsonObject {
  const copy = { ...obj };
  for (const key of Object.keys(copy)) if (isUsageKey(key)) delete copy[key];
  return copy;
}

const ITEMS_SENTINEL = JSON.stringify('\u0000counter-split-items\u0000');

/** The JSON text of a bucket entry's object, sliced out of the line without parsing it. */
function entryPayload(line: string): { tag: Entry[0] | 'i'; seq: number; json: string } {
  if (line.charCodeAt(0) === 0x7b) return { tag: 'i', seq: -1, json: line };
  const tag = line[2] as Entry[0];
  const comma = line.indexOf(',', 5);
  return { tag, seq: Number(line.slice(5, comma)), json: line.slice(comma + 1, -1) };
}

/** A parent group's JSON with its children spliced in as text. */
function parentJson(metaJson: string, children: string[]): string {
  const meta = JSON.parse(metaJson) as JsonObject;
  const itemsKey = findKeyLoose(meta, ITEMS) ?? 'Items';
  const withSentinel = JSON.stringify({ ...meta, [itemsKey]: JSON.parse(ITEMS_SENTINEL) as string });
  return withSentinel.replace(ITEMS_SENTINEL, () => `[${children.join(',')}]`);
}

/**
 * Reassembles a month's items as JSON texts from its bucket lines, joining IR children to their
 * parents. Items are never re-parsed (only the small parent metadata is), so a month costs about its
 * serialized size; only the children of the parent being read are held.
 */
async function* streamMonthItems(lines: AsyncIterable<string>): AsyncGenerator<string> {
  const pendingChildren = new Map<number, string[]>();
  for await (const line of lines) {
    const { tag, seq, json } = entryPayload(line);
    if (tag === 'i') {
      yield json;
    } else if (tag === 'c') {
      const list = pendingChildren.get(seq);
      if (list) list.push(json);
      else pendingChildren.set(seq, [json]);
    } else {
      const children = pendingChildren.get(seq) ?? [];
      pendingChildren.delete(seq);
      yield parentJson(json, children);
    }
  }
  // Children whose parent never completed cannot occur in a parsed document; keep them parent-less.
  for (const children of pendingChildren.values()) yield `{"Items":[${children.join(',')}]}`;
}

/** Target length of one `itemChunks` text. */
const ITEM_CHUNK_BYTES = 4 * 1024 * 1024;
/** Room for one more block read from a bucket (month-buckets.ts reads spill files 1 MiB at a time). */
const BLOCK_ALLOWANCE = 1024 * 1024 + 1;
const NEWLINE = 0x0a;
const COMMA = 0x2c;

/**
 * The lines of a month of plain items (each line an item's JSON text) comma-joined, in pieces of about
 * `target` bytes cut between items: the bytes of the buckets are copied into one working buffer (of
 * `capacity` bytes, more only when a line needs it) and their `\n` turned into `,`; never decoded.
 * Each piece is a view of that buffer, valid until the next is asked for. Each block is copied before
 * the next is asked for, so the blocks may reuse one buffer.
 */
export async function* commaJoinedChunks(
  blocks: AsyncIterable<Buffer>,
  target: number,
  capacity = target + BLOCK_ALLOWANCE,
): AsyncGenerator<Buffer> {
  let work = Buffer.allocUnsafeSlow(capacity);
  let size = 0;
  for await (const block of blocks) {
    if (size + block.length > work.length) {
      // Only for a line longer than the buffer, or bytes beyond the expected (non-ASCII text).
      const larger = Buffer.allocUnsafeSlow(Math.max(2 * work.length, size + block.length));
      work.copy(larger, 0, 0, size);
      work = larger;
    }
    block.copy(work, size);
    size += block.length;
    if (size < target) continue;
    const cut = work.lastIndexOf(NEWLINE, size - 1);
    if (cut === -1) continue;
    if (cut > 0) yield joinLines(work.subarray(0, cut));
    work.copy(work, 0, cut + 1, size);
    size -= cut + 1;
  }
  const end = size > 0 && work[size - 1] === NEWLINE ? size - 1 : size;
  if (end > 0) yield joinLines(work.subarray(0, end));
}

/** `\n`-separated non-empty lines (a buffer of the caller's) comma-joined in place. */
function joinLines(lines: Buffer): Buffer {
  for (let i = lines.indexOf(NEWLINE); i !== -1; i = lines.indexOf(NEWLINE, i + 1)) lines[i] = COMMA;
  return lines;
}

async function buildMonthItemsJson(lines: AsyncIterable<string>): Promise<string[]> {
  const items: string[] = [];
  for await (const item of streamMonthItems(lines)) items.push(item);
  return items;
}

function resolveMonths(collector: MonthCollector, header: JsonObject): YearMonth[] {
  const dataMonths = collector.buckets.months();
  const period = headerPeriod(header);
  if (period.rawBegin === undefined || period.rawEnd === undefined) {
    collector.findings.add('header_dates_missing');
    return dataMonths;
  }
  if (period.begin === undefined || period.end === undefined || period.begin > period.end) {
    collector.findings.add(
      'header_dates_invalid',
      `${JSON.stringify(period.rawBegin)}..${JSON.stringify(period.rawEnd)}`,
    );
    return dataMonths;
  }
  const months = monthsBetween(period.begin, period.end);
  const outside = dataMonths.filter((m) => !months.includes(m));
  if (outside.length > 0) collector.findings.add('usage_outside_header_period', outside.join(','));
  return months;
}

/**
 * The release the data is in: the layout most elements were read in; when no element was read (or
 * as many in each), the header's layout, else the configured release.
 */
function detectRelease(collector: MonthCollector, header: JsonObject): CounterRelease {
  const { '5': r50, '5.1': r51 } = collector.facts.layoutElements;
  if (r50 !== r51) return r50 > r51 ? '5' : '5.1';
  return headerLayout(header) ?? collector.release;
}

/** Report-wide diagnostics about the layout, the header period and the request. */
function reportDiagnostics(collector: MonthCollector, header: JsonObject, detected: CounterRelease): void {
  const set = collector.facts.reportDiagnostics;
  const { '5': r50, '5.1': r51 } = collector.facts.layoutElements;
  const { requested, validate } = collector.options;
  if (detected !== collector.release)
    set.add(
      'release_differs',
      `configured release ${collector.release}, but the data is in the ${detected} layout`,
    );
  if (!validate) return;
  const layout = headerLayout(header);
  if (r50 + r51 > 0 && layout !== undefined && layout !== detected)
    set.add('header_release_differs', `the header is in the ${layout} layout, the items in ${detected}`);
  if (r50 > 0 && r51 > 0)
    set.add('mixed_layouts', `${r50} items in the 5.0 layout and ${r51} in the 5.1 layout`);
  const period = headerPeriod(header);
  if (
    requested &&
    period.begin !== undefined &&
    period.end !== undefined &&
    (period.begin < requested.begin || period.end > requested.end)
  )
    set.add(
      'header_period_outside_request',
      `the header's period ${period.begin}..${period.end} exceeds the requested ${requested.begin}..${requested.end}`,
      { path: '/Report_Filters' },
    );
}

/** Report items are there but none could be read in either layout: a failure that says so. */
function unreadableItems(collector: MonthCollector, header: JsonObject): SplitInvalid | undefined {
  const { outcomes, firstUnreadable } = collector.facts;
  if (outcomes.read > 0 || outcomes.unreadable === 0 || !firstUnreadable) return undefined;
  const claimed = getLoose(header, ['release']);
  const claim = claimed === undefined ? '' : ` (the header says ${JSON.stringify(claimed)})`;
  const members = firstUnreadable.keys.slice(0, 12).join(', ') || 'none';
  const problems = collector.findings
    .list()
    .filter((f) => f.example !== undefined && f.code !== 'release_mismatch')
    .map((f) => `${f.code} ${f.example}`)
    .slice(0, 2);
  return {
    kind: 'invalid',
    code: 'unreadable_items',
    message:
      `configured release ${collector.release}${claim}, but the items use neither layout: ` +
      `item ${firstUnreadable.index} has members ${members}; expected Performance[] entries with ` +
      'Period and Instance (5.0) or Attribute_Performance[] with Performance {metric: {yyyy-MM: count}} (5.1)' +
      (problems.length > 0 ? `; ${problems.join('; ')}` : ''),
  };
}

function toSplitReport(collector: MonthCollector, header: JsonObject): SplitReport {
  const { buckets, release, facts, options } = collector;
  facts.finish();
  const headerRelease = parseRelease(getLoose(header, ['release']));
  if (headerRelease !== undefined && headerRelease !== release) {
    collector.findings.add('release_mismatch', String(getLoose(header, ['release'])));
  }
  const totals = isTotalsGranularity(header);
  if (totals) collector.findings.add('totals_granularity');
  const yearMonths = resolveMonths(collector, header);
  const exceptions = findExceptions({ ...collector.topLevel, Report_Header: header });
  const detectedRelease = detectRelease(collector, header);
  reportDiagnostics(collector, header, detectedRelease);
  const findings = collector.findings.list();
  const wide = new DiagnosticSet(options.maxExamples);
  wide.addAll(facts.reportDiagnostics.list());
  wide.addAll(findingDiagnostics(findings));
  const diagnostics = wide.list();
  const requested = options.requested;
  const isOutside = (m: YearMonth): boolean =>
    requested !== undefined && (m < requested.begin || m > requested.end);
  const monthsOutsideRequest = [...new Set([...yearMonths, ...facts.usageMonths()])].filter(isOutside).sort();

  function monthFacts(yearMonth: YearMonth): MonthFacts {
    const set = new DiagnosticSet(options.maxExamples);
    set.addAll(facts.monthDiagnostics(yearMonth).list());
    set.addAll(diagnostics);
    return {
      yearMonth,
      itemCount: collector.monthItemCounts.get(yearMonth) ?? 0,
      ...facts.usage(yearMonth),
      diagnostics: set.list(),
      outsideRequest: isOutside(yearMonth),
    };
  }

  async function* monthsAsJson(): AsyncGenerator<MonthReportJson> {
    try {
      for (const yearMonth of yearMonths) {
        const items = await buildMonthItemsJson(buckets.read(yearMonth));
        await buckets.release(yearMonth);
        const monthHeader = JSON.stringify(headerForMonth(header, yearMonth, detectedRelease));
        const json = `{"Report_Header":${monthHeader},"Report_Items":[${items.join(',')}]}`;
        yield { ...monthFacts(yearMonth), json };
      }
    } finally {
      await buckets.dispose();
    }
  }

  async function* monthStreams(): AsyncGenerator<MonthStream> {
    try {
      for (const yearMonth of yearMonths) {
        const plain = !collector.tagged.has(yearMonth);
        // The bucket holds the item texts, each followed by `\n`: its bytes' hash is theirs.
        const contentHash = plain ? buckets.digest(yearMonth) : undefined;
        yield {
          ...monthFacts(yearMonth),
          header: headerForMonth(header, yearMonth, detectedRelease),
          itemBytes: buckets.totalBytes(yearMonth),
          items: () => streamMonthItems(buckets.read(yearMonth)),
          ...(plain && {
            itemChunks: () =>
              commaJoinedChunks(
                buckets.blocks(yearMonth),
                ITEM_CHUNK_BYTES,
                Math.min(buckets.totalBytes(yearMonth), ITEM_CHUNK_BYTES) + BLOCK_ALLOWANCE,
              ),
          }),
          ...(contentHash !== undefined && { contentHash }),
        };
        await buckets.release(yearMonth);
      }
    } finally {
      await buckets.dispose();
    }
  }

  async function* months(): AsyncGenerator<MonthReport> {
    for await (const { json, ...month } of monthsAsJson()) {
      yield { ...month, report: JSON.parse(json) as MonthReportBody };
    }
  }

  const { read: _read, ...outcomes } = facts.outcomes;
  return {
    kind: 'report',
    release,
    detectedRelease,
    releaseDiffers: detectedRelease !== release,
    layouts: { ...facts.layoutElements, ...outcomes },
    header,
    reportId: parseReportId(getLoose(header, ['report_id'])),
    exceptions,
    topLevel: collector.topLevel,
    yearMonths,
    granularity: totals ? 'totals' : 'month',
    itemCount: collector.itemCount,
    findings,
    diagnostics,
    monthsOutsideRequest,
    monthFacts: (yearMonth) =>
      yearMonths.includes(yearMonth) || facts.usageMonths().includes(yearMonth)
        ? monthFacts(yearMonth)
        : undefined,
    stats: () => buckets.stats(),
    months,
    monthsAsJson,
    monthStreams,
    dispose: () => buckets.dispose(),
  };
}

/** Outcome for a root object without a usable `Report_Header`: exceptions, a wrapped report, or invalid. */
async function finishHeaderless(
  root: JsonObject,
  release: CounterRelease,
  options: SplitOptions,
): Promise<SplitResult> {
  const exceptions = findExceptions(root);
  if (exceptions.length > 0) return { kind: 'exception', exceptions, body: root };
  for (const key of ['body', 'response']) {
    const inner = unwrapStringifiedJson(getLoose(root, [key]));
    if (isJsonObject(inner) && getLoose(inner, ['report_header']) !== undefined) {
      return splitReport(inner, release, options);
    }
  }
  return { kind: 'invalid', code: 'missing_report_header', message: 'Report is missing Report_Header' };
}

function newBuckets(options: SplitOptions): MonthBuckets {
  return new MonthBuckets({
    spillThresholdBytes: options.spillThresholdBytes ?? DEFAULTS.spillThresholdBytes,
    memoryBudgetBytes: options.memoryBudgetBytes ?? DEFAULTS.memoryBudgetBytes,
    ...(options.tmpDir !== undefined && { tmpDir: options.tmpDir }),
  });
}

async function finishCollector(
  collector: MonthCollector,
  root: JsonObject,
  options: SplitOptions,
): Promise<SplitResult> {
  if (!collector.header) {
    await collector.buckets.dispose();
    return finishHeaderless(root, collector.release, options);
  }
  const unreadable = unreadableItems(collector, collector.header);
  if (unreadable) {
    await collector.buckets.dispose();
    return unreadable;
  }
  return toSplitReport(collector, collector.header);
}

/**
 * Non-streaming split of an already parsed body (small reports, stringified or wrapped bodies).
 * Same rules and result as `splitReportStream`.
 */
export async function splitReport(
  body: unknown,
  release: CounterRelease,
  options: SplitOptions = {},
): Promise<SplitResult> {
  const value = unwrapStringifiedJson(body);
  if (value === null || value === undefined) {
    return { kind: 'invalid', code: 'null_body', message: 'Report not valid: null' };
  }
  if (!isJsonObject(value)) return classifyNonObject(value);
  const buckets = newBuckets(options);
  try {
    const collector = new MonthCollector(release, buckets, collectOptions(options));
    const root: JsonObject = {};
    for (const [key, member] of Object.entries(value)) {
      const name = normaliseKey(key);
      if (name === 'reportheader') collector.setHeader(member);
      else if (name === 'reportitems') addReportItems(collector, member);
      else {
        collector.setTopLevel(key, member);
        root[key] = member;
      }
    }
    await buckets.spillIfNeeded();
    return await finishCollector(collector, root, options);
  } catch (error) {
    return localStorageFailure(buckets, error);
  }
}

function addReportItems(collector: MonthCollector, items: unknown): void {
  if (items === null || items === undefined) return;
  if (!Array.isArray(items)) {
    collector.findings.add('report_items_not_array', typeof items);
    return;
  }
  for (const element of items) collector.addTopLevel(element);
}

function classifyNonObject(value: unknown): SplitResult {
  if (value === null) return { kind: 'invalid', code: 'null_body', message: 'Report not valid: null' };
  const exceptions = findExceptions(value);
  if (exceptions.length > 0) return { kind: 'exception', exceptions, body: value };
  const shape = Array.isArray(value) ? 'an array' : `a JSON ${typeof value}`;
  return { kind: 'invalid', code: 'not_a_report', message: `Report not valid: body is ${shape}` };
}

// ---------------------------------------------------------------------------------------------
// Streaming

type Chunk = Uint8Array | string;

const BOM = [0xef, 0xbb, 0xbf];
const EXCERPT_BYTES = 500;
const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);

function toBytes(chunk: Chunk): Uint8Array {
  return typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk;
}

/**
 * Finds the first significant byte of a body (after a UTF-8 BOM and whitespace), across chunk borders.
 * Only a BOM prefix is ever held back, so this stays a few bytes.
 */
class BodySniffer {
  private pending: Uint8Array = new Uint8Array(0);
  private bomChecked = false;

  /** The rest of the body from its first significant byte, or undefined when none was seen yet. */
  push(bytes: Uint8Array): Uint8Array | undefined {
    let data = this.pending.length > 0 ? Buffer.concat([this.pending, bytes]) : bytes;
    this.pending = new Uint8Array(0);
    if (!this.bomChecked) {
      const prefix = BOM.slice(0, Math.min(BOM.length, data.length));
      const bomPrefix = prefix.every((b, k) => data[k] === b);
      if (bomPrefix && data.length < BOM.length) {
        this.pending = data;
        return undefined;
      }
      this.bomChecked = true;
      if (bomPrefix) data = data.subarray(BOM.length);
    }
    let i = 0;
    while (i < data.length && WHITESPACE.has(data[i])) i += 1;
    return i < data.length ? data.subarray(i) : undefined;
  }
}

function excerptOf(bytes: Uint8Array[]): string {
  const text = Buffer.concat(bytes.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength))).toString(
    'utf8',
  );
  return text.slice(0, EXCERPT_BYTES);
}

function tooLarge(max: number): SplitInvalid {
  return { kind: 'invalid', code: 'too_large', message: `Report not valid: response exceeds ${max} bytes` };
}

function readError(error: unknown): SplitInvalid {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return { kind: 'invalid', code: 'read_error', message: `Error reading response: ${message}` };
}

/**
 * The split's answer when the buckets' spill files failed (`error` is or wraps a LocalStorageError),
 * after freeing the buckets as far as the disk lets; any other error is thrown on.
 */
async function localStorageFailure(buckets: MonthBuckets, error: unknown): Promise<SplitInvalid> {
  await buckets.dispose().catch(() => undefined);
  const local = findLocalStorageError(error);
  if (!local) throw error;
  return { kind: 'invalid', code: 'local_storage', message: localStorageReason(local) };
}

/**
 * Streams a response body into month buckets: the scanner cuts out each root member and each
 * `Report_Items` element (any key spelling) as text, and only that text is parsed, one element at a
 * time, so memory stays at one element plus the buckets.
 */
class ScanningSplitter {
  private readonly scanner: JsonObjectScanner;
  private parseError: Error | undefined;
  private readonly root: JsonObject = {};
  readonly collector: MonthCollector;

  constructor(release: CounterRelease, buckets: MonthBuckets, options: CollectOptions) {
    this.collector = new MonthCollector(release, buckets, options);
    this.scanner = new JsonObjectScanner(
      {
        member: (key, text) => this.onMember(key, JSON.parse(text)),
        element: (text, colons) => this.collector.addTopLevel(JSON.parse(text), text, colons),
      },
      'report_items',
    );
  }

  private onMember(key: string, value: unknown): void {
    const name = normaliseKey(key);
    if (name === 'reportheader') this.collector.setHeader(value);
    else if (name === 'reportitems') addReportItems(this.collector, value);
    else {
      this.collector.setTopLevel(key, value);
      this.root[key] = value;
    }
  }

  /** Returns false once the input has proved invalid; later input is ignored. */
  write(bytes: Uint8Array): boolean {
    if (this.parseError) return false;
    try {
      this.scanner.write(bytes);
    } catch (error) {
      this.parseError ??= error instanceof Error ? error : new Error(String(error));
    }
    return this.parseError === undefined;
  }

  async finish(options: SplitOptions, excerpt: string): Promise<SplitResult> {
    if (!this.parseError) {
      try {
        this.scanner.end();
      } catch (error) {
        this.parseError ??= error instanceof Error ? error : new Error(String(error));
      }
    }
    if (this.parseError) {
      await this.collector.buckets.dispose();
      return {
        kind: 'invalid',
        code: 'invalid_json',
        message: `Report not valid: ${this.parseError.message}`,
        excerpt,
      };
    }
    return finishCollector(this.collector, this.root, options);
  }
}

async function bufferedResult(
  chunks: Uint8Array[],
  release: CounterRelease,
  options: SplitOptions,
): Promise<SplitResult> {
  const text = Buffer.concat(chunks)
    .toString('utf8')
    .replace(/^\uFEFF/, '');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    const looksLikeJson = /^\s*["[\d-]|^\s*(true|false|null)\b/.test(text);
    return {
      kind: 'invalid',
      code: looksLikeJson ? 'invalid_json' : 'non_json',
      message: `Report not valid: ${looksLikeJson && error instanceof Error ? error.message : 'body is not JSON'}`,
      excerpt: text.slice(0, 500),
    };
  }
  return splitReport(parsed, release, options);
}

/**
 * Reads a response body and splits it by month. JSON objects are streamed; other bodies (arrays,
 * strings, HTML, `null`) are small in practice and are buffered up to `maxBufferedBytes`.
 * Never throws for bad input; the caller must call `months()` to the end or `dispose()`.
 */
export async function splitReportStream(
  body: AsyncIterable<Chunk>,
  release: CounterRelease,
  options: SplitOptions = {},
): Promise<SplitResult> {
  const buckets = newBuckets(options);
  try {
    return await streamIntoBuckets(body, release, options, buckets);
  } catch (error) {
    return localStorageFailure(buckets, error);
  }
}

/**
 * `splitReportStream` with its buckets. An error of the body iterator is the `read_error` answer; an
 * error of the buckets' spill files is thrown (a LocalStorageError) whether it arose while the body was
 * read, while the split was finished or while the buckets were freed.
 */
async function streamIntoBuckets(
  body: AsyncIterable<Chunk>,
  release: CounterRelease,
  options: SplitOptions,
  buckets: MonthBuckets,
): Promise<SplitResult> {
  const maxBytes = options.maxBytes ?? DEFAULTS.maxBytes;
  const maxBuffered = options.maxBufferedBytes ?? DEFAULTS.maxBufferedBytes;
  const excerpt: Uint8Array[] = [];
  let excerptBytes = 0;
  const buffered: Uint8Array[] = [];
  let total = 0;
  let mode: 'sniff' | 'object' | 'buffer' = 'sniff';
  let streaming: ScanningSplitter | undefined;
  const sniffer = new BodySniffer();

  try {
    for await (const chunk of body) {
      let bytes = toBytes(chunk);
      total += bytes.byteLength;
      if (total > maxBytes) {
        await buckets.dispose();
        return tooLarge(maxBytes);
      }
      if (mode === 'sniff') {
        const rest = sniffer.push(bytes);
        if (rest === undefined) continue;
        bytes = rest;
        mode = bytes[0] === 0x7b ? 'object' : 'buffer';
        if (mode === 'object') streaming = new ScanningSplitter(release, buckets, collectOptions(options));
      }
      if (excerptBytes < EXCERPT_BYTES) {
        excerpt.push(bytes.slice(0, EXCERPT_BYTES - excerptBytes));
        excerptBytes += Math.min(bytes.byteLength, EXCERPT_BYTES - excerptBytes);
      }
      if (streaming) {
        if (!streaming.write(bytes)) break;
        await buckets.spillIfNeeded();
      } else {
        if (total > maxBuffered) return tooLarge(maxBuffered);
        buffered.push(bytes);
      }
    }
  } catch (error) {
    if (error instanceof LocalStorageError) throw error;
    await buckets.dispose();
    return readError(error);
  }

  if (mode === 'sniff')
    return { kind: 'invalid', code: 'empty_body', message: 'Report not valid: empty body' };
  if (!streaming) {
    await buckets.dispose();
    return bufferedResult(buffered, release, options);
  }
  return streaming.finish(options, excerptOf(excerpt));
}
