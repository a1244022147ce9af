/**
 * The `huge` scenario: a generated Title Report of about a given size, streamed as it is generated.
 *
 * Every item has the same byte length (9-digit zero-padded index, counts between 100 and 999), so the
 * number of items and the exact body size follow from the requested range and the target size alone:
 * `hugeReportPlan` computes both, plus the per-month sums, without generating the body.
 *
 * Count of item `i`, month `m` (absolute month index, year × 12 + month − 1), metric number `k`:
 * `100 + ((i * 131 + m * 17 + k * 37) % 900)`. It does not depend on the requested range.
 */
import type { MockRelease } from './exceptions.ts';
import { firstDay, lastDay, monthIndex, monthsBetween, type Month } from './months.ts';
import type { MonthSums } from './samples.ts';

export const HUGE_METRICS = [
  'Total_Item_Investigations',
  'Total_Item_Requests',
  'Unique_Item_Investigations',
  'Unique_Item_Requests',
] as const;

export const DEFAULT_HUGE_BYTES = 50 * 1024 * 1024;

export interface HugeRequest {
  release: MockRelease;
  begin: Month;
  end: Month;
  /** Target body size in bytes; the body is at most this long (and at least one item). */
  bytes: number;
}

export interface HugePlan {
  itemCount: number;
  /** Exact byte length of the body (sent as Content-Length). */
  totalBytes: number;
  sums: MonthSums;
}

export function hugeCount(item: number, month: Month, metric: number): number {
  return countAt(item, monthIndex(month), metric);
}

function countAt(item: number, month: number, metric: number): number {
  return 100 + ((item * 131 + month * 17 + metric * 37) % 900);
}

function hugeHeader(request: HugeRequest): Record<string, unknown> {
  const begin = firstDay(request.begin);
  const end = lastDay(request.end);
  if (request.release === '5.1') {
    return {
      Report_Name: 'Title Report',
      Report_ID: 'TR',
      Release: '5.1',
      Institution_Name: 'Huge Institution',
      Institution_ID: { Proprietary: ['mock:huge'] },
      Report_Filters: { Begin_Date: begin, End_Date: end },
      Report_Attributes: { Attributes_To_Show: ['YOP', 'Access_Type', 'Access_Method'] },
      Created: '2024-01-01T00:00:00Z',
      Created_By: 'Mock COUNTER server',
      Registry_Record: '',
    };
  }
  return {
    Report_Name: 'Title Master Report',
    Report_ID: 'TR',
    Release: '5',
    Institution_Name: 'Huge Institution',
    Customer_ID: 'huge',
    Report_Filters: [
      { Name: 'Begin_Date', Value: begin },
      { Name: 'End_Date', Value: end },
    ],
    Report_Attributes: [
      { Name: 'Attributes_To_Show', Value: 'Data_Type|Section_Type|YOP|Access_Type|Access_Method' },
    ],
    Created: '2024-01-01T00:00:00Z',
    Created_By: 'Mock COUNTER server',
  };
}

function prefixOf(request: HugeRequest): string {
  return `{"Report_Header":${JSON.stringify(hugeHeader(request))},"Report_Items":[`;
}

const SUFFIX = ']}';

/** The months of a request with their absolute indexes and full dates, computed once. */
interface MonthInfo {
  month: Month;
  index: number;
  first: string;
  last: string;
}

function monthInfos(months: Month[]): MonthInfo[] {
  return months.map((month) => ({
    month,
    index: monthIndex(month),
    first: firstDay(month),
    last: lastDay(month),
  }));
}

