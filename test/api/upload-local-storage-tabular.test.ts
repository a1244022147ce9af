/**
 * POST /counter-reports/multipartupload/provider/{id} with tabular files (tsv, csv, xlsx; COUNTER 5.1
 * and 4) and with any file while the route receives it, when the harvester's own temporary storage
 * fails: its directories cannot be made, the uploaded file cannot be written or read back, the JSON
 * conversion cannot be written. Each answers 507 with code `OTHER` and details saying the file is not
 * at fault, stores nothing and leaves no directory behind; the same files are stored once the disk
 * works, and a broken workbook is still the file's fault (400 INVALID_REPORT_CONTENT). After every
 * upload, failed or not, the test's temporary directory (TMPDIR) is empty again.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import type { RunningService } from '../../src/server.ts';
import { failFs } from '../helpers/fail-fs.ts';
import { startOn } from '../helpers/service.ts';
import { useOwnTmpDir, type OwnTmpDir } from '../helpers/tmp-dir.ts';
import { FIXTURES } from '../helpers/sushi.ts';
import { spreadIrTsv } from '../helpers/tabular.ts';
import { storedMonths, tsvAsCsv, tsvAsXlsx, upload, uploadProvider } from '../helpers/upload.ts';

const TR_TSV = readFileSync(join(FIXTURES, 'r51', 'TR_sample_r51.tsv'), 'utf8');
const TR_JSON = readFileSync(join(FIXTURES, 'r51', 'TR_sample_r51.json'), 'utf8');
const JR1_TSV = readFileSync(join(FIXTURES, 'r4', 'JR1.tsv'), 'utf8');
/**
 * 9,000 IR items under 3,000 parents: their groups take more than the upload's share of the smallest
 * memory bound (MEMORY_BUDGET_MB=16, set below), so they spill to disk.
 */
const IR_TSV = spreadIrTsv(3000, 3);
/** The months of TR_sample_r51 (and of the IR made from its twin) and of the hand-written JR1. */
const TR_MONTHS = 12;
const JR1_MONTHS = 3;

const NOT_AT_FAULT = /The file is not at fault and nothing was stored; upload it again later\.$/;

/** Opening matching paths fails through `fs/promises` and through `fs`' callback API (streams) alike. */
function failOpen(matches: (path: string, flags: unknown) => boolean, code: string): () => void {
  const undoPromises = failFs('open', matches, code);
  const undoCallback = failFs('open (callback)', matches, code);
  return () => {
    undoCallback();
    undoPromises();
  };
}

