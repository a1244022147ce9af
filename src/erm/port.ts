/**
 * The ErmStore port: where usage data providers, aggregator settings, counter reports and tenant settings
 * live. Two adapters: the service's own database (standalone) and mod-erm-usage through Okapi (FOLIO mode).
 * The harvesting engine sees only this interface and behaves the same with both. The records themselves
 * are the model's (src/model/records.ts).
 */
import type { AggregatorSetting, CounterReport, UsageDataProvider } from '../model/records.ts';

/**
 * A month's report given as its header plus its items as JSON texts, for months too large to hold as
 * one object or string. `items` may be called again (a retried request reads them once more).
 */
export interface StreamedReport {
  header: unknown;
  items: () => AsyncIterable<string>;
  /**
   * The same items comma-joined, as UTF-8 bytes in pieces cut between items (a store writes each as
   * one chunk row, as it is, instead of joining `items()` itself); optional. Each piece is valid until
   * the next is requested (it may be a view of a buffer used again).
   */
  itemChunks?: () => AsyncIterable<Buffer>;
  /**
   * The report's members other than `Report_Items`, in their order (a report body streamed over HTTP);
   * default `{Report_Header: header}`.
   */
  members?: Record<string, unknown>;
}

/** Reports whose JSON text is known (they were parsed from it): report → that text. */
const knownJson = new WeakMap<object, string>();

/**
 * Notes that `report` was parsed from `json` (storable text), so that a store writing it can take that
 * text instead of serialising the object again. The report must not be changed afterwards.
 */
export function withJsonText<T extends object>(report: T, json: string): T {
  knownJson.set(report, json);
  return report;
}

/**
 * A report object of the JSON object text `json` (storable text), parsed only when something reads it:
 * a store that writes its known text (`jsonTextOf`) never does, so a month stored as received costs no
 * objects. Any read, write or enumeration (`JSON.stringify` included) parses the text once into the
 * object itself; it behaves as the parsed object from then on. Not to be changed, as `withJsonText`.
 */
export function lazyJsonReport(json: string): object {
  const target: Record<string, unknown> = {};
  let loaded = false;
  const load = (): Record<string, unknown> => {
    if (!loaded) {
      const parsed = JSON.parse(json) as Record<string, unknown>;
      loaded = true;
      // Own data properties, as JSON.parse makes them (a `__proto__` member stays a member).
      for (const key of Object.keys(parsed))
        Object.defineProperty(target, key, {
          value: parsed[key],
          writable: true,
          enumerable: true,
          configurable: true,
        });
    }
    return target;
  };
  const report = new Proxy(target, {
    get: (t, key, receiver) => Reflect.get(load(), key, receiver),
    set: (t, key, value, receiver) => Reflect.set(load(), key, value, receiver),
    has: (t, key) => Reflect.has(load(), key),
    ownKeys: () => Reflect.ownKeys(load()),
    getOwnPropertyDescriptor: (t, key) => Reflect.getOwnPropertyDescriptor(load(), key),
    defineProperty: (t, key, descriptor) => Reflect.defineProperty(load(), key, descriptor),
    deleteProperty: (t, key) => Reflect.deleteProperty(load(), key),
    preventExtensions: () => Reflect.preventExtensions(load()),
  });
  return withJsonText(report, json);
}

/** The JSON text a report was parsed from (`withJsonText`), when known. */
export function jsonTextOf(report: unknown): string | undefined {
  return typeof report === 'object' && report !== null ? knownJson.get(report) : undefined;
}

/** The months `findStoredMonths` looks for: of one provider, any of the releases and reports (any case). */
export interface StoredMonthsKey {
  providerId: string;
  releases: string[];
  reportNames: string[];
  yearMonths: string[];
}

export interface Page<T> {
  records: T[];
  totalRecords: number;
}

/**
 * A non-success answer of the store, in HTTP terms (the FOLIO adapter gets real statuses; the local one
 * maps its outcomes to the statuses mod-erm-usage would give). Message: `Received status code 404, Not Found`.
 */
export class ErmError extends Error {
  override name = 'ErmError';
  constructor(
    readonly status: number,
    readonly reason: string,
  ) {
    super(`Received status code ${status}, ${reason}`);
  }
}

export interface ErmStore {
  getProvider(tenant: string, id: string): Promise<UsageDataProvider>;
  /** Replaces the provider (used for the harvestingDate update). */
  putProvider(tenant: string, provider: UsageDataProvider): Promise<void>;
  /**
   * Optional (the service's own store): sets the provider's `harvestingDate` (and its metadata's
   * `updatedDate`) in place, in one statement. Without it callers PUT the provider as loaded with the
   * date, as FOLIO's harvester does.
   */
  setHarvestingDate?(tenant: string, providerId: string, date: string): Promise<void>;
  /** CQL query over providers, paged. */
  findProviders(tenant: string, cql: string, offset: number, limit: number): Promise<Page<UsageDataProvider>>;
  getAggregator(tenant: string, id: string): Promise<AggregatorSetting>;
  /** CQL query over counter reports; `tiny` leaves out the `report` data. */
  findCounterReports(
    tenant: string,
    cql: string,
    offset: number,
    limit: number,
    tiny: boolean,
  ): Promise<Page<CounterReport>>;
  postCounterReport(tenant: string, report: CounterReport): Promise<string>;
  putCounterReport(tenant: string, id: string, report: CounterReport): Promise<void>;
  /**
   * POST with the report streamed: `record` without `report`, stored as if `report` were
   * `{Report_Header: header, Report_Items: [items...]}`. Optional; without it callers materialise.
   */
  postCounterReportStream?(tenant: string, record: CounterReport, report: StreamedReport): Promise<string>;
  /** PUT with the report streamed (see `postCounterReportStream`). */
  putCounterReportStream?(
    tenant: string,
    id: string,
    record: CounterReport,
    report: StreamedReport,
  ): Promise<void>;
  /**
   * Optional (the service's own store): the stored months (without `report`) of one provider and
   * report under any of `releases` among `yearMonths`, by the unique month index. Without it callers
   * look each month up with CQL.
   */
  findStoredMonths?(tenant: string, key: StoredMonthsKey): Promise<CounterReport[]>;
  /**
   * Optional (the service's own store): POSTs (no `id`) and PUTs (`id`) of counter reports in one
   * transaction, all or none; returns the ids in order. Without it callers write month by month.
   */
  upsertCounterReports?(tenant: string, writes: { id?: string; record: CounterReport }[]): Promise<string[]>;
  /**
   * Optional (the service's own store): POSTs new counter reports for months of which none is stored
   * yet, in one statement that first looks them up as `findStoredMonths` does; all or none. When any
   * of the months is stored nothing is written and the answer is what `findStoredMonths` returns;
   * undefined when the store cannot write these records so (then callers look up and upsert). `key`
   * names one report.
   */
  insertNewMonths?(
    tenant: string,
    key: StoredMonthsKey,
    records: CounterReport[],
  ): Promise<{ ids: string[] } | { existing: CounterReport[] } | undefined>;
  /** A tenant setting (`max_failed_attempts`, `days_to_keep_logs`); undefined when none is stored. */
  getSetting(tenant: string, key: string): Promise<unknown>;
}
