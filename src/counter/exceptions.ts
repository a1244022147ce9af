/**
 * COUNTER exceptions: a normalised model, a tolerant finder for every place vendors put them
 * (counter-notes §3.2/§3.3) and classification by code (counter-notes §2.5, folio-contract §8.1).
 *
 * This module is the tolerant reader: it is the only place that looks at key spellings and messages.
 * Everything downstream decides on `code` only.
 */
import { getLoose, isJsonObject, type JsonObject } from './json.ts';

export interface SushiException {
  /** Integer code; `undefined` when the vendor sent none or a non-numeric one. */
  code: number | undefined;
  /** Kept for display only; COUNTER deprecated Severity in 5.0.2 and it must not drive decisions. */
  severity?: string;
  message: string;
  data?: string;
  helpUrl?: string;
  /** The object as received, for storage in failedReason (folio-contract §7.9). */
  raw: unknown;
}

/** Where an exception was found; useful as a finding and for tests. */
export type ExceptionPlacement =
  | 'header_exceptions'
  | 'header_exception'
  | 'root_exceptions'
  | 'root_exception'
  | 'naked_object'
  | 'array'
  | 'wrapped';

export interface FoundException extends SushiException {
  placement: ExceptionPlacement;
}

const STRONG_CODE_KEYS = ['code', 'number', 'exception_code'];
const CODE_KEYS = [...STRONG_CODE_KEYS, 'status'];
const MESSAGE_KEYS = ['message', 'msg', 'error_message', 'description'];
const SEVERITY_KEYS = ['severity'];
const DATA_KEYS = ['data'];
const HELP_URL_KEYS = ['help_url'];
const WRAPPER_KEYS = ['body', 'response'];
const MAX_UNWRAP_DEPTH = 3;

/** The first code alias holding a numeric code (`Status: "error"` must not hide `Code: 1011`). */
function codeOf(obj: JsonObject, aliases: readonly string[]): number | undefined {
  for (const alias of aliases) {
    const code = parseExceptionCode(getLoose(obj, [alias]));
    if (code !== undefined) return code;
  }
  return undefined;
}

/** Coerces `2020`, `"2020"`, `" 2020 "` to 2020; anything else to undefined. */
export function parseExceptionCode(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : undefined;
  if (typeof value === 'string' && /^\s*\d{1,6}\s*$/.test(value)) return Number(value);
  return undefined;
}

