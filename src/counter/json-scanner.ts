/**
 * A byte-level scanner over a JSON object body that cuts out the text of each root member value and of
 * each element of the streamed array member (`Report_Items`), across chunk borders, without parsing.
 * The streamed array may also sit in nested objects (a path such as `report` → `Report_Items`): the
 * objects on the path are entered, and their other members are cut out like root members.
 * It only tracks strings, escapes and bracket depth; every cut-out text is then given to JSON.parse,
 * which does the real validation. That keeps the per-item cost close to JSON.parse itself.
 */
import { normaliseKey } from './json.ts';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function isScalarEnd(c: number): boolean {
  return c === COMMA || c === CLOSE_OBJECT || c === CLOSE_ARRAY || isWhitespace(c);
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/**
 * A byte outside strings as `JSON.stringify` writes scalars: digits, `-`, and the letters of
 * true/false/null; an `e` right after a digit is an exponent (at a chunk start it counts as one).
 */
function isCompactScalarByte(buf: Buffer, i: number): boolean {
  const c = buf[i];
  if (isDigit(c) || c === 0x2d) return true;
  if (c === 0x65) return i > 0 && !isDigit(buf[i - 1]);
  return c >= 0x61 && c <= 0x7a;
}

export interface ScanSink {
  /**
   * A member other than an array under the streamed key or an object on the path to it (its value
   * text, whole); `parents` are the keys of the entered objects it is in ([] at the root).
   */
  member(key: string, valueText: string, parents: readonly string[]): void;
  /**
   * One element of the streamed array member, as JSON text. `colons` is the number of `:` outside
   * strings (the member count of all its objects) when the text is compact in the way
   * `JSON.stringify` writes it as far as bytes tell (no white space outside strings, no escapes, no
   * fraction, exponent or `+` in numbers), else -1. Whether it is exactly `JSON.stringify`'s text
   * also depends on the parsed value (see month-splitter.ts, `isStringifyText`).
   */
  element(text: string, colons: number): void;
  /** An object on the path is entered (`parents` ends with its key). */
  enter?(parents: readonly string[]): void;
  /** The streamed array opens (its elements follow). */
  arrayStart?(): void;
}

export interface ScanOptions {
  /** Compare keys exactly (JSON.parse semantics) instead of in any case with `_` ignored. */
  exactKeys?: boolean;
}

export class JsonScanError extends Error {
  override name = 'JsonScanError';
}

type State =
  | 'root'
  | 'keyOrEnd'
  | 'key'
  | 'colon'
  | 'value'
  | 'memberEnd'
  | 'nextKey'
  | 'elementOrEnd'
  | 'element'
  | 'elementEnd'
  | 'done';

/** Where the value being captured goes. */
type Target = 'member' | 'element';

/**
 * Push bytes with `write`, then call `end`. Errors are thrown as JsonScanError (structure) or whatever
 * the sink throws (JSON.parse SyntaxError of an element).
 */
export class JsonObjectScanner {
  private state: State = 'root';
  private key = '';
  private readonly keyPieces: Buffer[] = [];
  private target: Target = 'member';
  // Value capture: bracket depth, string and escape flags, and scalar mode (a number or literal).
  private depth = 0;
  private inString = false;
  private escaped = false;
  private scalar = false;
  /** The value being captured is compact so far (see ScanSink.element), and its `:` count. */
  private plain = true;
  private colons = 0;
  /** Parts of the value being captured that came in earlier chunks. */
  private pieces: Buffer[] = [];
  private capturing = false;
  /** Bytes before the current chunk, for error positions. */
  private offset = 0;
  // A key or value may start in an earlier chunk; these are the start positions in the current one.
  private keyStartIndex = 0;
  private valueStartIndex = 0;

  /** The keys of the objects on the path, then the key of the streamed array (normalised unless exact). */
  private readonly path: string[];
  private readonly exactKeys: boolean;
  /** Keys of the entered objects on the path. */
  private readonly parents: string[] = [];

  constructor(
    private readonly sink: ScanSink,
    /**
     * The root key whose array value is streamed element by element (any case, `_` ignored), or the
     * path of keys to it through nested objects.
     */
    streamedKey: string | readonly string[],
    options: ScanOptions = {},
  ) {
    this.exactKeys = options.exactKeys === true;
    const keys = typeof streamedKey === 'string' ? [streamedKey] : [...streamedKey];
    this.path = this.exactKeys ? keys : keys.map(normaliseKey);
  }

  /** Whether the current key is the path's key at the current depth. */
  private keyOnPath(): boolean {
    const wanted = this.path[this.parents.length];
    if (wanted === undefined) return false;
    return (this.exactKeys ? this.key : normaliseKey(this.key)) === wanted;
  }

  /** A closing brace of an object: the root ends the input, an entered one goes back to its parent. */
  private closeObject(): void {
    if (this.parents.length === 0) this.state = 'done';
    else {
      this.parents.pop();
      this.state = 'memberEnd';
    }
  }

  write(chunk: Uint8Array): void {
    const buf = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let i = 0;
    while (i < buf.length) i = this.step(buf, i);
    if (this.state === 'key') this.keyPieces.push(Buffer.from(buf.subarray(this.keyStartIndex)));
    this.offset += buf.length;
    this.keyStartIndex = 0;
    this.valueStartIndex = 0;
  }

  /** A root object is complete only after its closing brace, so anything else is truncated input. */
  end(): void {
    if (this.state !== 'done') throw new JsonScanError('Unexpected end of JSON input');
  }

  private step(buf: Buffer, i: number): number {
    if (this.capturing) return this.capture(buf, i);
    const c = buf[i];
    switch (this.state) {
      case 'key':
        return this.scanKey(buf, i);
      case 'element':
      case 'value':
        return this.beginValue(buf, i);
      case 'elementOrEnd':
        if (isWhitespace(c)) return i + 1;
        if (c === CLOSE_ARRAY) {
          this.state = 'memberEnd';
          return i + 1;
        }
        this.state = 'element';
        return this.beginValue(buf, i);
      default:
        if (isWhitespace(c)) return i + 1;
        this.structural(c, i);
        return i + 1;
    }
  }

  private structural(c: number, i: number): void {
    switch (this.state) {
      case 'root':
        return this.expect(c === OPEN_OBJECT, c, () => (this.state = 'keyOrEnd'));
      case 'keyOrEnd':
        if (c === CLOSE_OBJECT) return this.closeObject();
        return this.expect(c === QUOTE, c, () => this.openKey(i));
      case 'nextKey':
        return this.expect(c === QUOTE, c, () => this.openKey(i));
      case 'colon':
        return this.expect(c === COLON, c, () => (this.state = 'value'));
      case 'memberEnd':
        if (c === CLOSE_OBJECT) return this.closeObject();
        return this.expect(c === COMMA, c, () => (this.state = 'nextKey'));
      case 'elementEnd':
        if (c === CLOSE_ARRAY) return void (this.state = 'memberEnd');
        return this.expect(c === COMMA, c, () => (this.state = 'element'));
      default:
        return this.unexpected(c);
    }
  }

  private expect(ok: boolean, c: number, then: () => void): void {
    if (!ok) this.unexpected(c);
    then();
  }

  private unexpected(c: number): never {
    throw new JsonScanError(
      `Unexpected character ${JSON.stringify(String.fromCharCode(c))} at position ${this.offset}`,
    );
  }

  private openKey(i: number): void {
    this.state = 'key';
    this.keyStartIndex = i + 1;
    this.escaped = false;
  }

  private scanKey(buf: Buffer, i: number): number {
    for (; i < buf.length; i++) {
      const c = buf[i];
      if (this.escaped) this.escaped = false;
      else if (c === BACKSLASH) this.escaped = true;
      else if (c === QUOTE) {
        const raw = Buffer.concat([...this.keyPieces, buf.subarray(this.keyStartIndex, i + 1)]);
        this.keyPieces.length = 0;
        this.key = JSON.parse('"' + raw.toString('utf8')) as string;
        this.state = 'colon';
        return i + 1;
      }
    }
    return i;
  }

  /** At the first byte of a member value or array element (after whitespace). */
  private beginValue(buf: Buffer, i: number): number {
    const c = buf[i];
    if (isWhitespace(c)) return i + 1;
    if (this.state === 'element' && c === CLOSE_ARRAY) return this.unexpected(c); // `[1,]`
    if (this.state === 'value' && (c === OPEN_ARRAY || c === OPEN_OBJECT) && this.keyOnPath()) {
      const last = this.parents.length === this.path.length - 1;
      if (last && c === OPEN_ARRAY) {
        this.state = 'elementOrEnd';
        this.target = 'element';
        this.sink.arrayStart?.();
        return i + 1;
      }
      if (!last && c === OPEN_OBJECT) {
        this.parents.push(this.key);
        this.state = 'keyOrEnd';
        this.sink.enter?.(this.parents);
        return i + 1;
      }
    }
    if (this.state === 'value') this.target = 'member';
    this.capturing = true;
    this.valueStartIndex = i;
    this.depth = 0;
    this.inString = false;
    this.escaped = false;
    this.scalar = c !== OPEN_OBJECT && c !== OPEN_ARRAY && c !== QUOTE;
    this.plain = !this.scalar;
    this.colons = 0;
    return this.capture(buf, i);
  }

  /**
   * The hot loop: finds the end of the value being captured. Inside a string only `"` and `\\` matter,
   * so string contents (most of an item's bytes) are skipped by a loop that tests just those two.
   */
  private capture(buf: Buffer, i: number): number {
    const n = buf.length;
    if (this.scalar) {
      while (i < n && !isScalarEnd(buf[i])) i++;
      if (i < n) this.finishValue(buf, this.valueStartIndex, i);
      else this.keepPiece(buf);
      return i;
    }
    let depth = this.depth;
    let inString = this.inString;
    let escaped = this.escaped;
    let plain = this.plain;
    let colons = this.colons;
    let done = false;
    while (i < n) {
      if (inString) {
        if (escaped) {
          escaped = false;
          i++;
          continue;
        }
        let c = buf[i];
        while (c !== QUOTE && c !== BACKSLASH) {
          if (++i === n) break;
          c = buf[i];
        }
        if (i === n) break;
        i++;
        if (c === BACKSLASH) {
          escaped = true;
          plain = false;
        } else {
          inString = false;
          if (depth === 0) {
            done = true;
            break;
          }
        }
        continue;
      }
      const c = buf[i++];
      if (c === QUOTE) inString = true;
      else if (c === OPEN_OBJECT || c === OPEN_ARRAY) depth++;
      else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
        if (--depth === 0) {
          done = true;
          break;
        }
      } else if (c === COLON) colons++;
      else if (c !== COMMA && plain && !isCompactScalarByte(buf, i - 1)) plain = false;
    }
    this.depth = depth;
    this.inString = inString;
    this.escaped = escaped;
    this.plain = plain;
    this.colons = colons;
    if (done) {
      this.finishValue(buf, this.valueStartIndex, i);
      return i;
    }
    this.keepPiece(buf);
    return n;
  }

  private keepPiece(buf: Buffer): void {
    this.pieces.push(Buffer.from(buf.subarray(this.valueStartIndex)));
    this.valueStartIndex = buf.length;
  }

  private finishValue(buf: Buffer, start: number, end: number): void {
    let text: string;
    if (this.pieces.length === 0) text = buf.toString('utf8', start, end);
    else {
      text = Buffer.concat([...this.pieces, buf.subarray(start, end)]).toString('utf8');
      this.pieces = [];
    }
    this.capturing = false;
    if (this.target === 'element') {
      this.state = 'elementEnd';
      this.sink.element(text, this.plain ? this.colons : -1);
    } else {
      this.state = 'memberEnd';
      this.sink.member(this.key, text, this.parents);
    }
  }
}
