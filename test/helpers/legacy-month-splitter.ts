/** The splitter as it was before the byte scanner (on @streamparser/json), kept as the reference for equality tests. */
/**
 * Splits a COUNTER R5.0/R5.1 JSON report into one report per month in FOLIO's stored form
 * (folio-contract §7.6, counter-notes §1.13), streaming: `Report_Items` elements (and R5.1 IR parent `Items`) are
 * parsed one at a time, filtered per month into buckets that spill to disk, and each month is built
 * only when the caller asks for it.
 *
 * Errors are values: the result is a report, an exception-only body, or an invalid body with a code.
 */
import { JSONParser } from '@streamparser/json';
import { findExceptions, unwrapStringifiedJson, type SushiException } from '../../src/counter/exceptions.ts';
import { Findings, hasOwnUsage, splitItemByMonth, type Finding } from '../../src/counter/item-split.ts';
import { findKeyLoose, getLoose, isJsonObject, type JsonObject } from '../../src/counter/json.ts';
import { MonthBuckets, type BucketStats } from '../../src/counter/month-buckets.ts';
import { headerForMonth, headerPeriod, isTotalsGranularity } from '../../src/counter/report-header.ts';
import {
  parseRelease,
  parseReportId,
  type CounterRelease,
  type ReportId,
} from '../../src/counter/reports.ts';
import { monthsBetween, type YearMonth } from '../../src/counter/year-month.ts';

export interface SplitOptions {
  /** A month bucket larger than this (serialized JSON characters) spills to a temp file. Default 32 MiB. */
  spillThresholdBytes?: number;
  /** All in-memory buckets together; above it the largest spill. Default 128 MiB. */
  memoryBudgetBytes?: number;
  /** Where spill directories are created; default `os.tmpdir()`. */
  tmpDir?: string;
  /** Bodies longer than this are rejected as `too_large` (folio-contract §8.4). Default 2 GiB. */
  maxBytes?: number;
  /** Bodies that are not a JSON object (arrays, strings, HTML) are buffered up to this. Default 16 MiB. */
  maxBufferedBytes?: number;
}

const DEFAULTS = {
  spillThresholdBytes: 32 * 1024 * 1024,
  memoryBudgetBytes: 128 * 1024 * 1024,
  maxBytes: 2 * 1024 * 1024 * 1024,
  maxBufferedBytes: 16 * 1024 * 1024,
};

/** FOLIO's stored `report` for one month. */
export interface MonthReportBody {
  Report_Header: JsonObject;
  Report_Items: JsonObject[];
}

export interface MonthReport {
  yearMonth: YearMonth;
  report: MonthReportBody;
  /** Number of top-level `Report_Items` in this month (IR parents count once). */
  itemCount: number;
}

export interface MonthReportJson {
  yearMonth: YearMonth;
  /** `JSON.stringify` of the month's `MonthReportBody`. */
  json: string;
  itemCount: number;
}

export type InvalidCode =
  | 'empty_body'
  | 'null_body'
  | 'non_json'
  | 'invalid_json'
  | 'not_a_report'
  | 'missing_report_header'
  | 'too_large'
  | 'read_error';

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
  release: CounterRelease;
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
  stats(): BucketStats;
  /** One month at a time, in month order; the month's bucket is released after it is yielded. */
  months(): AsyncGenerator<MonthReport>;
  /** The same months as JSON text, built without materialising the items as objects. */
  monthsAsJson(): AsyncGenerator<MonthReportJson>;
  /** Frees buckets and removes spill files; `months()` does this when it runs to the end. */
  dispose(): Promise<void>;
}

export type SplitResult = SplitReport | SplitException | SplitInvalid;

type Entry = ['i', JsonObject] | ['c', number, JsonObject] | ['p', number, JsonObject];

const ITEMS = ['items'];
const USAGE_KEYS = ['attribute_performance', 'performance', 'components', 'item_component'];

/**
 * Receives header, root members and report items in document order and routes every item's usage to
 * its month buckets. R5.1 IR children arrive before their parent group (the parent completes last),
 * so children are tagged with the parent's sequence number and joined when a month is built.
 */
class MonthCollector {
  header: JsonObject | undefined;
  headerSeen = false;
  readonly topLevel: JsonObject = {};
  readonly findings = new Findings();
  itemCount = 0;
  private parentMonths = new Set<YearMonth>();

  constructor(
    readonly release: CounterRelease,
    readonly buckets: MonthBuckets,
  ) {}

