/**
 * Adapters from what the store holds to `StoredMonth`: a whole report object (small months), or the
 * report's JSON text in pieces (large months kept as item chunks, read one chunk at a time). For R4
 * (FOLIO's camelCase JSON) the items are `customer[0].reportItems`.
 */
import { JsonObjectScanner } from '../json-scanner.ts';
import { isJsonObject, type JsonObject } from '../json.ts';
import type { YearMonth } from '../year-month.ts';
import { ExportError } from './errors.ts';
import type { StoredMonth } from './merge.ts';
import { r4Header } from './r4.ts';

async function* iterateArray(items: readonly unknown[]): AsyncGenerator<JsonObject | string> {
  for (const item of items) if (isJsonObject(item) || typeof item === 'string') yield item;
}

/** A stored month from its report object: R5 `{Report_Header, Report_Items}`, R4 `{…, customer: [{reportItems}]}`. */
export function storedMonthFromReport(yearMonth: YearMonth, report: unknown): StoredMonth {
  if (!isJsonObject(report))
    throw new ExportError('invalid_input', `Stored month ${yearMonth} has no report`);
  if (Array.isArray(report.customer)) {
    const customer: unknown = report.customer[0];
    const items = isJsonObject(customer) && Array.isArray(customer.reportItems) ? customer.reportItems : [];
    return { yearMonth, header: r4Header(report), items: () => iterateArray(items) };
  }
  const header = report.Report_Header;
  if (!isJsonObject(header))
    throw new ExportError('invalid_input', `Stored month ${yearMonth} has no Report_Header`);
  const items = Array.isArray(report.Report_Items) ? report.Report_Items : [];
  return { yearMonth, header, items: () => iterateArray(items) };
}

const SLICE_BYTES = 256 * 1024;

/** Thrown into the scan of a month whose items are no longer wanted. */
class StoppedEarly extends Error {}

type Pieces = () => AsyncIterable<string | Uint8Array>;

function bytes(piece: string | Uint8Array): Uint8Array {
  return typeof piece === 'string' ? Buffer.from(piece, 'utf8') : piece;
}

/** Scans the report text; `onItem` gets each `Report_Items` element as text. Returns the header if seen. */
async function scan(
  pieces: Pieces,
  yearMonth: YearMonth,
  onItems: ((texts: string[]) => Promise<void>) | undefined,
  stopAtHeader: boolean,
): Promise<JsonObject | undefined> {
  let header: JsonObject | undefined;
  let batch: string[] = [];
  const scanner = new JsonObjectScanner(
    {
      member: (key, text) => {
        if (key.toLowerCase() === 'report_header') header = JSON.parse(text) as JsonObject;
      },
      element: (text) => {
        if (onItems) batch.push(text);
      },
    },
    'report_items',
  );
  try {
    for await (const piece of pieces()) {
      const data = bytes(piece);
      // A store chunk is 4 MiB: its items are handed over a slice at a time, not all at once.
      for (let start = 0; start < data.length; start += SLICE_BYTES) {
        scanner.write(data.subarray(start, start + SLICE_BYTES));
        if (onItems && batch.length > 0) {
          const ready = batch;
          batch = [];
          await onItems(ready);
        }
        if (stopAtHeader && header) return header;
      }
    }
    scanner.end();
  } catch (error) {
    if (error instanceof ExportError || error instanceof StoppedEarly) throw error;
    throw new ExportError(
      'invalid_input',
      `Stored month ${yearMonth} is not a valid report (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  if (onItems && batch.length > 0) await onItems(batch);
  return header;
}

/**
 * A stored month from its report's JSON text in pieces (`pieces` may be called twice: once to find
 * the header, once for the items). Items are handed on as texts, one piece's worth at a time.
 */
export async function storedMonthFromJsonPieces(yearMonth: YearMonth, pieces: Pieces): Promise<StoredMonth> {
  const header = await scan(pieces, yearMonth, undefined, true);
  if (!header) throw new ExportError('invalid_input', `Stored month ${yearMonth} has no Report_Header`);
  return {
    yearMonth,
    header,
    async *items() {
      const queue: string[][] = [];
      let done = false;
      let stopped = false;
      let failure: Error | undefined;
      let wake: (() => void) | undefined;
      let resume: (() => void) | undefined;
      const producer = scan(
        pieces,
        yearMonth,
        async (texts) => {
          // The consumer stopped early: end the scan (see `finally` below).
          if (stopped) throw new StoppedEarly();
          queue.push(texts);
          wake?.();
          // Wait until the consumer has taken this batch: one piece in memory at a time.
          await new Promise<void>((resolve) => (resume = resolve));
        },
        false,
      )
        .catch((error: unknown) => {
          failure = error instanceof Error ? error : new Error(String(error));
        })
        .finally(() => {
          done = true;
          wake?.();
        });
      try {
        for (;;) {
          const next = queue.shift();
          if (next) {
            const release = resume;
            resume = undefined;
            try {
              yield* next;
            } finally {
              // Also when the consumer stops inside the batch: the producer must not wait forever.
              release?.();
            }
            continue;
          }
          if (done) break;
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
        }
      } finally {
        stopped = true;
        resume?.();
        await producer;
      }
      if (failure && !(failure instanceof StoppedEarly)) throw failure;
    },
  };
}
