import { CqlError } from './errors.ts';

export type TokenKind = 'word' | 'string' | 'lparen' | 'rparen' | 'slash' | 'symbol' | 'eof';

export interface Token {
  readonly kind: TokenKind;
  /** For strings: the content between the quotes, escapes kept. Otherwise the source text. */
  readonly text: string;
  /** The source text of the token, including quotes. */
  readonly raw: string;
  /** 1-based position of the first character. */
  readonly position: number;
}

const SYMBOLS = ['==', '<>', '<=', '>=', '=', '<', '>'];
const NON_WORD = /[\s()=<>"/]/u;

/** Splits a CQL query into tokens; the last token is always `eof`. */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (/\s/u.test(ch)) {
      i++;
    } else if (ch === '(' || ch === ')' || ch === '/') {
      const kind = ch === '(' ? 'lparen' : ch === ')' ? 'rparen' : 'slash';
      tokens.push({ kind, text: ch, raw: ch, position: i + 1 });
      i++;
    } else if (ch === '"') {
      const token = readString(text, i);
      tokens.push(token);
      i += token.raw.length;
    } else {
      const symbol = SYMBOLS.find((s) => text.startsWith(s, i));
      if (symbol !== undefined) {
        tokens.push({ kind: 'symbol', text: symbol, raw: symbol, position: i + 1 });
        i += symbol.length;
      } else {
        const start = i;
        while (i < text.length && !NON_WORD.test(text[i])) i++;
        const word = text.slice(start, i);
        tokens.push({ kind: 'word', text: word, raw: word, position: start + 1 });
      }
    }
  }
  tokens.push({ kind: 'eof', text: '', raw: '', position: text.length + 1 });
  return tokens;
}

function readString(text: string, start: number): Token {
  let i = start + 1;
  while (i < text.length && text[i] !== '"') {
    // A backslash protects the next character (so `\"` does not end the string); both are kept.
    i += text[i] === '\\' ? 2 : 1;
  }
  if (i >= text.length) {
    throw new CqlError(start + 1, 'unterminated quoted string', text.slice(start, start + 20));
  }
  return {
    kind: 'string',
    text: text.slice(start + 1, i),
    raw: text.slice(start, i + 1),
    position: start + 1,
  };
}
