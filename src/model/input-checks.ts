/**
 * What every incoming string, JSON value and date must satisfy before it reaches SQL (docs/hardening.md,
 * "Client input"). PostgreSQL stores neither a NUL character (`text` and `jsonb` both refuse it) nor a
 * lone UTF-16 surrogate (no UTF-8 form), and code that walks JSON recursively overflows its stack on deep
 * nesting; these checks find such input first and say what is wrong and where. Pure functions: the API's
 * input guard (src/api/input-guard.ts) and the store's record checks call them.
 */

/** Deepest JSON nesting accepted in a request body (an object or array inside another counts one level). */
export const MAX_JSON_DEPTH = 64;

/** Years a date-time may have: four digits, from 0001 to 9999 (what the `yyyy-MM-dd…` format can write). */
export const MIN_YEAR = 1;
export const MAX_YEAR = 9999;

/** Epoch ms of 0001-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z. */
export const MIN_TIME_MS = -62_135_596_800_000;
export const MAX_TIME_MS = 253_402_300_799_999;

/** One problem of a piece of input: where it is (`$.label`, query parameter `query`, …) and what is wrong. */
export interface InputProblem {
  /** Dotted JSON path (`harvestingConfig.label`, `tags.tagList[3]`, '' for the whole value) or the parameter. */
  where: string;
  /** What is wrong, e.g. `contains a NUL character (U+0000) at position 4`. */
  what: string;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** What is wrong with a string that PostgreSQL cannot store, or undefined when it is fine. */
export function textProblem(value: string): string | undefined {
  const nul = value.indexOf('\u0000');
  if (nul >= 0) return `contains a NUL character (U+0000) at position ${nul}`;
  const match = LONE_SURROGATE.exec(value);
  if (match === null) return undefined;
  const at = match.index;
  const code = value.charCodeAt(at).toString(16).toUpperCase();
  return `contains a lone UTF-16 surrogate (U+${code}) at position ${at}`;
}

function memberPath(parent: string, key: string): string {
  if (!/^[A-Za-z_$][\w$]*$/.test(key)) return `${parent}[${JSON.stringify(key)}]`;
  return parent === '' ? key : `${parent}.${key}`;
}

/** A path of at most 120 characters: its start and end, the middle left out. */
function shortened(path: string): string {
  return path.length <= 120 ? path : `${path.slice(0, 60)}…${path.slice(-59)}`;
}

/**
 * The first problem of a parsed JSON value: a string (value or member name) that cannot be stored, or
 * nesting deeper than `maxDepth`. Iterative, so any depth is walked without recursion. Values that are
 * not plain JSON (a stream, a Buffer) are not looked into.
 */
export function jsonProblem(value: unknown, maxDepth = MAX_JSON_DEPTH): InputProblem | undefined {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value, path: '', depth: 0 }];
  while (stack.length > 0) {
    const { value: v, path, depth } = stack.pop()!;
    if (typeof v === 'string') {
      const what = textProblem(v);
      if (what) return { where: shortened(path), what };
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    const isArray = Array.isArray(v);
    if (!isArray && Object.getPrototypeOf(v) !== Object.prototype) continue;
    if (depth + 1 > maxDepth)
      return {
        where: shortened(path),
        what: `is nested deeper than ${maxDepth} levels of objects and arrays`,
      };
    if (isArray) {
      for (let i = v.length - 1; i >= 0; i--)
        stack.push({ value: v[i], path: `${path}[${i}]`, depth: depth + 1 });
      continue;
    }
    const entries = Object.entries(v as Record<string, unknown>);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, member] = entries[i];
      const what = textProblem(key);
      if (what) return { where: shortened(path), what: `has a member name that ${what}` };
      stack.push({ value: member, path: memberPath(path, key), depth: depth + 1 });
    }
  }
  return undefined;
}

/** The first problem of the string values (and names) of a parameter map, such as a parsed query string. */
export function paramsProblem(
  params: Record<string, unknown> | undefined,
  kind: string,
): InputProblem | undefined {
  for (const [name, value] of Object.entries(params ?? {})) {
    const nameProblem = textProblem(name);
    if (nameProblem) return { where: `${kind} name`, what: nameProblem };
    const values = Array.isArray(value) ? value : [value];
    for (const v of values) {
      const what = typeof v === 'string' ? textProblem(v) : undefined;
      if (what) return { where: `${kind} '${name}'`, what };
    }
  }
  return undefined;
}

/** Epoch ms within years 0001–9999. */
export function isTimeInRange(ms: number): boolean {
  return Number.isFinite(ms) && ms >= MIN_TIME_MS && ms <= MAX_TIME_MS;
}

const MONTH_RE = /^(\d{4})-(0[1-9]|1[0-2])$/;
const DAY_RE = /^(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;

/** A calendar month `yyyy-MM` of years 0001–9999, e.g. `2024-02`. */
export function isYearMonth(value: unknown): value is string {
  const m = typeof value === 'string' ? MONTH_RE.exec(value) : null;
  return m !== null && Number(m[1]) >= MIN_YEAR;
}

/** A calendar day `yyyy-MM-dd` that exists (no 2023-02-29), years 0001–9999. */
export function isCalendarDay(value: unknown): value is string {
  const m = typeof value === 'string' ? DAY_RE.exec(value) : null;
  if (m === null || Number(m[1]) < MIN_YEAR) return false;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  return date.getUTCMonth() === month - 1;
}
