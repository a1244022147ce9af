/**
 * Stores one month with FOLIO's upsert rule (folio-contract §7.7, §8.2): one record per (providerId, release,
 * reportName, yearMonth); a success replaces a failure; a counted failure adds one to `failedAttempts`;
 * an uncounted failure keeps the existing count (1 for a new record). Idempotent: storing the same
 * outcome twice leaves one record.
 */
import { createHash } from 'node:crypto';
import type { Diagnostic, MonthFacts, MonthStream, TopItem, YearMonth } from '../counter/index.ts';
import type { CounterReport } from '../model/records.ts';
import { lazyJsonReport, type ErmStore, type StoredMonthsKey, type StreamedReport } from '../erm/port.ts';
import type { MonthSource } from '../sushi/types.ts';
import {
  makeStorableEscapedJsonBytes,
  storableEscapedJsonText,
  storableValue,
} from '../counter/storable-text.ts';
import { siblingReleases, upsertLookupCql } from './cql-terms.ts';
import type { HarvestState } from './month-state.ts';

export interface MonthKey {
  providerId: string;
  release: string;
  reportName: string;
  yearMonth: string;
}

/**
 * Fields a stored month carries next to FOLIO's, so that readers can tell a month with usage from an
 * empty one and show numbers without reading the report (counter-report records allow additional
 * properties). Written for every month whose report was split by the COUNTER 5 splitter.
 */
export interface UsageFields {
  /** Top-level `Report_Items` with usage in this month (0: stored with no usage). */
  itemCount: number;
  /** Sum of the counts per Metric_Type. */
  usageTotals: Record<string, number>;
  /** Per Metric_Type the most used items, highest first. */
  topItems: Record<string, TopItem[]>;
  /** Schema and Code of Practice warnings; they never block storing. */
  diagnostics: Diagnostic[];
}

export function usageFieldsOf(month: MonthFacts): UsageFields {
  return {
    itemCount: month.itemCount,
    usageTotals: month.totals,
    topItems: month.topItems,
    diagnostics: month.diagnostics,
  };
}

export type MonthOutcome =
  | {
      kind: 'success';
      report: unknown;
      /** A large month: its data as header plus item texts; `report` is then ignored. */
      streamed?: StreamedReport;
      state?: HarvestState;
      /**
       * What the split learnt about the month; stored on the record (see UsageFields). COUNTER 4 months
       * carry only `itemCount`; a month without it has an unknown item count.
       */
      usage?: Partial<UsageFields>;
      /** sha256 (hex) of the month's items, computed while they were read (restatement check). */
      contentHash?: string;
    }
  | {
      kind: 'failure';
      failedReason: string;
      /** counted: +1; uncounted: keep the existing count; terminal: at least `maxFailedAttempts`. */
      counting: 'counted' | 'uncounted' | 'terminal';
      state?: HarvestState;
    };

/**
 * The stored record of a month: under the key's release, or else under its sibling release (5.0 and
 * 5.1 are the same months, see cql-terms.ts), so a provider that changes layout does not double them.
 */
export async function findMonth(
  erm: ErmStore,
  tenant: string,
  key: MonthKey,
): Promise<CounterReport | undefined> {
  const page = await erm.findCounterReports(
    tenant,
    upsertLookupCql(key.providerId, key.release, key.reportName, key.yearMonth),
    0,
    2,
    true,
  );
  return page.records.find((r) => r.release === key.release) ?? page.records[0];
}

/**
 * The stored records of several months of one provider, release and report (same rule as `findMonth`
 * per month), or undefined when the store cannot look them up at once (then `findMonth` per month).
 */
export async function findMonths(
  erm: ErmStore,
  tenant: string,
  keys: MonthKey[],
): Promise<Map<string, CounterReport> | undefined> {
  if (!erm.findStoredMonths || keys.length === 0) return undefined;
  return pickMonths(await erm.findStoredMonths(tenant, storedMonthsKey(keys)), keys[0].release);
}

