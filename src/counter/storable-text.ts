/**
 * Text a provider sends that PostgreSQL cannot store: JSON allows the escapes `\u0000` (NUL) and a lone
 * UTF-16 surrogate (`\ud800` without its pair), but neither `text` nor `jsonb` accepts them, so one such
 * character in one item would make a whole month unstorable. A month is data worth keeping: such
 * characters are replaced by U+FFFD (the Unicode replacement character) and counted, so that the month
 * is stored and carries a `text_replaced` diagnostic (docs/counter-validation.md). Requests that send such
 * text to the API are refused instead (src/model/input-checks.ts): a client can fix its input.
 */
import { Buffer } from 'node:buffer';

/** Any escape that may need a look: `\u0000` or a surrogate escape (cheap pre-check). */
const SUSPECT_ESCAPE = /\\u(?:0000|[dD][89a-fA-F])/;
/** A character that cannot be stored, as it appears in a string that is not JSON-escaped. */
const UNSTORABLE_CHAR = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
/**
 * The escapes of a JSON text from left to right: a surrogate pair, a `\uXXXX`, or any other escape
 * (consumed whole, so that an escaped backslash followed by `u0000` stays text).
 */
const ESCAPE = /\\u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})|\\u([0-9a-fA-F]{4})|\\[^u]/g;

export interface StorableText {
  text: string;
  /** Characters replaced by U+FFFD. */
  replaced: number;
}

function unstorableCode(hex: string): boolean {
  const code = Number.parseInt(hex, 16);
  return code === 0 || (code >= 0xd800 && code <= 0xdfff);
}

/** A JSON text with every escaped NUL and lone surrogate replaced by `\ufffd`. */
export function storableJsonText(json: string): StorableText {
  const hasRaw = UNSTORABLE_CHAR.test(json);
  UNSTORABLE_CHAR.lastIndex = 0;
  return replaceUnstorable(json, hasRaw);
}

/**
 * `storableJsonText` of a JSON text that holds no raw NUL and no lone surrogate, only perhaps escaped
 * ones: text `JSON.stringify` wrote, or text decoded from UTF-8 that `JSON.parse` accepted (a decoder
 * never yields a lone surrogate, and JSON allows no raw control character). Only the escapes are
 * looked at, which is most of the cost saved for a large report's items.
 */
export function storableEscapedJsonText(json: string): StorableText {
  return replaceUnstorable(json, false);
}

const BACKSLASH = 0x5c;
const LETTER_U = 0x75;
/** `\ufffd`: as long as any `\uXXXX` escape it replaces. */
const REPLACEMENT_ESCAPE = Buffer.from('\\ufffd');
const ESCAPE_START = Buffer.from('\\u');

/** The value of four hex digits at `at`, or -1. */
function hexAt(bytes: Uint8Array, at: number): number {
  let code = 0;
  for (let i = at; i < at + 4; i++) {
    const c = bytes[i];
    const digit =
      c >= 0x30 && c <= 0x39
        ? c - 0x30
        : c >= 0x61 && c <= 0x66
          ? c - 0x57
          : c >= 0x41 && c <= 0x46
            ? c - 0x37
            : -1;
    if (digit === -1) return -1;
    code = code * 16 + digit;
  }
  return code;
}

/**
 * `storableEscapedJsonText` on the UTF-8 bytes of such a JSON text, in place: every escaped NUL and
 * lone surrogate becomes `\ufffd` (of the same length, so nothing moves); returns how many. The bytes
 * must be valid UTF-8 holding no raw NUL (JSON text written by `JSON.stringify` or accepted by
 * `JSON.parse`, encoded from a string): a lone surrogate cannot be encoded, so only escapes are looked at.
 */
export function makeStorableEscapedJsonBytes(bytes: Buffer): number {
  if (bytes.indexOf(ESCAPE_START) === -1) return 0;
  let replaced = 0;
  for (let at = bytes.indexOf(BACKSLASH); at !== -1;) {
    if (bytes[at + 1] !== LETTER_U) {
      // Any other escape is two bytes (an escaped backslash followed by `u0000` stays text).
      at = bytes.indexOf(BACKSLASH, at + 2);
      continue;
    }
    const code = hexAt(bytes, at + 2);
    if (code >= 0xd800 && code <= 0xdbff && bytes[at + 6] === BACKSLASH && bytes[at + 7] === LETTER_U) {
      const low = hexAt(bytes, at + 8);
      if (low >= 0xdc00 && low <= 0xdfff) {
        at = bytes.indexOf(BACKSLASH, at + 12);
        continue;
      }
    }
    if (code === 0 || (code >= 0xd800 && code <= 0xdfff)) {
      REPLACEMENT_ESCAPE.copy(bytes, at);
      replaced++;
    }
    at = bytes.indexOf(BACKSLASH, at + (code === -1 ? 2 : 6));
  }
  return replaced;
}

function replaceUnstorable(json: string, hasRaw: boolean): StorableText {
  // Most texts hold no `\u` escape at all: a plain search says so several times faster than the
  // regular expression (a large month's chunk texts are looked at here).
  if (!hasRaw && (json.indexOf('\\u') === -1 || !SUSPECT_ESCAPE.test(json)))
    return { text: json, replaced: 0 };
  let replaced = 0;
  let text = json.replace(ESCAPE, (escape: string, _high?: string, _low?: string, single?: string) => {
    if (single === undefined || !unstorableCode(single)) return escape;
    replaced++;
    return '\\ufffd';
  });
  if (hasRaw) {
    text = text.replace(UNSTORABLE_CHAR, () => {
      replaced++;
      return '\ufffd';
    });
  }
  return { text, replaced };
}

/** Any NUL or UTF-16 surrogate (paired or not): what `mayHoldUnstorable` looks for. */
const NUL_OR_SURROGATE = /[\u0000\uD800-\uDFFF]/;

/**
 * Whether a string or member name of the JSON value (objects, arrays, strings, numbers, booleans, null)
 * holds a NUL or a surrogate, of which only lone surrogates are unstorable (`storableJsonText` decides).
 */
function mayHoldUnstorable(value: unknown): boolean {
  if (typeof value === 'string') return NUL_OR_SURROGATE.test(value);
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) {
    for (const element of value) if (mayHoldUnstorable(element)) return true;
    return false;
  }
  for (const key in value) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
    if (NUL_OR_SURROGATE.test(key) || mayHoldUnstorable((value as Record<string, unknown>)[key])) return true;
  }
  return false;
}

/**
 * A parsed JSON value with every string and member name made storable: the value itself when nothing
 * needs replacing (the common case: one look at its JSON text), otherwise a copy.
 */
export function storableValue<T>(value: T): { value: T; replaced: number } {
  // Most values hold no NUL and no surrogate at all: a walk over their strings says so without
  // writing the value's JSON text (the usage fields of every month are looked at here).
  if (!mayHoldUnstorable(value)) return { value, replaced: 0 };
  const json = JSON.stringify(value);
  if (json === undefined) return { value, replaced: 0 };
  const { text, replaced } = storableJsonText(json);
  return replaced === 0 ? { value, replaced } : { value: JSON.parse(text) as T, replaced };
}
