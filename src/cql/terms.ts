/**
 * Interpretation of CQL terms: backslash escapes, `*`/`?` masking (folio-contract §5.4) and word splitting (§5.5).
 * The same folding and splitting rules are implemented in SQL (sql-support.ts); keep both in step.
 */

/** One character of a term after escape processing. */
interface TermChar {
  readonly char: string;
  /** An unescaped `*` or `?`. */
  readonly mask: boolean;
}

function scanTerm(raw: string): TermChar[] {
  const chars: TermChar[] = [];
  const codePoints = Array.from(raw);
  for (let i = 0; i < codePoints.length; i++) {
    const ch = codePoints[i];
    if (ch === '\\' && i + 1 < codePoints.length) {
      chars.push({ char: codePoints[++i], mask: false });
    } else {
      chars.push({ char: ch, mask: ch === '*' || ch === '?' });
    }
  }
  return chars;
}

/** The literal text of a term: escapes resolved, `*` and `?` kept as characters. */
export function unescapeTerm(raw: string): string {
  return scanTerm(raw)
    .map((c) => c.char)
    .join('');
}

export interface MaskedTerm {
  /** The term as literal text (only meaningful without wildcards). */
  readonly literal: string;
  readonly hasWildcards: boolean;
  /** A LIKE pattern (escape character `\`): `*` → `%`, `?` → `_`, literal `%`, `_`, `\` escaped. */
  readonly likePattern: string;
  /** The literal prefix when the only wildcard is one trailing `*`, else null. */
  readonly prefix: string | null;
}

/** Interprets a term under `==` / `<>`: `*` any sequence, `?` one character, escapes literal. */
export function parseMaskedTerm(raw: string): MaskedTerm {
  const chars = scanTerm(raw);
  const masks = chars.filter((c) => c.mask);
  const literal = chars.map((c) => c.char).join('');
  const likePattern = chars
    .map((c) => {
      if (c.mask) return c.char === '*' ? '%' : '_';
      return c.char === '%' || c.char === '_' || c.char === '\\' ? '\\' + c.char : c.char;
    })
    .join('');
  const last = chars.at(-1);
  const isPrefix = masks.length === 1 && last !== undefined && last.mask && last.char === '*';
  return {
    literal,
    hasWildcards: masks.length > 0,
    likePattern,
    prefix: isPrefix ? literal.slice(0, -1) : null,
  };
}

/**
 * Lower-case, then NFD with combining diacritics (U+0300–U+036F) removed. Lower-cases code point by code
 * point, as PostgreSQL's lower() does (no context-dependent final sigma).
 */
export function foldText(text: string): string {
  return Array.from(text, (ch) => ch.toLowerCase())
    .join('')
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/gu, '');
}

// Letters, digits and spacing marks (PostgreSQL's [[:alnum:]] counts the latter); a `.` between ASCII digits joins.
const WORD = /[\p{L}\p{Nd}\p{Mc}]+(?:(?<=[0-9])\.(?=[0-9])[\p{L}\p{Nd}\p{Mc}]+)*/gu;

/** The words of a text (folio-contract §5.5), after folding. */
export function splitWords(text: string): string[] {
  return foldText(text).match(WORD) ?? [];
}

export interface SubTerm {
  readonly words: readonly string[];
  /** The sub-term ended in an unescaped `*`: its last word is a prefix. */
  readonly prefix: boolean;
}

export interface WordTerm {
  readonly subTerms: readonly SubTerm[];
  /** The term contained a lone `*` (which matches everything when nothing else is left). */
  readonly hasLoneStar: boolean;
}

/** Interprets a term under `=`, `adj`, `all`, `any`: sub-terms split at spaces, each split into words. */
export function parseWordTerm(raw: string): WordTerm {
  const subTerms: SubTerm[] = [];
  let hasLoneStar = false;
  for (const part of raw.split(/\s+/u)) {
    if (part === '') continue;
    if (part === '*') {
      hasLoneStar = true;
      continue;
    }
    const chars = scanTerm(part);
    const last = chars.at(-1);
    const prefix = last !== undefined && last.mask && last.char === '*';
    const text = (prefix ? chars.slice(0, -1) : chars).map((c) => c.char).join('');
    const words = splitWords(text);
    if (words.length > 0) subTerms.push({ words, prefix });
  }
  return { subTerms, hasLoneStar };
}

function escapeRegexWord(word: string): string {
  // Words hold letters, digits, marks and dots only; escape every non-alphanumeric to be safe.
  return word.replace(/[^\p{L}\p{N}\p{M}]/gu, '\\$&');
}

/**
 * A PostgreSQL regular expression matching the consecutive words of `subTerms` inside the word text
 * produced by harvester.cql_words (`' w1 w2 … '`).
 */
export function phraseRegex(subTerms: readonly SubTerm[]): string {
  const parts: string[] = [];
  subTerms.forEach((sub, s) => {
    sub.words.forEach((word, w) => {
      const isPrefix = sub.prefix && w === sub.words.length - 1;
      const isLast = s === subTerms.length - 1 && w === sub.words.length - 1;
      parts.push(escapeRegexWord(word) + (isPrefix && !isLast ? '[^ ]*' : ''));
    });
  });
  const lastPrefix = subTerms.at(-1)?.prefix ?? false;
  return ' ' + parts.join(' ') + (lastPrefix ? '' : ' ');
}

const NUMBER = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,4})?$/u;

/** The term as a number string for `/number`, or null if it is not numeric. */
export function numericTerm(raw: string): string | null {
  const text = unescapeTerm(raw).trim();
  return NUMBER.test(text) ? text : null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/iu;

export function isUuid(text: string): boolean {
  return UUID.test(text);
}