  setHeader(value: unknown): void {
    this.headerSeen = true;
    if (isJsonObject(value)) this.header = value;
  }

  setTopLevel(key: string, value: unknown): void {
    this.topLevel[key] = value;
  }

  /** An element of a parent group's `Items` (R5.1 IR); belongs to the parent being read. */
  addChild(item: unknown): void {
    const byMonth = splitItemByMonth(item, this.findings);
    if (byMonth.size === 0 && isJsonObject(item)) this.findings.add('item_without_usage');
    for (const [month, filtered] of byMonth) {
      this.buckets.add(month, JSON.stringify(['c', this.itemCount, filtered] satisfies Entry));
      this.parentMonths.add(month);
    }
  }

  /** A `Report_Items` element; for a parent group its `Items` must already have gone to `addChild`. */
  addTopLevel(element: unknown): void {
    const itemsKey = isJsonObject(element) ? findKeyLoose(element, ITEMS) : undefined;
    if (isJsonObject(element) && itemsKey !== undefined) this.addParent(element, itemsKey);
    else this.addItem(element);
    this.itemCount += 1;
    this.parentMonths = new Set();
  }

  private addItem(item: unknown): void {
    const byMonth = splitItemByMonth(item, this.findings);
    if (byMonth.size === 0 && isJsonObject(item)) this.findings.add('item_without_usage');
    for (const [month, filtered] of byMonth)
      this.buckets.add(month, JSON.stringify(['i', filtered] satisfies Entry));
  }

  private addParent(parent: JsonObject, itemsKey: string): void {
    const children = parent[itemsKey];
    // splitReport() hands over complete parents; the streaming parser has already drained `Items`.
    if (Array.isArray(children) && children.length > 0) for (const child of children) this.addChild(child);
    const meta: JsonObject = { ...parent, [itemsKey]: [] };
    const own = hasOwnUsage(meta) ? splitItemByMonth(meta, this.findings) : new Map<YearMonth, JsonObject>();
    const months = new Set([...this.parentMonths, ...own.keys()]);
    if (months.size === 0) this.findings.add('item_without_usage');
    for (const month of months) {
      const monthMeta = own.get(month) ?? withoutUsage(meta);
      this.buckets.add(month, JSON.stringify(['p', this.itemCount, monthMeta] satisfies Entry));
    }
  }
}

function withoutUsage(obj: JsonObject): JsonObject {
  const copy = { ...obj };
  for (const key of Object.keys(copy)) if (USAGE_KEYS.includes(key.toLowerCase())) delete copy[key];
  return copy;
}

const ITEMS_SENTINEL = JSON.stringify('\u0000counter-split-items\u0000');

