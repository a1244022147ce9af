/**
 * exceljs's worksheet copies: a workbook whose worksheet comes before its shared strings (the order
 * exceljs writes) makes exceljs's streaming reader copy the worksheet to a temporary file. Whichever
 * way an xlsx read ends (all rows read, left after the first row, the workbook broken, the temporary
 * storage failing), nothing of it is left in the temporary directory; several reads at once each keep
 * their copies apart. The system temporary directory (TMPDIR) is a directory of this test's own, so
 * that the files of other processes do not count.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import ExcelJS from 'exceljs';
import { LocalStorageError } from '../../../src/counter/index.ts';
import { xlsxRows } from '../../../src/counter/tabular/rows.ts';
import { prepareUpload, UploadError } from '../../../src/harvest/file-upload.ts';
import { failFs } from '../../helpers/fail-fs.ts';
import { FIXTURES } from '../../helpers/sushi.ts';
import { useOwnTmpDir, type OwnTmpDir } from '../../helpers/tmp-dir.ts';
import { tsvAsXlsx } from '../../helpers/upload.ts';

const TR_TSV = readFileSync(join(FIXTURES, 'r51', 'TR_sample_r51.tsv'), 'utf8');
const JR1_TSV = readFileSync(join(FIXTURES, 'r4', 'JR1.tsv'), 'utf8');

/** Where a zip entry's local header starts (its name follows the header's 30 fixed bytes). */
function entryStart(zip: Buffer, name: string): number {
  const at = zip.indexOf(name);
  assert.ok(at >= 30, `${name} is in the workbook`);
  return at - 30;
}

