/**
 * Removes secrets from text before it reaches a log line, a job message, a failedReason or an error body:
 * credential query parameters, credential headers and JSON fields, and every known secret value in every
 * form a provider may echo it back in (see docs/hardening.md, "Secrets"):
 *
 * * raw, and NFC/NFD variants of non-ASCII values;
 * * URL-encoded, character by character: `%2B` or `%2b`, doubly encoded `%252B`, a space as `+`;
 * * JSON-escaped: `\"`, `\\`, `\/`, `\n`…, `\u002b`, also JSON inside JSON (up to three levels);
 * * XML/HTML-escaped: `&amp;`, `&lt;`, `&#43;`, `&#x2B;`, also doubly escaped `&amp;amp;`;
 * * base64 and base64url of the whole value.
 *
 * Each character of a value may come in any of these forms, so mixed encoders (PHP's `json_encode`, .NET's
 * HTML-safe JSON, `encodeURI`) are covered too. Letters and digits are matched as themselves only.
 *
 * Values of at least {@link MIN_EVERYWHERE_LENGTH} characters are removed wherever they occur, inside words
 * too. Shorter values (a 1-character key is legal) are removed where they stand as a token: not glued to a
 * letter or digit (a `%3D`, `\n` or `&amp;` in front counts as a separator). Removing them inside words would
 * turn `2022-01` into `2022-0***` for a key `1` and make every message unreadable; a provider echoes a key
 * as a value (`api_key=ab&`, `"ab"`, `<ID>ab</ID>`, `key ab is invalid`), which the token rule catches.
 */
const SECRET_PARAMS = [
  'api_key',
  'apikey',
  'requestor_id',
  'requestorid',
  'customer_id_secret',
  'token',
  'password',
];
const PARAM_RE = new RegExp(`([?&;](?:${SECRET_PARAMS.join('|')})=)([^&#\\s"'<>]*)`, 'gi');
const HEADER_RE = /\b(authorization|cookie|set-cookie|x-okapi-token)(\s*[:=]\s*)("?)([^"\r\n,}]*)/gi;
/**
 * `"apiKey": "…"` in a JSON body that echoes the request, or in a logged object (any length, also when
 * the value is unknown).
 */