function optionalText(value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * Whether an object is shaped like an exception: a numeric code under a known alias, or a message
 * together with a severity or data member. Objects carrying a report are never exceptions.
 */
export function looksLikeException(value: unknown): value is JsonObject {
  if (!isJsonObject(value) || getLoose(value, ['report_header', 'report_items']) !== undefined) return false;
  if (codeOf(value, STRONG_CODE_KEYS) !== undefined) return true;
  if (typeof getLoose(value, MESSAGE_KEYS) !== 'string') return false;
  // `Status` alone is too common in wrappers (`{status: 200, body}`) to count without a message.
  return (
    codeOf(value, CODE_KEYS) !== undefined ||
    getLoose(value, SEVERITY_KEYS) !== undefined ||
    getLoose(value, DATA_KEYS) !== undefined
  );
}

/** Normalises one exception-shaped object; returns undefined for anything else. */
export function toSushiException(value: unknown): SushiException | undefined {
  if (!looksLikeException(value)) return undefined;
  const severity = optionalText(getLoose(value, SEVERITY_KEYS));
  const data = optionalText(getLoose(value, DATA_KEYS));
  const helpUrl = optionalText(getLoose(value, HELP_URL_KEYS));
  return {
    code: codeOf(value, CODE_KEYS),
    message: optionalText(getLoose(value, MESSAGE_KEYS)) ?? '',
    ...(severity !== undefined && { severity }),
    ...(data !== undefined && { data }),
    ...(helpUrl !== undefined && { helpUrl }),
    raw: value,
  };
}

/** A body that is a JSON string holding JSON (a "stringified" body) is parsed once. */
export function unwrapStringifiedJson(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const text = value.replace(/^\uFEFF/, '').trim();
  if (!/^[[{]/.test(text)) return value;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return value;
  }
}

function exceptionsIn(value: unknown, placement: ExceptionPlacement): FoundException[] {
  const candidates = Array.isArray(value) ? value : [value];
  return candidates.flatMap((candidate) => {
    const exception = toSushiException(unwrapStringifiedJson(candidate));
    return exception ? [{ ...exception, placement }] : [];
  });
}

function exceptionsInReportObject(body: JsonObject): FoundException[] {
  const header = getLoose(body, ['report_header']);
  const found: FoundException[] = [];
  if (isJsonObject(header)) {
    found.push(...exceptionsIn(getLoose(header, ['exceptions']), 'header_exceptions'));
    found.push(...exceptionsIn(getLoose(header, ['exception']), 'header_exception'));
  }
  found.push(...exceptionsIn(getLoose(body, ['exceptions']), 'root_exceptions'));
  found.push(...exceptionsIn(getLoose(body, ['exception']), 'root_exception'));
  return found;
}

function findWithPlacement(body: unknown, depth: number): FoundException[] {
  const value = unwrapStringifiedJson(body);
  if (Array.isArray(value)) return exceptionsIn(value, 'array');
  if (!isJsonObject(value)) return [];
  const naked = toSushiException(value);
  if (naked) return [{ ...naked, placement: 'naked_object' }];
  const found = exceptionsInReportObject(value);
  if (found.length > 0 || depth >= MAX_UNWRAP_DEPTH) return found;
  return unwrapCandidates(value).flatMap((inner) =>
    findWithPlacement(inner, depth + 1).map((e) => ({ ...e, placement: 'wrapped' as const })),
  );
}

/** Members of a `{body, response}`-style wrapper that has no COUNTER members of its own. */
function unwrapCandidates(value: JsonObject): unknown[] {
  if (getLoose(value, ['report_header', 'report_items']) !== undefined) return [];
  return WRAPPER_KEYS.map((key) => getLoose(value, [key])).filter((inner) => inner !== undefined);
}

function dedupe<T extends SushiException>(exceptions: T[]): T[] {
  const seen = new Set<string>();
  return exceptions.filter((e) => {
    const key = `${e.code ?? ''}\u0000${e.message}\u0000${e.data ?? ''}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Finds every exception in a parsed body (or its stringified form): Report_Header.Exceptions,
 * Report_Header.Exception, root Exceptions/Exception, a naked error object, an array of error objects,
 * and the same inside `{body, response}` wrappers. Duplicates (same code, message and data) are merged.
 */
export function findExceptionsWithPlacement(body: unknown): FoundException[] {
  return dedupe(findWithPlacement(body, 0));
}

export function findExceptions(body: unknown): SushiException[] {
  return findExceptionsWithPlacement(body).map(({ placement: _placement, ...exception }) => exception);
}

// ---------------------------------------------------------------------------------------------
// Classification by code

/** counter-notes §2.5 classes, refined where the handling differs. */
export type ExceptionClass =
  | 'warning' // 0, 1–999, 3050, 3060–3063, 3070 (+ R5.0.1 3071, 3080): keep data
  | 'service_unavailable' // 1000
  | 'service_busy' // 1010
  | 'queued' // 1011
  | 'rate_limited' // 1020
  | 'request_error' // 1030, 3020
  | 'credentials' // 2000, 2010, 2020, 2030
  | 'global_reports_unsupported' // 2011
  | 'report_unsupported' // 3000
  | 'release_unsupported' // 3010
  | 'no_usage' // 3030
  | 'not_ready' // 3031
  | 'no_longer_available' // 3032
  | 'partial_data' // 3040
  | 'unknown';

const CLASS_BY_CODE: ReadonlyMap<number, ExceptionClass> = new Map([
  [1000, 'service_unavailable'],
  [1010, 'service_busy'],
  [1011, 'queued'],
  [1020, 'rate_limited'],
  [1030, 'request_error'],
  [2000, 'credentials'],
  [2010, 'credentials'],
  [2011, 'global_reports_unsupported'],
  [2020, 'credentials'],
  [2030, 'credentials'],
  [3000, 'report_unsupported'],
  [3010, 'release_unsupported'],
  [3020, 'request_error'],
  [3030, 'no_usage'],
  [3031, 'not_ready'],
  [3032, 'no_longer_available'],
  [3040, 'partial_data'],
]);

const WARNING_CODES: ReadonlySet<number> = new Set([3050, 3060, 3061, 3062, 3063, 3070, 3071, 3080]);

/** Informational codes that never prevent storing data: 0, 1–999, 3050, 3060–3063, 3070 (+3071, 3080). */
export function isWarningCode(code: number | undefined): boolean {
  if (code === undefined) return false;
  return (code >= 0 && code <= 999) || WARNING_CODES.has(code);
}

export function classifyCode(code: number | undefined): ExceptionClass {
  if (isWarningCode(code)) return 'warning';
  return (code !== undefined && CLASS_BY_CODE.get(code)) || 'unknown';
}

/** True when there is at least one exception and every one of them is informational. */
export function isWarningOnly(exceptions: readonly SushiException[]): boolean {
  return exceptions.length > 0 && exceptions.every((e) => isWarningCode(e.code));
}

/** Exceptions that say the request failed or the data is not (fully) there. */
export function actionableExceptions(exceptions: readonly SushiException[]): SushiException[] {
  return exceptions.filter((e) => !isWarningCode(e.code));
}

/**
 * The exception that decides the outcome: the lowest non-informational code (the CoP asks servers
 * to send the lowest code when several apply); exceptions without a code come last.
 */
export function primaryException(exceptions: readonly SushiException[]): SushiException | undefined {
  const actionable = actionableExceptions(exceptions);
  const pool = actionable.length > 0 ? actionable : exceptions;
  return [...pool].sort(
    (a, b) => (a.code ?? Number.MAX_SAFE_INTEGER) - (b.code ?? Number.MAX_SAFE_INTEGER),
  )[0];
}

/** folio-contract §8.1 handling classes of the harvester. */
export type HarvestErrorClass =
  'rate_limit' | 'transient' | 'not_yet_available' | 'informational' | 'configuration' | 'no_usage' | 'other';

/**
 * folio-contract §8.1 class of one code. `informational` holds only when the response carries report items;
 * the caller passes that fact, because without data a warning is not a success.
 */
export function harvestErrorClass(code: number | undefined, hasReportItems: boolean): HarvestErrorClass {
  const cls = classifyCode(code);
  switch (cls) {
    case 'rate_limited':
      return 'rate_limit';
    case 'service_unavailable':
    case 'service_busy':
    case 'queued':
      return 'transient';
    case 'not_ready':
      return 'not_yet_available';
    case 'warning':
    case 'partial_data':
      return hasReportItems ? 'informational' : 'other';
    case 'request_error':
      return code === 1030 ? 'configuration' : 'other';
    case 'credentials':
    case 'global_reports_unsupported':
    case 'report_unsupported':
    case 'release_unsupported':
      return 'configuration';
    case 'no_usage':
    case 'no_longer_available':
      return 'no_usage';
    case 'unknown':
      return 'other';
  }
}

// ---------------------------------------------------------------------------------------------
// failedReason text (folio-contract §7.9, §8.1)

/**
 * `Report not valid: [<exceptions as compact JSON>]`. When a vendor wrote a code as a string the
 * FOLIO code regex cannot see it, so ` {"Code": <n>}` is appended for the primary code (folio-contract §8.1).
 */
export function failedReasonForHeaderExceptions(exceptions: readonly SushiException[]): string {
  const text = `Report not valid: ${JSON.stringify(exceptions.map((e) => e.raw))}`;
  return withExtractableCode(text, exceptions);
}

/** A body that is an error object or array is stored unchanged (cs50 convention), plus the code suffix. */
export function failedReasonForErrorBody(bodyText: string, exceptions: readonly SushiException[]): string {
  return withExtractableCode(bodyText, exceptions);
}

const FOLIO_CODE_RE = /(?:Number=|"Code": ?)([0-9]{1,4})/;

function withExtractableCode(text: string, exceptions: readonly SushiException[]): string {
  const code = primaryException(exceptions)?.code;
  if (code === undefined || FOLIO_CODE_RE.test(text)) return text;
  return `${text} {"Code": ${code}}`;
}