/** The JSON text of a bucket entry's object, sliced out of the line without parsing it. */
function entryPayload(line: string): { tag: Entry[0]; seq: number; json: string } {
  const tag = line[2] as Entry[0];
  if (tag === 'i') return { tag, seq: -1, json: line.slice(5, -1) };
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
 * serialized size.
 */
async function buildMonthItemsJson(lines: AsyncIterable<string>): Promise<string[]> {
  const items: string[] = [];
  const pendingChildren = new Map<number, string[]>();
  for await (const line of lines) {
    const { tag, seq, json } = entryPayload(line);
    if (tag === 'i') {
      items.push(json);
    } else if (tag === 'c') {
      const list = pendingChildren.get(seq);
      if (list) list.push(json);
      else pendingChildren.set(seq, [json]);
    } else {
      items.push(parentJson(json, pendingChildren.get(seq) ?? []));
      pendingChildren.delete(seq);
    }
  }
  // Children whose parent never completed cannot occur in a parsed document; keep them parent-less.
  for (const children of pendingChildren.values()) items.push(`{"Items":[${children.join(',')}]}`);
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

function toSplitReport(collector: MonthCollector, header: JsonObject): SplitReport {
  const { buckets, release } = collector;
  const headerRelease = parseRelease(getLoose(header, ['release']));
  if (headerRelease !== undefined && headerRelease !== release) {
    collector.findings.add('release_mismatch', String(getLoose(header, ['release'])));
  }
  const totals = isTotalsGranularity(header);
  if (totals) collector.findings.add('totals_granularity');
  const yearMonths = resolveMonths(collector, header);
  const exceptions = findExceptions({ ...collector.topLevel, Report_Header: header });

  async function* monthsAsJson(): AsyncGenerator<MonthReportJson> {
    try {
      for (const yearMonth of yearMonths) {
        const items = await buildMonthItemsJson(buckets.read(yearMonth));
        await buckets.release(yearMonth);
        const monthHeader = JSON.stringify(headerForMonth(header, yearMonth, release));
        const json = `{"Report_Header":${monthHeader},"Report_Items":[${items.join(',')}]}`;
        yield { yearMonth, json, itemCount: items.length };
      }
    } finally {
      await buckets.dispose();
    }
  }

  async function* months(): AsyncGenerator<MonthReport> {
    for await (const { yearMonth, json, itemCount } of monthsAsJson()) {
      yield { yearMonth, report: JSON.parse(json) as MonthReportBody, itemCount };
    }
  }

  return {
    kind: 'report',
    release,
    header,
    reportId: parseReportId(getLoose(header, ['report_id'])),
    exceptions,
    topLevel: collector.topLevel,
    yearMonths,
    granularity: totals ? 'totals' : 'month',
    itemCount: collector.itemCount,
    findings: collector.findings.list(),
    stats: () => buckets.stats(),
    months,
    monthsAsJson,
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
  const collector = new MonthCollector(release, newBuckets(options));
  const root: JsonObject = {};
  for (const [key, member] of Object.entries(value)) {
    const name = key.toLowerCase();
    if (name === 'report_header') collector.setHeader(member);
    else if (name === 'report_items') addReportItems(collector, member);
    else {
      collector.setTopLevel(key, member);
      root[key] = member;
    }
  }
  await collector.buckets.spillIfNeeded();
  return finishCollector(collector, root, options);
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
 * Streams a response body into month buckets.
 *
 * Paths: `$.*` delivers header and root members; `$.Report_Items.*` each item; and
 * `$.Report_Items.*.Items.*` each child of an R5.1 IR parent group. Because `$.*` also matches the
 * `Report_Items` array, the parser would keep every emitted element inside it; the callback therefore
 * empties the containing array after taking each element, which keeps memory at one element.
 */
class StreamingObjectSplitter {
  private readonly parser = new JSONParser({
    paths: ['$.*', '$.Report_Items.*', '$.Report_Items.*.Items.*'],
    keepStack: false,
  });
  private parseError: Error | undefined;
  private readonly root: JsonObject = {};
  readonly collector: MonthCollector;

  constructor(release: CounterRelease, buckets: MonthBuckets) {
    this.collector = new MonthCollector(release, buckets);
    this.parser.onError = (error) => {
      this.parseError ??= error;
    };
    this.parser.onValue = ({ value, key, parent, stack }) => this.onValue(value, key, parent, stack.length);
  }

  private onValue(value: unknown, key: unknown, parent: unknown, depth: number): void {
    if (depth === 1 && typeof key === 'string') {
      const name = key.toLowerCase();
      if (name === 'report_header') this.collector.setHeader(value);
      // Streamed elements were drained already; only a differently spelled key arrives filled.
      else if (name === 'report_items') addReportItems(this.collector, value);
      else {
        this.collector.setTopLevel(key, value);
        this.root[key] = value;
      }
    } else if (!Array.isArray(parent)) {
      return; // members of a non-array `Report_Items` or `Items`; they arrive whole with their container
    } else if (depth === 2) {
      this.collector.addTopLevel(value);
      parent.length = 0;
    } else if (depth === 4) {
      this.collector.addChild(value);
      parent.length = 0;
    }
  }

  /** Returns false once the parser has failed; later input is ignored. */
  write(bytes: Uint8Array): boolean {
    if (this.parseError) return false;
    try {
      this.parser.write(bytes);
    } catch (error) {
      this.parseError ??= error instanceof Error ? error : new Error(String(error));
    }
    return this.parseError === undefined;
  }

  async finish(options: SplitOptions, excerpt: string): Promise<SplitResult> {
    if (!this.parseError && !this.parser.isEnded) {
      try {
        this.parser.end();
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
  const maxBytes = options.maxBytes ?? DEFAULTS.maxBytes;
  const maxBuffered = options.maxBufferedBytes ?? DEFAULTS.maxBufferedBytes;
  const excerpt: Uint8Array[] = [];
  let excerptBytes = 0;
  const buffered: Uint8Array[] = [];
  let total = 0;
  let mode: 'sniff' | 'object' | 'buffer' = 'sniff';
  let streaming: StreamingObjectSplitter | undefined;
  const sniffer = new BodySniffer();
  const buckets = newBuckets(options);

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
        if (mode === 'object') streaming = new StreamingObjectSplitter(release, buckets);
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