const JSON_FIELD_RE =
  /("(?:api_?key|requestor_?id|customer_id_secret|token|password|authorization|cookie|x-okapi-token)"\s*:\s*")((?:[^"\\]|\\.)*)(")/gi;

/** Values shorter than this are removed as whole tokens only (see the module comment). */
export const MIN_EVERYWHERE_LENGTH = 4;

const MASK = '***';

function escapeRe(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}

/** `[aA]` for hex letters, so hex digits match in either case (no inline `i` flag before Node 23). */
function hexRe(hex: string): string {
  return [...hex].map((c) => (/[a-f]/i.test(c) ? `[${c.toLowerCase()}${c.toUpperCase()}]` : c)).join('');
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

/** A run of exactly one of `counts` backslashes (JSON escaping one, two, three levels deep). */
function backslashes(counts: number[]): string {
  return `(?:${counts.map((n) => `\\\\{${n}}`).join('|')})`;
}

const JSON_SHORT_ESCAPES: Record<string, string> = { '\b': 'b', '\f': 'f', '\n': 'n', '\r': 'r', '\t': 't' };
const XML_NAMES: Record<string, string> = { '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' };

/** Every form of one character (a code point) as a regular expression source. */
function charForms(ch: string): string {
  if (/^[A-Za-z0-9]$/.test(ch)) return ch;
  const forms: string[] = [];
  // JSON: `"` and `/` are `\"` at one level, `\\\"` at two, ...; `\` doubles at each level.
  if (ch === '"' || ch === '/') forms.push(`${backslashes([7, 3, 1])}${escapeRe(ch)}`);
  if (ch === '\\') forms.push(backslashes([8, 4, 2]));
  if (JSON_SHORT_ESCAPES[ch]) forms.push(`${backslashes([4, 2, 1])}${JSON_SHORT_ESCAPES[ch]}`);
  const units = [...Array(ch.length).keys()].map((i) => ch.charCodeAt(i));
  forms.push(units.map((u) => `${backslashes([4, 2, 1])}u${hexRe(hex(u, 4))}`).join(''));
  // URL: each UTF-8 byte percent-encoded, possibly twice; a space also as `+`.
  forms.push([...Buffer.from(ch, 'utf8')].map((b) => `%(?:25)*${hexRe(hex(b, 2).toUpperCase())}`).join(''));
  if (ch === ' ') forms.push('\\+');
  // XML/HTML: named, decimal and hex references; the `&` itself may be escaped again.
  const cp = ch.codePointAt(0) ?? 0;
  const refs = [`#0*${cp}`, `#[xX]0*${hexRe(cp.toString(16))}`];
  if (XML_NAMES[ch]) refs.unshift(XML_NAMES[ch]);
  forms.push(`(?:&|\\\\u0026)(?:amp;)*(?:${refs.join('|')});`);
  forms.push(escapeRe(ch));
  return `(?:${forms.join('|')})`;
}

/** The value as base64 and base64url without padding (padding optional, maybe URL-encoded). */
function base64Forms(value: string): { source: string; anchor: string }[] {
  const bytes = Buffer.from(value, 'utf8');
  const plain = bytes.toString('base64').replace(/=+$/, '');
  const url = bytes.toString('base64url');
  const pad = '(?:={1,2}|(?:%3[dD]){1,2})?';
  return [...new Set([plain, url])].map((b) => ({ source: `${escapeRe(b)}${pad}`, anchor: b }));
}

/** Something that is not a letter or digit, or an escape sequence, stands before a short secret. */
const TOKEN_START = '(?:(?<![\\p{L}\\p{N}])|(?<=%[0-9A-Fa-f]{2}|\\\\[bfnrt]|\\\\u[0-9A-Fa-f]{4}))';
const TOKEN_END = '(?![\\p{L}\\p{N}])';

interface SecretEntry {
  /** Regular expression source of every form of the value (token bounds when short). */
  source: string;
  /**
   * Strings of which at least one occurs in any text that contains the value in one of its forms: the
   * longest run of letters and digits (they are never encoded), and the base64 forms. Empty: always test.
   */
  anchors: string[];
}

const entryCache = new Map<string, SecretEntry>();

function longestAlnumRun(value: string): string {
  return (value.match(/[A-Za-z0-9]+/g) ?? []).reduce((a, b) => (b.length > a.length ? b : a), '');
}

/** One secret value, compiled to its forms (cached: the same values are used again and again). */
function secretEntry(value: string): SecretEntry {
  const cached = entryCache.get(value);
  if (cached) return cached;
  const variants = [...new Set([value, value.normalize('NFC'), value.normalize('NFD')])];
  const forms = variants.map((v) => [...v].map(charForms).join(''));
  const short = [...value].length < MIN_EVERYWHERE_LENGTH;
  const run = longestAlnumRun(value.normalize('NFC'));
  const anchors = run === '' ? [] : [run];
  if (!short) {
    const b64 = base64Forms(value);
    forms.push(...b64.map((b) => b.source));
    if (anchors.length > 0) anchors.push(...b64.map((b) => b.anchor));
  }
  const body = `(?:${forms.join('|')})`;
  const entry = { source: short ? `${TOKEN_START}${body}${TOKEN_END}` : body, anchors };
  if (entryCache.size > 10_000) entryCache.clear();
  entryCache.set(value, entry);
  return entry;
}

/**
 * A compiled set of secret values; build it once per set and reuse it. Only the values whose anchors occur
 * in a text go into the regular expression run over it, so a registry of thousands of values costs a
 * substring search per value, not a thousand-branch expression per character.
 */
export class SecretMatcher {
  private readonly entries: SecretEntry[];
  private readonly all: number[];
  private readonly compiled = new Map<string, RegExp>();

  constructor(values: Iterable<string | undefined | null>) {
    const unique = [...new Set([...values].filter((v): v is string => typeof v === 'string' && v !== ''))];
    // Longer values first: a value that contains another one is removed whole.
    unique.sort((a, b) => b.length - a.length);
    this.entries = unique.map(secretEntry);
    this.all = this.entries.map((_, i) => i);
  }

  /** Indexes (into `from`) of the entries whose anchors occur in the text. */
  private hits(text: string, from: readonly number[]): number[] {
    return from.filter((i) => {
      const anchors = this.entries[i].anchors;
      return anchors.length === 0 || anchors.some((a) => text.includes(a));
    });
  }

  private regexFor(hits: readonly number[]): RegExp | undefined {
    if (hits.length === 0) return undefined;
    const key = hits.join(',');
    let re = this.compiled.get(key);
    if (!re) {
      if (this.compiled.size >= 256) this.compiled.clear();
      re = new RegExp(hits.map((i) => this.entries[i].source).join('|'), 'gu');
      this.compiled.set(key, re);
    }
    return re;
  }

  private redactAmong(text: string, candidates: readonly number[]): string {
    let out = text
      .replace(PARAM_RE, `$1${MASK}`)
      .replace(HEADER_RE, `$1$2$3${MASK}`)
      .replace(JSON_FIELD_RE, `$1${MASK}$3`);
    const re = this.regexFor(this.hits(out, candidates));
    if (re) out = out.replace(re, MASK);
    return out;
  }

  /** The text with credential parameters, headers, JSON fields and every form of every value masked. */
  redact(text: string): string {
    return this.redactAmong(text, this.all);
  }

  /**
   * A JSON log line with credential fields masked at any depth and every string in it redacted as text;
   * numbers, names and the structure are kept, so the line stays valid JSON even when a short secret
   * looks like a number in it.
   */
  redactJsonLine(line: string): string {
    // Letters and digits are never escaped in JSON: an anchor missing from the line is missing from its strings.
    const candidates = this.hits(line, this.all);
    return line.replace(JSON_FIELD_RE, `$1${MASK}$3`).replace(/"(?:[^"\\]|\\.)*"/g, (literal) => {
      let text: string;
      try {
        text = literal.includes('\\') ? (JSON.parse(literal) as string) : literal.slice(1, -1);
      } catch {
        return this.redact(literal);
      }
      const clean = this.redactAmong(text, candidates);
      return clean === text ? literal : JSON.stringify(clean);
    });
  }
}

const matcherCache = new Map<string, SecretMatcher>();

/** A matcher for a set of values, shared between calls with the same set. */
export function secretMatcher(values: Iterable<string | undefined | null>): SecretMatcher {
  const list = [...new Set([...values].filter((v): v is string => typeof v === 'string' && v !== ''))];
  const key = list.sort().join('\u0000');
  let matcher = matcherCache.get(key);
  if (!matcher) {
    if (matcherCache.size >= 64) matcherCache.clear();
    matcher = new SecretMatcher(list);
    matcherCache.set(key, matcher);
  }
  return matcher;
}

export function redactSecrets(text: string, secrets: Iterable<string | undefined | null> = []): string {
  return secretMatcher(secrets).redact(text);
}
