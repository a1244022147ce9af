/**
 * xlsx reads (xlsxRows, and uploads through prepareUpload) of real workbooks: written by exceljs, and
 * the same parts laid out again in other valid ways. Whatever the order of the parts in the zip, the
 * way they are packed, and however slow the temporary directory is, a read gives exactly the rows of
 * the file, and it writes nothing to the temporary directory.
 *
 * The layouts and the slow temporary directory are the cases in which exceljs's own streaming read
 * (WorkbookReader.parse, which the harvester used before) failed on valid files (docs/decisions.md,
 * "exceljs's streaming reader given the parts in the order it needs"), each deterministically:
 * - a worksheet after the shared strings but before the workbook part: "Cannot read properties of
 *   undefined (reading 'sheets')" at once;
 * - exceljs's own order (the worksheet first, copied to a temporary file; the workbook part last),
 *   the copy slow to open: the zip's stream ended while the parts after the worksheet were still
 *   queued in it, and exceljs, never seeing the workbook part, failed the same way (the failure CI saw
 *   now and then, when the copy happened to be slower than the rest of the zip);
 * - Excel's order (the workbook part first, the shared strings after the worksheet), the copy slow to
 *   open: the shared strings were lost the same way, and every text cell came back empty.
 * The system temporary directory (TMPDIR) is a directory of this test's own, so that what other
 * processes do there does not count.
 */
import assert from 'node:assert/strict';
import fs, { readFileSync } from 'node:fs';
import fsp, { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it, mock } from 'node:test';
import { LocalStorageError } from '../../../src/counter/index.ts';
import { xlsxRows } from '../../../src/counter/tabular/rows.ts';
import { prepareUpload, UploadError } from '../../../src/harvest/file-upload.ts';
import { FIXTURES } from '../../helpers/sushi.ts';
import { useOwnTmpDir, type OwnTmpDir } from '../../helpers/tmp-dir.ts';
import { tsvAsXlsx } from '../../helpers/upload.ts';
import { partsOf, reorder, writeZip, type ZipLayout } from '../../helpers/zip.ts';

const TR_TSV = readFileSync(join(FIXTURES, 'r51', 'TR_sample_r51.tsv'), 'utf8');
const JR1_TSV = readFileSync(join(FIXTURES, 'r4', 'JR1.tsv'), 'utf8');

/** A row without its empty cells at the end (a worksheet does not keep them). */
function trimmed(row: string[]): string[] {
  let end = row.length;
  while (end > 0 && row[end - 1] === '') end -= 1;
  return row.slice(0, end);
}

/** The rows tsvAsXlsx puts in its worksheet: short whole numbers become numbers, read back as text. */
function expectedRows(tsv: string): string[][] {
  return tsv
    .replace(/^\uFEFF/, '')
    .split('\n')
    .slice(0, -1)
    .map((line) =>
      trimmed(line.split('\t').map((c) => (/^\d+$/.test(c) && c.length < 10 ? String(Number(c)) : c))),
    );
}

async function readRows(path: string): Promise<string[][]> {
  const rows: string[][] = [];
  for await (const row of xlsxRows(path)) rows.push(trimmed(row));
  return rows;
}

async function readAll(rows: AsyncIterable<string[]>): Promise<number> {
  let n = 0;
  for await (const _row of rows) n += 1;
  return n;
}

/** All names under `dir`, at any depth (relative paths). */
async function everything(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).sort();
}

/**
 * Every file opened under `dir` (through `fs` callbacks, which streams and exceljs's `tmp` package use,
 * or `fs/promises`) opens only after `ms`; the paths opened are counted. Call the result to undo it.
 */
function slowOpens(dir: string, ms: number): { opened: string[]; undo: () => void } {
  const opened: string[] = [];
  const open = fs.open as (path: fs.PathLike, ...rest: unknown[]) => void;
  const openPromise = fsp.open as (path: fs.PathLike, ...rest: unknown[]) => Promise<fsp.FileHandle>;
  const callback = mock.method(fs, 'open', (path: fs.PathLike, ...rest: unknown[]) => {
    if (!String(path).startsWith(dir)) return open(path, ...rest);
    opened.push(String(path));
    setTimeout(() => open(path, ...rest), ms);
  });
  const promise = mock.method(fsp, 'open', async (path: fs.PathLike, ...rest: unknown[]) => {
    if (!String(path).startsWith(dir)) return openPromise(path, ...rest);
    opened.push(String(path));
    await new Promise((resolve) => setTimeout(resolve, ms));
    return openPromise(path, ...rest);
  });
  syncBuiltinESMExports();
  return {
    opened,
    undo() {
      callback.mock.restore();
      promise.mock.restore();
      syncBuiltinESMExports();
    },
  };
}

