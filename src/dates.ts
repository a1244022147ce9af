/** Date-time handling in FOLIO's wire format (folio-contract H7/H8). */
import { isTimeInRange } from './model/input-checks.ts';

/** Formats epoch ms as `yyyy-MM-dd'T'HH:mm:ss.SSS+00:00` (UTC). */
export function formatDateTime(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+00:00');
}

const ISO_RE =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/** Epoch ms of a UTC date-time; years 0–99 stay years 0–99 (Date.UTC would make them 1900–1999). */
function utc(
  year: number,
  monthIndex: number,
  day: number,
  h: number,
  mi: number,
  s: number,
  ms: number,
): number {
  const date = new Date(Date.UTC(2000, monthIndex, day, h, mi, s, ms));
  date.setUTCFullYear(year, monthIndex, day);
  return date.getTime();
}

/**
 * Parses an ISO-8601 date-time with `Z`, `+hh:mm` or `+hhmm` (no offset means UTC), with or without
 * fractional seconds; a plain `yyyy-MM-dd` means midnight UTC. Returns epoch ms, or undefined when the
 * value is no date-time or lies outside the years 0001–9999 (a number such as 1e300 included).
 */
export function parseDateTime(value: unknown): number | undefined {
  const ms = parseUnchecked(value);
  return ms !== undefined && isTimeInRange(ms) ? ms : undefined;
}

function parseUnchecked(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? Math.trunc(value) : undefined;
  if (typeof value !== 'string') return undefined;
  const s = value.trim();
  const m = ISO_RE.exec(/^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s}T00:00` : s);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, sec = '00', frac = '0', zone = 'Z'] = m;
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > 31 || Number(h) > 23 || Number(mi) > 59 || Number(sec) > 59)
    return undefined;
  let ms = utc(
    Number(y),
    month - 1,
    day,
    Number(h),
    Number(mi),
    Number(sec),
    Number(frac.padEnd(3, '0').slice(0, 3)),
  );
  if (new Date(ms).getUTCDate() !== day) return undefined;
  if (zone.toUpperCase() !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    ms -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4))) * 60_000;
  }
  return ms;
}

/** Normalises a date-time input (string or epoch ms) to the folio-contract H7 output format; undefined if invalid. */
export function normalizeDateTime(value: unknown): string | undefined {
  const ms = parseDateTime(value);
  return ms === undefined ? undefined : formatDateTime(ms);
}
