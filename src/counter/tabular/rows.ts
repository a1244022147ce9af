/**
 * Rows of an uploaded tabular file, one at a time: tab-separated (lines split at tabs), comma-separated
 * (RFC 4180 quotes, also across chunk borders) and xlsx (the first worksheet, read by exceljs's
 * streaming reader). Cells are strings; an xlsx number becomes its decimal text.
 *
 * The file is the harvester's copy of the upload in its temporary directory: a file-system error of
 * reading it is thrown as a LocalStorageError (../local-storage.ts), not as a fault of the file.
 */
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type ExcelJS from 'exceljs';
import { onLocalStorage, readingLocalStorage } from '../local-storage.ts';
import { TabularReadError } from './read.ts';
import { ZipParts, type ZipPart } from './zip-parts.ts';

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

/** The parts exceljs's streaming reader reads, by the names it knows them by. */
const WORKBOOK_RELS = 'xl/_rels/workbook.xml.rels';
const WORKBOOK = 'xl/workbook.xml';
const SHARED_STRINGS = 'xl/sharedStrings.xml';
const STYLES = 'xl/styles.xml';
const WORKSHEET = /^xl\/worksheets\/sheet(\d+)\.xml$/;
const WORKBOOK_PARTS = new Set([WORKBOOK_RELS, WORKBOOK, SHARED_STRINGS, STYLES]);

/**
 * The steps of exceljs 4.4.0's streaming WorkbookReader that each read one part of the workbook (its
 * `parse` runs them as the zip's stream brings the parts). They are not in exceljs's types.
 */
interface ReaderSteps {
  _parseRels(part: Readable): Promise<void>;
  _parseWorkbook(part: Readable): Promise<void>;
  _parseSharedStrings(part: Readable): AsyncIterable<unknown>;
  _parseStyles(part: Readable): Promise<void>;
  _parseWorksheet(
    part: AsyncIterable<Buffer>,
    sheetNo: string,
  ): Iterator<{ eventType: string; value: AsyncIterable<ExcelJS.Row> }>;
  /** The workbook part's content, once `_parseWorkbook` has read it to its end tag. */
  model?: unknown;
}

const STEPS = ['_parseRels', '_parseWorkbook', '_parseSharedStrings', '_parseStyles', '_parseWorksheet'];

function readerSteps(reader: object): ReaderSteps {
  for (const step of STEPS)
    if (typeof (reader as Record<string, unknown>)[step] !== 'function')
      throw new Error(
        `exceljs's WorkbookReader has no ${step} (xlsx files are read with the steps of exceljs 4.4.0)`,
      );
  return reader as ReaderSteps;
}

/**
 * The rows of the first worksheet (the first in the zip), streamed: shared strings are kept, the cells
 * are not.
 *
 * exceljs's own streaming read (WorkbookReader.parse) takes the parts as the zip's stream brings them
 * and needs the workbook part before it builds a worksheet's reader. It fails on valid workbooks
 * ("Cannot read properties of undefined (reading 'sheets')") when a worksheet comes before the
 * workbook part with the shared strings before it, and now and then on the order exceljs itself
 * writes, when the zip's stream ends with parts still queued in it and exceljs never sees them
 * (docs/decisions.md, "exceljs's streaming reader given the parts in the order it needs"). So the
 * parts are not taken from that stream: the file on disk is read by position (./zip-parts.ts), and
 * exceljs's steps are run on the parts in the order they need: the workbook's relationships, the
 * workbook, the shared strings and the styles, then the worksheet. The order of the parts in the zip
 * does not matter, and no worksheet is copied to a temporary file.
 */
export async function* xlsxRows(path: string): AsyncGenerator<string[]> {
  // Loaded on the first xlsx file: exceljs is large (about 26 MB resident) and most services never read one.
  const { default: excel } = await import('exceljs');
  const zip = await ZipParts.open(path, (name) => WORKBOOK_PARTS.has(name) || WORKSHEET.test(name));
  const reading: Readable[] = [];
  const read = (part: ZipPart): Readable => {
    const stream = zip.read(part);
    reading.push(stream);
    return stream;
  };
  try {
    const sheet = zip.parts.find((part) => WORKSHEET.test(part.name));
    if (sheet === undefined) return;
    // exceljs's reader is given the file only because its constructor asks for an input: its own
    // reading (parse, read, its iterator) is never started.
    const reader = new excel.stream.xlsx.WorkbookReader(path, {
      worksheets: 'emit',
      sharedStrings: 'cache',
      hyperlinks: 'ignore',
      // Styles are read so that date cells (month headings, the date run) come as dates, not serial numbers.
      styles: 'cache',
      entries: 'ignore',
    });
    const steps = readerSteps(reader);
    const rels = zip.part(WORKBOOK_RELS);
    if (rels) await steps._parseRels(read(rels));
    const workbook = zip.part(WORKBOOK);
    if (workbook === undefined) throw new Error(`the workbook has no ${WORKBOOK}`);
    await steps._parseWorkbook(read(workbook));
    if (steps.model == null) throw new Error(`${WORKBOOK} holds no workbook that exceljs reads`);
    const sharedStrings = zip.part(SHARED_STRINGS);
    // Cached by the reader (sharedStrings: 'cache'): the step yields nothing.
    if (sharedStrings) for await (const _ of steps._parseSharedStrings(read(sharedStrings))) continue;
    const styles = zip.part(STYLES);
    if (styles) await steps._parseStyles(read(styles));
    const sheetNo = WORKSHEET.exec(sheet.name)?.[1] ?? '1';
    const emitted = steps._parseWorksheet(read(sheet), sheetNo).next();
    if (emitted.done) return;
    let next = 1;
    for await (const row of emitted.value.value) {
      // Rows left out of the sheet (empty rows) still count.
      for (; next < row.number; next += 1) yield [];
      next = row.number + 1;
      const values = row.values as unknown[];
      const cells: string[] = [];
      for (let i = 1; i < values.length; i += 1) cells.push(cellText(values[i]));
      yield cells;
    }
  } finally {
    for (const stream of reading) stream.destroy();
    // The file was only read: closing it cannot lose anything.
    await zip.close().catch(() => undefined);
  }
}
