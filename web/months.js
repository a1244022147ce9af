/** Month arithmetic on `yyyy-MM` strings and the state of a stored month. */

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
  { state: 'harvested', label: 'Harvested', glyph: '✓', description: 'report stored' },
  { state: 'partial', label: 'Partial', glyph: '◐', description: 'stored with partial data (3040)' },
  { state: 'empty', label: 'Empty', glyph: '○', description: 'harvested, no usage' },
  { state: 'not-ready', label: 'Not ready', glyph: '…', description: 'not processed by the provider yet' },
  { state: 'failed', label: 'Failed', glyph: '✕', description: 'harvest failed (select for the reason)' },
  { state: 'missing', label: 'Missing', glyph: '', description: 'nothing stored' },
];

/**
 * The display state of a stored counter report (`undefined` → missing).
 * @param {any} record
 */
export function monthState(record) {
  if (!record) return 'missing';
  const s = record.harvestState?.state;
  if (s === 'not_ready') return 'not-ready';
  if (s === 'empty') return 'empty';
  if (record.failedAttempts || record.failedReason || s === 'failed' || s === 'unavailable') return 'failed';
  if (s === 'partial') return 'partial';
  return 'harvested';
}
