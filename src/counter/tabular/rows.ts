/**
 * Rows of an uploaded tabular file, one at a time: tab-separated (lines split at tabs), comma-separated
 * (RFC 4180 quotes, also across chunk borders) and xlsx (the first worksheet, read by exceljs's
 * streaming reader). Cells are strings; an xlsx number becomes its decimal text.
 *
 * The file is the harvester's copy of the upload in its temporary directory, and exceljs copies the
 * worksheets it meets before the shared strings to temporary files of its own (kept in a directory of
 * the read's own, see xlsxRows): a file-system error of either is thrown as a LocalStorageError
 * (../local-storage.ts), not as a fault of the file.
 */
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import type ExcelJS from 'exceljs';
import {
  LocalStorageError,
  makeLocalDirectory,
  onLocalStorage,
  readingLocalStorage,
  removeLocal,
} from '../local-storage.ts';
import { TabularReadError } from './read.ts';
import { copiesIn } from './xlsx-copies.ts';

/** The longest row taken (characters): a longer one is no COUNTER row, and would fill memory. */
export const MAX_ROW_CHARS = 16 * 1024 * 1024;

function tooLong(row: number): TabularReadError {
  return new TabularReadError(
    `the row is longer than ${MAX_ROW_CHARS} characters without a line break: this is not a COUNTER tabular file`,
    row,
  );
}

const READ_BYTES = 256 * 1024;

/** The file's text in chunks; opening or reading it failing is a LocalStorageError. */
async function* textOf(path: string): AsyncGenerator<string> {
  const handle = await onLocalStorage(`reading ${path}`, () => open(path, 'r'));
  const stream = handle.createReadStream({ encoding: 'utf8', highWaterMark: READ_BYTES });
  yield* readingLocalStorage(`reading ${path}`, stream as AsyncIterable<string>);
}

/** Lines of a text stream (LF or CRLF), without their line ends. */
async function* lines(path: string): AsyncGenerator<string> {
  let rest = '';
  let row = 0;
  for await (const chunk of textOf(path)) {
    const text = rest + chunk;
    const parts = text.split('\n');
    rest = parts.pop() ?? '';
    if (rest.length > MAX_ROW_CHARS) throw tooLong(row + parts.length + 1);
    for (const line of parts) {
      row += 1;
      yield line.endsWith('\r') ? line.slice(0, -1) : line;
    }
  }
  if (rest !== '') yield rest.endsWith('\r') ? rest.slice(0, -1) : rest;
}

export async function* tsvRows(path: string): AsyncGenerator<string[]> {
  for await (const line of lines(path)) yield line.split('\t');
}

const CSV_SPECIAL = new Set([',', '"', '\n', '\r']);

/** RFC 4180: fields in double quotes may hold commas, quotes (doubled) and line breaks. */
export async function* csvRows(path: string): AsyncGenerator<string[]> {
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let afterQuote = false;
  let pendingCr = false;
  let rowNumber = 1;
  let rowChars = 0;
  for await (const text of textOf(path)) {
    rowChars += text.length;
    if (rowChars > MAX_ROW_CHARS) throw tooLong(rowNumber);
    for (let i = 0; i < text.length; i += 1) {
      const c = text[i];
      if (quoted) {
        // Characters are appended a run at a time, never one by one: one `+=` per character would
        // build a chain of millions of string pieces for a long field (hundreds of MB of heap).
        const close = text.indexOf('"', i);
        field += text.slice(i, close < 0 ? text.length : close);
        if (close < 0) break;
        quoted = false;
        afterQuote = true;
        i = close;
        continue;
      }
      if (c === '"') {
        if (afterQuote) field += '"';
        quoted = true;
        afterQuote = false;
        continue;
      }
      afterQuote = false;
      if (c === ',') {
        row.push(field);
        field = '';
      } else if (c === '\n') {
        row.push(field);
        yield row;
        row = [];
        field = '';
        pendingCr = false;
        rowNumber += 1;
        rowChars = text.length - i - 1;
      } else if (c === '\r') pendingCr = true;
      else {
        if (pendingCr) field += '\r';
        pendingCr = false;
        let end = i + 1;
        while (end < text.length && !CSV_SPECIAL.has(text[end])) end += 1;
        field += text.slice(i, end);
        i = end - 1;
      }
    }
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    yield row;
  }
}

