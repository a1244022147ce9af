/** Month arithmetic on `yyyy-MM` strings, the state of a stored month, and harvesting months again. */
import { api, errorText, qs } from './api.js';

/**
 * `yyyy-MM` (a `yyyy-MM-dd` is cut to its month), or undefined.
 * @param {unknown} value
 */
export function toMonth(value) {
  if (typeof value !== 'string') return undefined;
  const m = /^(\d{4})-(\d{2})/.exec(value.trim());
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 12) return undefined;
  return `${m[1]}-${m[2]}`;
}

/**
 * @param {string} month yyyy-MM
 * @param {number} delta
 */
export function addMonths(month, delta) {
  const [y, m] = month.split('-').map(Number);
  const index = y * 12 + (m - 1) + delta;
  return `${String(Math.floor(index / 12)).padStart(4, '0')}-${String((index % 12) + 1).padStart(2, '0')}`;
}

/** The last complete month (UTC): the month before the current one. */
export function lastCompleteMonth(now = new Date()) {
  const current = `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
  return addMonths(current, -1);
}

/**
 * The months of a provider's harvesting window, oldest first, capped at `max` (the newest are kept).
 * @param {string | undefined} start
 * @param {string | undefined} end
 * @param {number} [max]
 */
export function windowMonths(start, end, max = 120) {
  const first = toMonth(start);
  if (!first) return [];
  const limit = lastCompleteMonth();
  const configuredEnd = toMonth(end);
  const last = configuredEnd && configuredEnd < limit ? configuredEnd : limit;
  /** @type {string[]} */
  const months = [];
  for (let m = first; m <= last; m = addMonths(m, 1)) months.push(m);
  return months.slice(-max);
}

/**
 * The display states of a month, in legend order.
 * @type {{ state: string, label: string, glyph: string, description: string }[]}
 */
export const STATES = [
  { state: 'harvested', label: 'Harvested', glyph: '✓', description: 'report with usage stored' },
  { state: 'partial', label: 'Partial', glyph: '◐', description: 'stored with partial data (3040)' },
  { state: 'empty', label: 'No usage', glyph: '○', description: 'harvested, no usage (3030 or no items)' },
  { state: 'not-ready', label: 'Not ready', glyph: '…', description: 'not processed by the provider yet' },
  {
    state: 'failed',
    label: 'Failed',
    glyph: '✕',
    description: 'harvest failed (open the month for the reason)',
  },
  { state: 'missing', label: 'Missing', glyph: '', description: 'nothing stored' },
];

/**
 * The number of report items of a stored month: `itemCount` when the record carries it, else counted in
 * its report when the record has one (COUNTER 5 `Report_Items`, COUNTER 4 `customer[].reportItems`);
 * undefined when unknown (a record read without its report).
 * @param {any} record
 * @returns {number | undefined}
 */
export function itemCountOf(record) {
  if (typeof record?.itemCount === 'number') return record.itemCount;
  const report = record?.report;
  if (!report || typeof report !== 'object') return undefined;
  if (Array.isArray(report.Report_Items)) return report.Report_Items.length;
  const customers = Array.isArray(report.customer)
    ? report.customer
    : report.customer
      ? [report.customer]
      : [];
  if (customers.length === 0) return undefined;
  return customers.reduce(
    (/** @type {number} */ n, /** @type {any} */ c) =>
      n + (Array.isArray(c?.reportItems) ? c.reportItems.length : 0),
    0,
  );
}

/**
 * The display state of a stored counter report (`undefined` → missing). A report stored without a 3030
 * exception but with no items is a month without usage too, when its item count is known.
 * @param {any} record
 * @param {number} [itemCount] the item count when the record itself does not tell
 */
export function monthState(record, itemCount) {
  if (!record) return 'missing';
  const s = record.harvestState?.state;
  if (s === 'not_ready') return 'not-ready';
  if (s === 'empty') return 'empty';
  if (record.failedAttempts || record.failedReason || s === 'failed' || s === 'unavailable') return 'failed';
  if ((itemCountOf(record) ?? itemCount) === 0) return 'empty';
  if (s === 'partial') return 'partial';
  return 'harvested';
}

const MONTH_NAMES = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH_LONG = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

/** Short month names, January first. */
export const SHORT_MONTHS = MONTH_NAMES;

/**
 * "March 2021" for `2021-03`.
 * @param {string} month yyyy-MM
 */
export function monthLabel(month) {
  return `${MONTH_LONG[Number(month.slice(5, 7)) - 1] ?? month.slice(5, 7)} ${month.slice(0, 4)}`;
}

/** COUNTER exception names of the codes a provider's failed months can carry. */
export const EXCEPTION_NAMES = /** @type {Record<string, string>} */ ({
  1000: 'Service Not Available',
  1010: 'Service Busy',
  1011: 'Report Queued for Processing',
  1020: 'Client has made too many requests',
  1030: 'Insufficient Information to Process Request',
  2000: 'Requestor Not Authorized to Access Service',
  2010: 'Requestor is Not Authorized to Access Usage for Institution',
  2011: 'Global Reports Not Supported',
  2020: 'APIKey Invalid',
  3000: 'Report Not Supported',
  3010: 'Report Version Not Supported',
  3020: 'Invalid Date Arguments',
  3030: 'No Usage Available for Requested Dates',
  3031: 'Usage Not Ready for Requested Dates',
  3032: 'Usage No Longer Available for Requested Dates',
  3040: 'Partial Data Returned',
  3050: 'Parameter Not Recognized in this Context',
  3060: 'Invalid ReportFilter Value',
  3061: 'Incongruous ReportFilter Value',
  3062: 'Invalid ReportAttribute Value',
  3070: 'Required ReportFilter Missing',
  3071: 'Required ReportAttribute Missing',
  3080: 'Limit Requested Greater than Maximum Server Limit',
  other: 'No COUNTER exception code in the reason',
});

/**
 * Harvests months `from`..`to` of a provider again, also those already stored, without deleting them
 * (`POST /erm-usage-harvester/start/{id}/again`): unchanged months stay as they are, restated months are
 * replaced and the change is recorded.
 * @param {string} providerId
 * @param {string} from yyyy-MM
 * @param {string} [to] yyyy-MM, default `from`
 * @param {string[]} [reports] default the provider's requested reports
 * @returns {Promise<{ ok: boolean, message: string }>}
 */
export async function harvestAgain(providerId, from, to, reports) {
  const query = qs({ from, to: to || undefined, reports: reports?.length ? reports.join(',') : undefined });
  const res = await api(
    'POST',
    `/erm-usage-harvester/start/${encodeURIComponent(providerId)}/again?${query}`,
  );
  return res.ok
    ? { ok: true, message: res.json?.message ?? 'Harvesting again scheduled' }
    : { ok: false, message: errorText(res) };
}
