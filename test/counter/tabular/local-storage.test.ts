/**
 * The tabular readers' own temporary storage failing is a LocalStorageError, told apart from a file
 * that is not COUNTER: the group-by's spill files (its directory cannot be made, a partition file
 * cannot be opened, the files are gone before they are read back) and the uploaded file that cannot be
 * opened or read. A workbook that is no zip stays an error of the file.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { LocalStorageError } from '../../../src/counter/index.ts';
import { tabularToJson } from '../../../src/counter/tabular/read.ts';
import { csvRows, tsvRows, xlsxRows } from '../../../src/counter/tabular/rows.ts';
import { SpillingGroupBy, type GroupCodec } from '../../../src/counter/tabular/spill.ts';
import { failFs } from '../../helpers/fail-fs.ts';
import { FIXTURES } from '../../helpers/sushi.ts';
import { tsvAsXlsx } from '../../helpers/upload.ts';

const TEXTS: GroupCodec<string[]> = {
  combine(into, from) {
    into.push(...from);
    return from.reduce((n, t) => n + 2 * t.length, 0);
  },
  encode: (value) => JSON.stringify(value),
  decode: (text) => JSON.parse(text) as string[],
  size: (value) => value.reduce((n, t) => n + 2 * t.length, 32),
};

/** Adds 2,000 keys to a group-by whose budget makes it spill, then reads it to the end. */
async function groupAll(tmpDir: string, beforeFinish?: () => Promise<void>): Promise<number> {
  const groups = new SpillingGroupBy(TEXTS, { memoryBudgetBytes: 4096, partitions: 4, tmpDir });
  try {
    for (let i = 0; i < 2000; i += 1) await groups.add(`key ${i % 500}`, [i], [`value ${i}`]);
    await beforeFinish?.();
    let n = 0;
    for await (const _entry of groups.finish((_key, position) => position)) n += 1;
    return n;
  } finally {
    await groups.dispose();
  }
}

function isLocal(operation: RegExp, code: string): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof LocalStorageError, String(error));
    assert.equal(error.code, code);
    assert.match(error.message, /^the harvester's temporary storage failed /);
    assert.match(error.message, operation);
    return true;
  };
}

async function readAll(rows: AsyncIterable<string[]>): Promise<number> {
  let n = 0;
  for await (const _row of rows) n += 1;
  return n;
}

let dir: string;
let undo: (() => void) | undefined;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tabular-local-test-'));
});
afterEach(() => {
  undo?.();
  undo = undefined;
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('SpillingGroupBy: its spill files fail', () => {
  it('spills and reads back 500 keys when the disk works', async () => {
    const tmp = await mkdtemp(join(dir, 'works-'));
    assert.equal(await groupAll(tmp), 500);
    assert.deepEqual(await readdir(tmp), []);
  });

  it('a spill directory that cannot be made (tmpDir is a file) → LocalStorageError', async () => {
    const file = join(dir, 'not-a-directory');
    await writeFile(file, 'x');
    await assert.rejects(
      groupAll(file),
      isLocal(/creating a spill directory in .*not-a-directory: ENOTDIR/, 'ENOTDIR'),
    );
  });

  for (const code of ['ENOSPC', 'EMFILE', 'EACCES'])
    it(`a partition file that cannot be opened (${code}) → LocalStorageError; nothing is left`, async () => {
      const tmp = await mkdtemp(join(dir, 'open-'));
      undo = failFs('open', (path) => path.startsWith(tmp) && path.endsWith('.part'), code);
      await assert.rejects(groupAll(tmp), isLocal(/writing .*\/counter-export-[^/]+\/p\d+\.part: /, code));
      assert.deepEqual(await readdir(tmp), [], 'the spill directory is removed');
    });

  it('partition files gone before they are read back → LocalStorageError, not fewer groups', async () => {
    const tmp = await mkdtemp(join(dir, 'gone-'));
    await assert.rejects(
      groupAll(tmp, async () => {
        const [spill] = await readdir(tmp);
        for (const name of await readdir(join(tmp, spill))) await rm(join(tmp, spill, name));
      }),
      isLocal(/\.part: ENOENT/, 'ENOENT'),
    );
  });
});

describe('tabular read: an R5.1 IR whose groups cannot spill', () => {
  it('throws the LocalStorageError of the spill files, not a TabularReadError', async () => {
    const tmp = await mkdtemp(join(dir, 'ir-'));
    undo = failFs('mkdtemp', (path) => path.startsWith(tmp), 'ENOSPC');
    const rows = tsvRows(join(FIXTURES, 'r51', 'IR_sample_r51.tsv'));
    await assert.rejects(
      tabularToJson(rows, async () => undefined, { memoryBudgetBytes: 1, tmpDir: tmp }),
      isLocal(/creating a spill directory in .*: ENOSPC/, 'ENOSPC'),
    );
  });
});

describe('tabular rows: the uploaded file fails', () => {
  const TR_TSV = join(FIXTURES, 'r51', 'TR_sample_r51.tsv');
  let xlsx: string;
  let unreadable: string;
  before(async () => {
    xlsx = join(dir, 'TR.xlsx');
    await writeFile(xlsx, await tsvAsXlsx(readFileSync(TR_TSV, 'utf8')));
    // A directory opens for reading and then fails every read (EISDIR): a disk failing mid-file.
    unreadable = join(dir, 'unreadable');
    await mkdir(unreadable);
  });

  it('each reader reads its file when the disk works', async () => {
    assert.ok((await readAll(tsvRows(TR_TSV))) > 10);
    assert.ok((await readAll(csvRows(TR_TSV))) > 10);
    assert.ok((await readAll(xlsxRows(xlsx))) > 10);
  });

  for (const [format, rowsOf] of [
    ['tsv', tsvRows],
    ['csv', csvRows],
    ['xlsx', xlsxRows],
  ] as const) {
    it(`${format}: the file cannot be opened (EMFILE) → LocalStorageError`, async () => {
      undo = failFs('open', (path) => path === TR_TSV || path === xlsx, 'EMFILE');
      await assert.rejects(
        readAll(rowsOf(format === 'xlsx' ? xlsx : TR_TSV)),
        isLocal(/reading .*: EMFILE/, 'EMFILE'),
      );
    });

    it(`${format}: a read of the file fails (EISDIR) → LocalStorageError`, async () => {
      await assert.rejects(readAll(rowsOf(unreadable)), isLocal(/reading .*\/unreadable: EISDIR/, 'EISDIR'));
    });
  }

  it('xlsx: a file that is no zip is not a LocalStorageError', async () => {
    const file = join(dir, 'no-zip.xlsx');
    await writeFile(file, 'not a zip');
    await assert.rejects(readAll(xlsxRows(file)), (error: unknown) => {
      assert.ok(!(error instanceof LocalStorageError), String(error));
      return true;
    });
  });
});