function cellText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value instanceof Date) return value.toISOString().slice(0, 10);
  if (typeof value === 'object') {
    const v = value as { richText?: { text: string }[]; text?: unknown; result?: unknown };
    if (Array.isArray(v.richText)) return v.richText.map((r) => r.text).join('');
    if (v.text !== undefined) return cellText(v.text);
    if (v.result !== undefined) return cellText(v.result);
  }
  return '';
}

/** Whether `error` came from a system call (it names one: a file-system error, not a fault of the zip or XML). */
function isSystemError(error: unknown): boolean {
  return typeof (error as { syscall?: unknown } | null)?.syscall === 'string';
}

export interface XlsxOptions {
  /** Where the directory for exceljs's worksheet copies is made (default: the system's temporary directory). */
  tmpDir?: string;
}

/**
 * The rows of the first worksheet, streamed (shared strings are kept, the cells are not). exceljs's
 * worksheet copies go to a directory of this read's own (./xlsx-copies.ts), removed when the read ends:
 * read to the end, left early or failing.
 */
export async function* xlsxRows(path: string, options: XlsxOptions = {}): AsyncGenerator<string[]> {
  // Loaded on the first xlsx file: exceljs is large (about 26 MB resident) and most services never read one.
  const { default: excel } = await import('exceljs');
  const copies = await makeLocalDirectory(
    options.tmpDir ?? tmpdir(),
    'xlsx-',
    "a directory for exceljs's worksheet copies",
  );
  let failed = false;
  try {
    yield* firstSheetRows(excel, path, copies);
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    // A removal failing after the read failed is not thrown over the read's own error.
    await removeLocal(copies).catch((error: unknown) => {
      if (!failed) throw error;
    });
  }
}

async function* firstSheetRows(
  excel: typeof ExcelJS,
  path: string,
  copies: string,
): AsyncGenerator<string[]> {
  const handle = await onLocalStorage(`reading ${path}`, () => open(path, 'r'));
  // exceljs pipes its input into the unzipper, which never hears of an error of the input: a read that
  // fails is kept here and ends the input (the unzipper then finds the zip cut short), and is thrown.
  let readFailure: unknown;
  let streaming = false;
  async function* bytes(): AsyncGenerator<Buffer> {
    streaming = true;
    try {
      yield* handle.createReadStream({ highWaterMark: READ_BYTES }) as AsyncIterable<Buffer>;
    } catch (error) {
      readFailure = error;
    }
  }
  const input = Readable.from(bytes(), { objectMode: false });
  const reader = new excel.stream.xlsx.WorkbookReader(input, {
    worksheets: 'emit',
    sharedStrings: 'cache',
    hyperlinks: 'ignore',
    // Styles are read so that date cells (month headings, the date run) come as dates, not serial numbers.
    styles: 'cache',
    entries: 'ignore',
  });
  const sheets = reader[Symbol.asyncIterator]();
  try {
    // Only the reader's steps make copies (a worksheet's rows are read from its copy or the zip).
    const first = await copiesIn(copies, () => sheets.next());
    let next = 1;
    if (!first.done)
      for await (const row of first.value) {
        // Rows left out of the sheet (empty rows) still count.
        for (; next < row.number; next += 1) yield [];
        next = row.number + 1;
        const values = row.values as unknown[];
        const cells: string[] = [];
        for (let i = 1; i < values.length; i += 1) cells.push(cellText(values[i]));
        yield cells;
      }
  } catch (error) {
    if (readFailure !== undefined) throw new LocalStorageError(`reading ${path}`, readFailure);
    // The only system calls of exceljs's reader besides the input are those of its worksheet copies.
    if (isSystemError(error))
      throw new LocalStorageError(`copying a worksheet of ${path} to a temporary file`, error);
    throw error;
  } finally {
    await sheets.return(undefined).catch(() => undefined);
    input.destroy();
    // Once streamed, the handle is closed with its stream; else it is closed here.
    if (!streaming) await handle.close().catch(() => undefined);
  }
  if (readFailure !== undefined) throw new LocalStorageError(`reading ${path}`, readFailure);
}