/** What `findStoredMonths` looks for: the months of `keys` (one provider and report) under either release. */
function storedMonthsKey(keys: MonthKey[]): StoredMonthsKey {
  const { providerId, release, reportName } = keys[0];
  return {
    providerId,
    releases: siblingReleases(release),
    reportNames: [reportName],
    yearMonths: keys.map((k) => k.yearMonth),
  };
}

/** The stored record of each month: the one under `release`, else the one under its sibling. */
function pickMonths(records: CounterReport[], release: string): Map<string, CounterReport> {
  const found = new Map<string, CounterReport>();
  for (const r of records) {
    const ym = String(r.yearMonth);
    const seen = found.get(ym);
    if (!seen || (seen.release !== release && r.release === release)) found.set(ym, r);
  }
  return found;
}

/**
 * New months of one provider, release and report (none streamed, each written with `outcome`), in one
 * store statement when none of them is stored yet (`insertNewMonths`): the new record ids in order, or
 * the stored months (as `findMonths` answers) when some are stored and nothing was written; undefined
 * when the store cannot write them so.
 */
export async function insertNewMonths(
  erm: ErmStore,
  tenant: string,
  months: { key: MonthKey; outcome: MonthOutcome }[],
  downloadTime: string,
  maxFailedAttempts: number,
): Promise<{ ids: string[] } | { existing: Map<string, CounterReport> } | undefined> {
  if (!erm.insertNewMonths || months.length === 0) return undefined;
  const keys = months.map((m) => m.key);
  const answer = await erm.insertNewMonths(
    tenant,
    storedMonthsKey(keys),
    months.map(({ key, outcome }) => buildRecord(key, outcome, downloadTime, undefined, maxFailedAttempts)),
  );
  if (answer === undefined || 'ids' in answer) return answer;
  return { existing: pickMonths(answer.existing, keys[0].release) };
}

function failedAttemptsOf(existing: CounterReport | undefined): number {
  const n = Number(existing?.failedAttempts);
  return Number.isInteger(n) && n > 0 ? n : 0;
}

export function buildRecord(
  key: MonthKey,
  outcome: MonthOutcome,
  downloadTime: string,
  existing: CounterReport | undefined,
  maxFailedAttempts: number,
): CounterReport {
  const base: CounterReport = { ...key, downloadTime };
  if (outcome.kind === 'success') {
    if (outcome.usage) Object.assign(base, outcome.usage);
    if (outcome.contentHash !== undefined) base.contentHash = outcome.contentHash;
    if (outcome.streamed) return { ...base, ...(outcome.state ? { harvestState: outcome.state } : {}) };
    return { ...base, report: outcome.report, ...(outcome.state ? { harvestState: outcome.state } : {}) };
  }
  const previous = failedAttemptsOf(existing);
  const failedAttempts =
    outcome.counting === 'counted'
      ? previous + 1
      : outcome.counting === 'terminal'
        ? Math.max(previous + 1, maxFailedAttempts)
        : Math.max(previous, 1);
  return {
    ...base,
    failedAttempts,
    failedReason: outcome.failedReason,
    ...(outcome.state ? { harvestState: outcome.state } : {}),
  };
}

/** Looks the month up and POSTs or PUTs it. Returns the record id. Errors propagate (upload failures). */
export async function upsertMonth(
  erm: ErmStore,
  tenant: string,
  key: MonthKey,
  outcome: MonthOutcome,
  downloadTime: string,
  maxFailedAttempts: number,
  existing?: CounterReport | null,
): Promise<string> {
  const found = existing === undefined ? await findMonth(erm, tenant, key) : (existing ?? undefined);
  const record = buildRecord(key, outcome, downloadTime, found, maxFailedAttempts);
  const streamed = outcome.kind === 'success' ? outcome.streamed : undefined;
  if (streamed) return upsertStreamed(erm, tenant, record, streamed, found?.id);
  if (found?.id) {
    await erm.putCounterReport(tenant, found.id, { ...record, id: found.id });
    return found.id;
  }
  return erm.postCounterReport(tenant, record);
}