describe('upload of tabular files: the harvester’s own storage fails', () => {
  let svc: RunningService;
  let tmp: OwnTmpDir;
  let undo: (() => void) | undefined;
  const files: Record<'tsv' | 'csv' | 'xlsx', string | Uint8Array> = { tsv: TR_TSV, csv: '', xlsx: '' };

  before(async () => {
    svc = await startOn('pglite', undefined, { config: { mode: 'standalone', memoryBudgetMb: 16 } });
    files.csv = tsvAsCsv(TR_TSV);
    files.xlsx = await tsvAsXlsx(TR_TSV);
    // The uploads' temporary files (the route's, exceljs's) in a directory of this test's own.
    tmp = await useOwnTmpDir('upload-local-tabular-');
  });
  afterEach(async () => {
    undo?.();
    undo = undefined;
    await tmp.clear();
  });
  after(async () => {
    await svc?.close();
    await tmp?.restore();
  });

  /**
   * What the uploads left in the test's temporary directory. The route removes its directory after it
   * has answered, so this waits a little for that.
   */
  const leftInTmp = async (): Promise<string[]> => {
    for (let waited = 0; ; waited += 20) {
      const left = await readdir(tmp.path);
      if (left.length === 0 || waited >= 2000) return left;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  const readBack = (code: string) => () =>
    failOpen((path, flags) => path.endsWith('/upload') && flags === 'r', code);
  const receipt = (code: string) => () =>
    failOpen((path, flags) => path.endsWith('/upload') && flags === 'w', code);

  /** What fails, the provider's release, the file, how the storage fails, what the details say. */
  type Case = [string, string, string, () => string | Uint8Array, () => () => void, RegExp];
  const cases: Case[] = [];
  for (const format of ['tsv', 'csv', 'xlsx'] as const)
    cases.push(
      [
        `${format}: the JSON conversion cannot be written (ENOSPC)`,
        '5.1',
        `TR_2022.${format}`,
        () => files[format],
        () => failOpen((path) => path.endsWith('/report.json'), 'ENOSPC'),
        /failed writing .+\/report\.json: ENOSPC/,
      ],
      [
        `${format}: the uploaded file cannot be read back (EMFILE)`,
        '5.1',
        `TR_2022.${format}`,
        () => files[format],
        readBack('EMFILE'),
        /failed reading .+\/upload: EMFILE/,
      ],
    );
  cases.push(
    [
      'R5.1 IR tsv: its groups cannot spill to disk (ENOSPC)',
      '5.1',
      'IR_2022.tsv',
      () => IR_TSV,
      () => failFs('mkdtemp', (path) => path.endsWith('/counter-export-'), 'ENOSPC'),
      /failed creating a spill directory in .+: ENOSPC/,
    ],
    [
      'COUNTER 4 tsv: its directory for the month buckets cannot be made (EACCES)',
      '4',
      'JR1.tsv',
      () => JR1_TSV,
      () => failFs('mkdtemp', (path) => path.endsWith('/upload-'), 'EACCES'),
      /failed creating a temporary directory in .+harvester-upload-[^/]+: EACCES/,
    ],
    [
      'COUNTER 4 tsv: the uploaded file cannot be read back (EIO)',
      '4',
      'JR1.tsv',
      () => JR1_TSV,
      readBack('EIO'),
      /failed reading .+\/upload: EIO/,
    ],
    [
      'the route cannot make its directory for the upload (ENOSPC)',
      '5.1',
      'TR_2022.tsv',
      () => TR_TSV,
      () => failFs('mkdtemp', (path) => path.endsWith('/harvester-upload-'), 'ENOSPC'),
      /failed creating a directory for the upload in .+: ENOSPC/,
    ],
    [
      'the route cannot write the received file (EACCES)',
      '5.1',
      'TR_2022.tsv',
      () => TR_TSV,
      receipt('EACCES'),
      /failed writing .+\/upload: EACCES/,
    ],
    [
      'the route cannot write a received JSON file either (ENOSPC)',
      '5.1',
      'TR_2022.json',
      () => TR_JSON,
      receipt('ENOSPC'),
      /failed writing .+\/upload: ENOSPC/,
    ],
  );

  for (const [what, release, fileName, content, fail, details] of cases)
    it(`${what} → 507 OTHER, the file not at fault; nothing stored or left`, async () => {
      const pid = await uploadProvider(svc, what, release);
      undo = fail();
      const res = await upload(svc, pid, fileName, content());
      undo();
      undo = undefined;
      assert.equal(res.status, 507, res.text);
      assert.equal(res.json.code, 'OTHER', res.text);
      assert.equal(res.json.message, 'The report could not be processed.');
      assert.match(res.json.details, /^Local storage error: the harvester's temporary storage failed /);
      assert.match(res.json.details, details);
      assert.match(res.json.details, NOT_AT_FAULT);
      assert.equal(await storedMonths(svc, pid), 0);
      assert.deepEqual(await leftInTmp(), []);
    });

  const working: [string, string, string, () => string | Uint8Array, number][] = [
    ['tsv', '5.1', 'TR_2022.tsv', () => files.tsv, TR_MONTHS],
    ['csv', '5.1', 'TR_2022.csv', () => files.csv, TR_MONTHS],
    ['xlsx', '5.1', 'TR_2022.xlsx', () => files.xlsx, TR_MONTHS],
    ['R5.1 IR tsv (its groups spilled)', '5.1', 'IR_2022.tsv', () => IR_TSV, TR_MONTHS],
    ['COUNTER 4 tsv', '4', 'JR1.tsv', () => JR1_TSV, JR1_MONTHS],
  ];
  for (const [what, release, fileName, content, months] of working)
    it(`${what}: the same file is stored once the disk works`, async () => {
      const pid = await uploadProvider(svc, `${what} disk works`, release);
      const res = await upload(svc, pid, fileName, content());
      assert.equal(res.status, 200, res.text);
      assert.equal(await storedMonths(svc, pid), months);
      assert.deepEqual(await leftInTmp(), []);
    });

  const brokenWorkbooks: [string, () => Uint8Array][] = [
    ['not a zip', () => new TextEncoder().encode('not a zip')],
    ['cut in half', () => (files.xlsx as Uint8Array).subarray(0, (files.xlsx as Uint8Array).length >> 1)],
    // exceljs has copied the worksheet (it comes before the shared strings) when the zip ends.
    [
      'cut after its worksheet',
      () => {
        const whole = Buffer.from(files.xlsx as Uint8Array);
        return whole.subarray(0, whole.indexOf('xl/sharedStrings.xml') - 30);
      },
    ],
  ];
  for (const [what, content] of brokenWorkbooks)
    it(`a broken xlsx (${what}) is still the file's fault: 400 INVALID_REPORT_CONTENT`, async () => {
      const pid = await uploadProvider(svc, `broken xlsx ${what}`, '5.1');
      const res = await upload(svc, pid, 'TR_2022.xlsx', content());
      assert.equal(res.status, 400, res.text);
      assert.equal(res.json.code, 'INVALID_REPORT_CONTENT', res.text);
      assert.doesNotMatch(res.json.details, /Local storage error|not at fault/);
      assert.equal(await storedMonths(svc, pid), 0);
      assert.deepEqual(await leftInTmp(), []);
    });
});