const RELS = 'xl/_rels/workbook.xml.rels';
const WORKBOOK = 'xl/workbook.xml';
const SHEET = 'xl/worksheets/sheet1.xml';
const SHARED = 'xl/sharedStrings.xml';
const STYLES = 'xl/styles.xml';

/** How a workbook's parts are laid out: which come first, in which order, and how the zip is packed. */
const LAYOUTS: [string, string[], ZipLayout][] = [
  ["exceljs's own order (worksheet before the shared strings, the workbook part last)", [], {}],
  [
    'the shared strings before the worksheet, the workbook part after it',
    ['[Content_Types].xml', '_rels/.rels', RELS, SHARED, STYLES, SHEET],
    {},
  ],
  [
    "Excel's order (the workbook part first, the shared strings after the worksheet)",
    ['[Content_Types].xml', '_rels/.rels', WORKBOOK, RELS, SHEET, 'xl/theme/theme1.xml', STYLES, SHARED],
    {},
  ],
  ["exceljs's order, stored, with data descriptors", [], { method: 0, descriptors: true }],
  ["exceljs's order, zip64", [], { zip64: true }],
];

describe('xlsx reads: every row, whatever the layout; nothing written to the temporary directory', () => {
  let own: OwnTmpDir;
  /** The system temporary directory while the tests run: must be empty after each read. */
  let tmp: string;
  /** The workbooks read, outside `tmp`. */
  let files: string;
  let tr: string;
  let jr1: string;
  /** The TR workbook and the JR1 workbook in each layout: [what, TR path, JR1 path]. */
  const laidOut: [string, string, string][] = [];
  let undo: (() => void) | undefined;

  before(async () => {
    files = await mkdtemp(join(tmpdir(), 'xlsx-rows-test-'));
    tr = join(files, 'TR.xlsx');
    jr1 = join(files, 'JR1.xlsx');
    const trXlsx = await tsvAsXlsx(TR_TSV);
    const jr1Xlsx = await tsvAsXlsx(JR1_TSV);
    await writeFile(tr, trXlsx);
    await writeFile(jr1, jr1Xlsx);
    const trParts = await partsOf(trXlsx);
    const jr1Parts = await partsOf(jr1Xlsx);
    // exceljs writes the worksheet before the shared strings and the workbook part last.
    const names = trParts.map(([name]) => name);
    assert.ok(names.indexOf(SHEET) < names.indexOf(SHARED), 'the worksheet comes before the shared strings');
    assert.equal(names.at(-1), WORKBOOK, 'the workbook part comes last');
    for (const [i, [what, first, layout]] of LAYOUTS.entries()) {
      const paths = [join(files, `TR-${i}.xlsx`), join(files, `JR1-${i}.xlsx`)];
      await writeFile(paths[0], writeZip(reorder(trParts, first), layout));
      await writeFile(paths[1], writeZip(reorder(jr1Parts, first), layout));
      laidOut.push([what, paths[0], paths[1]]);
    }
    own = await useOwnTmpDir('xlsx-rows-tmp-');
    tmp = own.path;
    assert.equal(tmpdir(), tmp);
  });
  afterEach(async () => {
    undo?.();
    undo = undefined;
    await own.clear();
  });
  after(async () => {
    await own?.restore();
    await rm(files, { recursive: true, force: true });
  });

  it('the workbook as exceljs writes it: every row, nothing opened in the temporary directory', async () => {
    const slow = slowOpens(tmp, 0);
    undo = slow.undo;
    assert.deepEqual(await readRows(tr), expectedRows(TR_TSV));
    assert.deepEqual(await readRows(jr1), expectedRows(JR1_TSV));
    assert.deepEqual(slow.opened, []);
    assert.deepEqual(await everything(tmp), []);
  });

  for (const [i, [what]] of LAYOUTS.entries())
    it(`${what}, every file in the temporary directory slow to open: every row`, async () => {
      const [, trPath, jr1Path] = laidOut[i];
      const slow = slowOpens(tmp, 100);
      undo = slow.undo;
      assert.deepEqual(await readRows(trPath), expectedRows(TR_TSV));
      assert.deepEqual(await readRows(jr1Path), expectedRows(JR1_TSV));
      assert.deepEqual(slow.opened, [], 'nothing is opened in the temporary directory');
      assert.deepEqual(await everything(tmp), []);
    });

  for (const [i, [what, release]] of [
    ['COUNTER 5.1 TR', '5.1'],
    ['COUNTER 4 JR1', '4'],
  ].entries())
    it(`an upload of an xlsx ${what} in exceljs's order, the temporary directory slow (read twice: the COUNTER 4 check, then the whole file): its months, nothing left`, async () => {
      undo = slowOpens(tmp, 100).undo;
      const file = i === 0 ? tr : jr1;
      const prepared = await prepareUpload(file, 'report.xlsx', { providerRelease: release });
      try {
        assert.ok(prepared.yearMonths.length > 0);
      } finally {
        await prepared.dispose();
      }
      assert.deepEqual(await everything(tmp), []);
    });

  it('left after the first row (as the COUNTER 4 check does): nothing written, nothing left', async () => {
    for await (const row of xlsxRows(tr)) {
      assert.equal(row[0], 'Report_Name');
      assert.deepEqual(await everything(tmp), []);
      break;
    }
    assert.deepEqual(await everything(tmp), []);
  });

  it('reads side by side each find their rows', async () => {
    const firstCell = async (): Promise<string | undefined> => {
      for await (const row of xlsxRows(tr)) return row[0];
    };
    const whole = expectedRows(TR_TSV).length;
    const results = await Promise.all([
      readAll(xlsxRows(tr)),
      firstCell(),
      readAll(xlsxRows(tr)),
      firstCell(),
    ]);
    assert.deepEqual(results, [whole, 'Report_Name', whole, 'Report_Name']);
    assert.deepEqual(await everything(tmp), []);
  });

  const isFileFault = (message: RegExp) => (error: unknown) => {
    assert.ok(!(error instanceof LocalStorageError), String(error));
    assert.match(String(error), message);
    return true;
  };

  it('a workbook cut short: an error of the file', async () => {
    const whole = readFileSync(tr);
    const cut = join(files, 'cut.xlsx');
    await writeFile(cut, whole.subarray(0, whole.indexOf(SHARED)));
    await assert.rejects(readAll(xlsxRows(cut)), isFileFault(/not a zip file/));
  });

  it('a workbook without its workbook part: an error of the file that says so', async () => {
    const parts = (await partsOf(readFileSync(tr))).filter(([name]) => name !== WORKBOOK);
    const path = join(files, 'no-workbook.xlsx');
    await writeFile(path, writeZip(parts));
    await assert.rejects(readAll(xlsxRows(path)), isFileFault(/the workbook has no xl\/workbook\.xml/));
  });

  it('a workbook without a worksheet: no rows', async () => {
    const parts = (await partsOf(readFileSync(tr))).filter(([name]) => name !== SHEET);
    const path = join(files, 'no-sheet.xlsx');
    await writeFile(path, writeZip(parts));
    assert.equal(await readAll(xlsxRows(path)), 0);
  });

  it('an upload of a broken xlsx: 400, nothing left', async () => {
    const whole = readFileSync(tr);
    const cut = join(files, 'cut-upload.xlsx');
    await writeFile(cut, whole.subarray(0, whole.indexOf(SHARED)));
    await assert.rejects(prepareUpload(cut, 'report.xlsx', {}), (error: unknown) => {
      assert.ok(error instanceof UploadError, String(error));
      assert.equal(error.code, 'INVALID_REPORT_CONTENT');
      assert.match(error.message, /not a readable xlsx workbook \(not a zip file/);
      return true;
    });
    assert.deepEqual(await everything(tmp), []);
  });
});