/** One month to write with `upsertMonths`: its key, outcome and the record stored now (if any). */
export interface MonthWrite {
  key: MonthKey;
  outcome: MonthOutcome;
  existing: CounterReport | undefined;
}

/**
 * POSTs and PUTs several months (none streamed) in one store transaction, all or none, when the store
 * can (`upsertCounterReports`); undefined when it cannot. Returns the record ids in order.
 */
export async function upsertMonths(
  erm: ErmStore,
  tenant: string,
  writes: MonthWrite[],
  downloadTime: string,
  maxFailedAttempts: number,
): Promise<string[] | undefined> {
  if (!erm.upsertCounterReports) return undefined;
  return erm.upsertCounterReports(
    tenant,
    writes.map(({ key, outcome, existing }) => {
      const record = buildRecord(key, outcome, downloadTime, existing, maxFailedAttempts);
      return existing?.id ? { id: existing.id, record: { ...record, id: existing.id } } : { record };
    }),
  );
}

async function upsertStreamed(
  erm: ErmStore,
  tenant: string,
  record: CounterReport,
  report: StreamedReport,
  id: string | undefined,
): Promise<string> {
  if (!erm.postCounterReportStream || !erm.putCounterReportStream) {
    const items: unknown[] = [];
    for await (const text of report.items()) items.push(JSON.parse(text));
    const whole = { ...record, report: { Report_Header: report.header, Report_Items: items } };
    if (!id) return erm.postCounterReport(tenant, whole);
    await erm.putCounterReport(tenant, id, { ...whole, id });
    return id;
  }
  if (!id) return erm.postCounterReportStream(tenant, record, report);
  await erm.putCounterReportStream(tenant, id, { ...record, id }, report);
  return id;
}

/** Months whose items are longer than this are stored streamed (never held as one object). */
export const STREAMED_MONTH_BYTES = 4 * 1024 * 1024;

export interface MonthToStore {
  yearMonth: YearMonth;
  outcome: MonthOutcome & { kind: 'success' };
  /** Length of the month's item texts, when known (what holding the month costs). */
  itemBytes?: number;
}

interface StreamingMonthSource extends MonthSource {
  monthStreams(): AsyncGenerator<MonthStream>;
}

function hasMonthStreams(data: MonthSource): data is StreamingMonthSource {
  return typeof (data as Partial<StreamingMonthSource>).monthStreams === 'function';
}

/**
 * A month whose text PostgreSQL can store: its header and item texts with NUL characters and lone
 * surrogates replaced (counter/storable-text.ts), counted as they are read.
 */
class StorableMonth {
  readonly header: unknown;
  replaced = 0;

  constructor(private readonly month: MonthStream) {
    const header = storableValue(month.header);
    this.header = header.value;
    this.replaced = header.replaced;
  }

  /** The item texts, storable; `count` adds the replacements to `replaced` (once per month). */
  async *items(count = false): AsyncGenerator<string> {
    for await (const raw of this.month.items()) {
      // The splitter's item texts hold unstorable characters only as escapes (MonthStream.items).
      const { text, replaced } = storableEscapedJsonText(raw);
      if (count) this.replaced += replaced;
      yield text;
    }
  }

  /** Whether the month's items can be read comma-joined in chunks (`itemChunks`). */
  get hasItemChunks(): boolean {
    return this.month.itemChunks !== undefined;
  }

  /**
   * The item texts comma-joined as UTF-8 bytes in pieces of about 4 MiB, storable (escapes never span
   * two items, so a piece is made storable as a whole, in place); `count` as for `items`. Each piece
   * is valid until the next is requested.
   */
  async *itemChunks(count = false): AsyncGenerator<Buffer> {
    if (!this.month.itemChunks) throw new Error('the month has no item chunks');
    for await (const bytes of this.month.itemChunks()) {
      // The splitter's bytes are encoded from its item texts: valid UTF-8, no raw NUL (MonthStream).
      const replaced = makeStorableEscapedJsonBytes(bytes);
      if (count) this.replaced += replaced;
      yield bytes;
    }
  }