/** Same text as `JSON.stringify` of the R5.1 item, written by hand for speed. */
function itemR51(i: number, months: MonthInfo[]): string {
  const padded = String(i).padStart(9, '0');
  let performance = '';
  HUGE_METRICS.forEach((metric, k) => {
    const counts = months.map((m) => `"${m.month}":${countAt(i, m.index, k)}`).join(',');
    performance += `${k === 0 ? '' : ','}"${metric}":{${counts}}`;
  });
  return (
    `{"Title":"Huge Title ${padded}","Item_ID":{"Proprietary":"mock:huge${padded}"},"Platform":"Mock Platform",` +
    `"Publisher":"Mock Publisher","Publisher_ID":{"Proprietary":["mock:pub"]},"Attribute_Performance":[{"Data_Type":"Journal",` +
    `"YOP":"2020","Access_Type":"Controlled","Access_Method":"Regular","Performance":{${performance}}}]}`
  );
}

/** Same text as `JSON.stringify` of the R5.0 item, written by hand for speed. */
function itemR50(i: number, months: MonthInfo[]): string {
  const padded = String(i).padStart(9, '0');
  const performance = months
    .map((m) => {
      const instances = HUGE_METRICS.map(
        (metric, k) => `{"Metric_Type":"${metric}","Count":${countAt(i, m.index, k)}}`,
      );
      return `{"Period":{"Begin_Date":"${m.first}","End_Date":"${m.last}"},"Instance":[${instances.join(',')}]}`;
    })
    .join(',');
  return (
    `{"Title":"Huge Title ${padded}","Item_ID":[{"Type":"Proprietary","Value":"mock:huge${padded}"}],` +
    `"Platform":"Mock Platform","Publisher":"Mock Publisher","Data_Type":"Journal","Section_Type":"Article",` +
    `"YOP":"2020","Access_Type":"Controlled","Access_Method":"Regular","Performance":[${performance}]}`
  );
}

/** The JSON text of item `i` (all items of one request have the same length). */
export function hugeItem(release: MockRelease, i: number, months: Month[]): string {
  return renderItem(release, i, monthInfos(months));
}

function renderItem(release: MockRelease, i: number, months: MonthInfo[]): string {
  return release === '5.1' ? itemR51(i, months) : itemR50(i, months);
}

function itemCountFor(request: HugeRequest, months: MonthInfo[]): number {
  const fixed = Buffer.byteLength(prefixOf(request)) + SUFFIX.length;
  const itemBytes = renderItem(request.release, 0, months).length;
  return Math.max(1, Math.floor((request.bytes - fixed + 1) / (itemBytes + 1)));
}

/** Item count and exact body size of the huge report for this request (cheap). */
export function hugeReportSize(request: HugeRequest): { itemCount: number; totalBytes: number } {
  const months = monthInfos(monthsBetween(request.begin, request.end));
  const itemCount = itemCountFor(request, months);
  const itemBytes = renderItem(request.release, 0, months).length;
  const totalBytes =
    Buffer.byteLength(prefixOf(request)) + itemCount * itemBytes + (itemCount - 1) + SUFFIX.length;
  return { itemCount, totalBytes };
}

/** Item count, exact body size and per-month sums of the huge report for this request. */
export function hugeReportPlan(request: HugeRequest): HugePlan {
  const { itemCount, totalBytes } = hugeReportSize(request);
  const sums: MonthSums = new Map();
  for (const m of monthInfos(monthsBetween(request.begin, request.end))) {
    const metrics = new Map<string, number>();
    HUGE_METRICS.forEach((metric, k) => {
      let total = 0;
      for (let i = 0; i < itemCount; i++) total += countAt(i, m.index, k);
      metrics.set(metric, total);
    });
    sums.set(m.month, metrics);
  }
  return { itemCount, totalBytes, sums };
}

/** Yields the body in chunks of about `chunkBytes`, generating items as it goes. */
export function* hugeReportChunks(request: HugeRequest, chunkBytes = 64 * 1024): Generator<string> {
  const months = monthInfos(monthsBetween(request.begin, request.end));
  const itemCount = itemCountFor(request, months);
  let chunk = prefixOf(request);
  for (let i = 0; i < itemCount; i++) {
    chunk += (i === 0 ? '' : ',') + renderItem(request.release, i, months);
    if (chunk.length >= chunkBytes) {
      yield chunk;
      chunk = '';
    }
  }
  yield chunk + SUFFIX;
}