/** A workbook of two worksheets, both before the shared strings. */
async function twoSheets(): Promise<Buffer> {
  const workbook = new ExcelJS.Workbook();
  for (const name of ['first', 'second']) {
    const sheet = workbook.addWorksheet(name);
    for (let r = 0; r < 50; r += 1) sheet.addRow([`${name} ${r}`, r]);
  }
  return Buffer.from(await workbook.xlsx.writeBuffer());
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

describe('xlsx reads leave no worksheet copy behind', () => {
  let own: OwnTmpDir;
  /** The system temporary directory while the tests run: must be empty after each read. */
  let tmp: string;
  /** The workbooks read, outside `tmp`. */
  let files: string;
  let tr: string;
  let jr1: string;
  let undo: (() => void) | undefined;

  before(async () => {
    files = await mkdtemp(join(tmpdir(), 'xlsx-copies-test-'));
    tr = join(files, 'TR.xlsx');
    jr1 = join(files, 'JR1.xlsx');
    const workbook = Buffer.from(await tsvAsXlsx(TR_TSV));
    // The case that makes exceljs copy: the worksheet before the shared strings.
    assert.ok(
      entryStart(workbook, 'xl/worksheets/sheet1.xml') < entryStart(workbook, 'xl/sharedStrings.xml'),
      'the worksheet comes before the shared strings',
    );
    await writeFile(tr, workbook);
    await writeFile(jr1, await tsvAsXlsx(JR1_TSV));
    own = await useOwnTmpDir('xlsx-copies-tmp-');
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

  it('read to the end: every row, nothing left', async () => {
    assert.equal(await readAll(xlsxRows(tr)), TR_TSV.trimEnd().split('\n').length);
    assert.deepEqual(await everything(tmp), []);
  });

  it('left after the first row (as the COUNTER 4 check does): nothing left', async () => {
    for await (const row of xlsxRows(tr)) {
      assert.equal(row[0], 'Report_Name');
      // While the read goes on, its copy is in a directory of its own.
      const [directory, ...others] = await readdir(tmp);
      assert.deepEqual(others, []);
      assert.match(directory, /^xlsx-/);
      assert.equal((await readdir(join(tmp, directory))).length, 1, 'the worksheet copy');
      break;
    }
    assert.deepEqual(await everything(tmp), []);
  });

  it('the copies go to the directory given as tmpDir, and not beyond the read', async () => {
    const given = join(files, 'given');
    await mkdir(given);
    for await (const _row of xlsxRows(tr, { tmpDir: given })) {
      assert.equal((await readdir(given)).length, 1);
      assert.deepEqual(await readdir(tmp), []);
      break;
    }
    assert.deepEqual(await everything(given), []);
    await rm(given, { recursive: true });
  });

  it('a workbook cut short after its worksheet: an error of the file, nothing left', async () => {
    const whole = readFileSync(tr);
    const cut = join(files, 'cut.xlsx');
    await writeFile(cut, whole.subarray(0, entryStart(whole, 'xl/sharedStrings.xml')));
    await assert.rejects(readAll(xlsxRows(cut)), (error: unknown) => {
      assert.ok(!(error instanceof LocalStorageError), String(error));
      return true;
    });
    assert.deepEqual(await everything(tmp), []);
  });

  it('the second worksheet cannot be copied (ENOSPC): LocalStorageError, the first copy removed too', async () => {
    const workbook = await twoSheets();
    assert.ok(
      entryStart(workbook, 'xl/worksheets/sheet2.xml') < entryStart(workbook, 'xl/sharedStrings.xml'),
    );
    const path = join(files, 'two.xlsx');
    await writeFile(path, workbook);
    let copies = 0;
    undo = failFs('open (callback)', (file) => basename(file).startsWith('tmp-') && ++copies === 2, 'ENOSPC');
    await assert.rejects(readAll(xlsxRows(path)), (error: unknown) => {
      assert.ok(error instanceof LocalStorageError, String(error));
      assert.equal(error.code, 'ENOSPC');
      assert.match(error.message, /copying a worksheet of .*two\.xlsx to a temporary file/);
      return true;
    });
    assert.equal(copies, 2, 'the first copy was made');
    assert.deepEqual(await everything(tmp), []);
  });

  it('the directory for the copies cannot be made (ENOSPC): LocalStorageError', async () => {
    undo = failFs('mkdtemp', (path) => path.startsWith(tmp), 'ENOSPC');
    await assert.rejects(readAll(xlsxRows(tr)), (error: unknown) => {
      assert.ok(error instanceof LocalStorageError, String(error));
      assert.match(error.message, /creating a directory for exceljs's worksheet copies in .*: ENOSPC/);
      return true;
    });
  });

  it('reads side by side each find their rows; nothing left', async () => {
    const firstCell = async (): Promise<string | undefined> => {
      for await (const row of xlsxRows(tr)) return row[0];
    };
    const whole = TR_TSV.trimEnd().split('\n').length;
    const results = await Promise.all([
      readAll(xlsxRows(tr)),
      firstCell(),
      readAll(xlsxRows(tr)),
      firstCell(),
    ]);
    assert.deepEqual(results, [whole, 'Report_Name', whole, 'Report_Name']);
    assert.deepEqual(await everything(tmp), []);
  });

  it("a temporary file of anything else made with exceljs's tmp package is left where it was asked for", async () => {
    await readAll(xlsxRows(tr));
    const tmpOfExceljs = createRequire(import.meta.resolve('exceljs'))('tmp') as {
      fileSync(): { name: string; removeCallback(): void };
    };
    const other = tmpOfExceljs.fileSync();
    assert.equal(dirname(other.name), tmp);
    other.removeCallback();
  });

  for (const [what, file, release] of [
    ['COUNTER 5.1 TR', () => tr, '5.1'],
    ['COUNTER 4 JR1', () => jr1, '4'],
  ] as const)
    it(`an upload of an xlsx ${what} (read twice: the COUNTER 4 check, then the whole file): nothing left`, async () => {
      // exceljs 4.4.0's streaming reader now and then fails on a valid workbook with "Cannot read
      // properties of undefined (reading 'sheets')" (exceljs issue 3064, open upstream). Such a read is
      // made again; that it left nothing behind is asserted after it as after the read that succeeds.
      let prepared;
      for (let attempt = 1; ; attempt++) {
        try {
          prepared = await prepareUpload(file(), 'report.xlsx', { providerRelease: release });
          break;
        } catch (error) {
          const { message, details } = error as { message?: unknown; details?: unknown };
          if (attempt === 3 || !/reading 'sheets'/.test(`${String(message)} ${String(details)}`)) throw error;
          assert.deepEqual(await everything(tmp), []);
        }
      }
      try {
        assert.ok(prepared.yearMonths.length > 0);
      } finally {
        await prepared.dispose();
      }
      assert.deepEqual(await everything(tmp), []);
    });

  it('an upload of a broken xlsx: 400, nothing left', async () => {
    const whole = readFileSync(tr);
    const cut = join(files, 'cut-upload.xlsx');
    await writeFile(cut, whole.subarray(0, entryStart(whole, 'xl/sharedStrings.xml')));
    await assert.rejects(prepareUpload(cut, 'report.xlsx', {}), (error: unknown) => {
      assert.ok(error instanceof UploadError, String(error));
      assert.equal(error.code, 'INVALID_REPORT_CONTENT');
      return true;
    });
    assert.deepEqual(await everything(tmp), []);
  });
});