  /** The splitter's hash of the month's items (of the text as sent), when it took one. */
  get contentHash(): string | undefined {
    return this.month.contentHash;
  }

  /** The month's usage fields with a `text_replaced` diagnostic when something was replaced. */
  usage(): UsageFields {
    // Top items and diagnostics quote item names: made storable too (not counted again).
    const usage = storableValue(usageFieldsOf(this.month)).value;
    if (this.replaced === 0) return usage;
    const diagnostic: Diagnostic = {
      code: 'text_replaced',
      message: `${this.replaced} character(s) that cannot be stored (NUL, lone UTF-16 surrogate) replaced by U+FFFD`,
      count: this.replaced,
    };
    return { ...usage, diagnostics: [...usage.diagnostics, diagnostic] };
  }
}

/**
 * The month's report object, and the hash of its item texts: the splitter's when it took it, else
 * taken while they are joined.
 */
async function monthReport(month: StorableMonth): Promise<{ report: unknown; contentHash: string }> {
  const items: string[] = [];
  const hash = month.contentHash === undefined ? createHash('sha256') : undefined;
  for await (const text of month.items(true)) {
    hash?.update(text).update('\n');
    items.push(text);
  }
  const json = `{"Report_Header":${JSON.stringify(month.header)},"Report_Items":[${items.join(',')}]}`;
  // The standalone store writes this text as it is: the report is neither serialised again nor, unless
  // something else reads it (another store), parsed.
  const report = lazyJsonReport(json);
  return { report, contentHash: hash?.digest('hex') ?? month.contentHash! };
}

/**
 * The hash of a large month's item texts: the splitter's when it took it (replacements of text that
 * cannot be stored are then not counted for the month's diagnostic; they are still made), else one
 * extra pass over its (spilled) items.
 */
async function streamedHash(month: StorableMonth): Promise<string> {
  if (month.contentHash !== undefined) return month.contentHash;
  const hash = createHash('sha256');
  for await (const text of month.items(true)) hash.update(text).update('\n');
  return hash.digest('hex');
}

/**
 * The months of a response as outcomes to store, in order: small months as report objects, large ones
 * (when the source can stream them) as header plus item stream, each with the hash of its items. Each
 * month is valid until the next one is requested. Months outside the requested range are not yielded.
 */
export async function* monthsToStore(
  data: MonthSource,
  state: HarvestState | undefined,
): AsyncGenerator<MonthToStore> {
  if (!hasMonthStreams(data)) {
    for await (const month of data.months()) {
      const usage = month.itemCount !== undefined ? { itemCount: month.itemCount } : undefined;
      const report = storableValue(month.report).value;
      const outcome = { kind: 'success' as const, report, state, usage };
      yield { yearMonth: month.yearMonth, outcome: { ...outcome, contentHash: month.contentHash } };
    }
    return;
  }
  for await (const stream of data.monthStreams()) {
    if (stream.outsideRequest) continue;
    const month = new StorableMonth(stream);
    if (stream.itemBytes > STREAMED_MONTH_BYTES) {
      const streamed: StreamedReport = {
        header: month.header,
        items: () => month.items(),
        ...(month.hasItemChunks && { itemChunks: () => month.itemChunks() }),
      };
      const contentHash = await streamedHash(month);
      const usage = month.usage();
      yield {
        yearMonth: stream.yearMonth,
        outcome: { kind: 'success', report: undefined, streamed, state, usage, contentHash },
      };
      continue;
    }
    const { report, contentHash } = await monthReport(month);
    const usage = month.usage();
    yield {
      yearMonth: stream.yearMonth,
      outcome: { kind: 'success', report, state, usage, contentHash },
      itemBytes: stream.itemBytes,
    };
  }
}
