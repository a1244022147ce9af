/**
 * Query parameter parsing of the harvester API (folio-contract H2, H3, H11): values arrive form-decoded as strings; an
 * empty value means absent; bad numbers are 400 text/plain describing the parameter.
 */
import { HttpError } from './http-errors.ts';

export const MAX_INT = 2_147_483_647;

const NUMBER_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export type QueryValues = Record<string, string | undefined>;

/** The value of a parameter, undefined when absent or empty. */
export function param(query: QueryValues, name: string): string | undefined {
  const v = query[name];
  return v === undefined || v === '' ? undefined : v;
}

function invalid(name: string, value: string, rule: string): HttpError {
  return new HttpError(
    400,
    `'${name}' parameter is incorrect. parameter value {${value}} is not valid: ${rule}`,
  );
}

/** An epoch-ms number; a decimal value is truncated. */
export function timestampParam(query: QueryValues, name = 'timestamp'): number | undefined {
  const raw = param(query, name);
  if (raw === undefined) return undefined;
  const n = Number(raw.trim());
  if (!NUMBER_RE.test(raw.trim()) || !Number.isFinite(n)) throw invalid(name, raw, 'must be a number');
  return Math.trunc(n);
}

/** An integer in [min, MAX_INT]. */
export function intParam(query: QueryValues, name: string, dflt: number, min = 0): number {
  const raw = param(query, name);
  if (raw === undefined) return dflt;
  if (!/^[+-]?\d+$/.test(raw.trim())) throw invalid(name, raw, 'must be an integer');
  const n = Number(raw.trim());
  if (n < min) throw invalid(name, raw, `must be greater than or equal to ${min}`);
  if (n > MAX_INT) throw invalid(name, raw, `must be less than or equal to ${MAX_INT}`);
  return n;
}
