/**
 * The splitter tells the harvester's own storage failing (its month buckets' spill files: the directory
 * cannot be made, a file cannot be opened or read back) from the body failing while it is read: the
 * first answers `local_storage` (or throws a LocalStorageError while the months are read back), the
 * second `read_error`; neither is a report that is not valid.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import {
  LocalStorageError,
  readingLocalStorage,
  splitReport,
  splitReportStream,
  type SplitResult,
} from '../../src/counter/index.ts';
import { chunked, loadSamples } from '../helpers/counter.ts';
import { failFs } from '../helpers/fail-fs.ts';

const sample = loadSamples().find((s) => s.name === 'r51/TR_sample_r51.json')!;

function assertLocal(result: SplitResult, where: RegExp): void {
  assert.equal(result.kind, 'invalid');
  if (result.kind !== 'invalid') return;
  assert.equal(result.code, 'local_storage', result.message);
  assert.match(result.message, /^Local storage error: the harvester's temporary storage failed /);
  assert.match(result.message, where);
  assert.doesNotMatch(result.message, /Report not valid|Error reading response/);
}

void describe('month splitter: the harvester’s own storage fails', () => {
  let dir: string;
  let undo: (() => void) | undefined;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'split-local-test-'));
  });
  afterEach(() => {
    undo?.();
    undo = undefined;
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  void it('a spill directory that cannot be made (tmpDir is a file) → local_storage, not invalid', async () => {
    const file = join(dir, 'not-a-directory');
    await writeFile(file, 'x');
    const result = await splitReportStream(chunked(sample.text, 4096), '5.1', {
      spillThresholdBytes: 1,
      tmpDir: file,
    });
    assertLocal(result, /creating a spill directory in .*not-a-directory: ENOTDIR/);
  });

  for (const code of ['ENOSPC', 'EMFILE', 'EACCES']) {
    void it(`a spill file that cannot be opened (${code}) → local_storage; nothing is left behind`, async () => {
      const tmp = await mkdtemp(join(dir, 'open-'));
      undo = failFs('open', (path) => path.startsWith(tmp) && path.endsWith('.jsonl'), code);
      const result = await splitReportStream(chunked(sample.text, 4096), '5.1', {
        spillThresholdBytes: 1,
        tmpDir: tmp,
      });
      assertLocal(result, new RegExp(`writing ${tmp}/counter-split-[^/]+/\\d{4}-\\d{2}\\.jsonl: ${code}`));
      assert.deepEqual(readdirSync(tmp), [], 'the spill directory is removed');
    });
  }

  void it('the non-streaming split answers local_storage too', async () => {
    const tmp = await mkdtemp(join(dir, 'parsed-'));
    undo = failFs('mkdtemp', (path) => path.startsWith(tmp), 'ENOSPC');
    const result = await splitReport(JSON.parse(sample.text), '5.1', { spillThresholdBytes: 1, tmpDir: tmp });
    assertLocal(result, /creating a spill directory in .*: ENOSPC/);
  });

  void it('a spill file that cannot be read back (directory removed) throws a LocalStorageError from months()', async () => {
    const tmp = await mkdtemp(join(dir, 'readback-'));
    const result = await splitReportStream(chunked(sample.text, 4096), '5.1', {
      spillThresholdBytes: 1,
      tmpDir: tmp,
    });
    assert.equal(result.kind, 'report');
    if (result.kind !== 'report') return;
    assert.ok(result.stats().spilledMonths.length > 0);
    await rm(join(tmp, readdirSync(tmp)[0]), { recursive: true, force: true });
    await assert.rejects(
      async () => {
        for await (const _month of result.months());
      },
      (error: unknown) => {
        assert.ok(error instanceof LocalStorageError, String(error));
        assert.equal(error.code, 'ENOENT');
        assert.match(error.message, /^the harvester's temporary storage failed reading .*\.jsonl: ENOENT/);
        return true;
      },
    );
  });

  void it('the same for a month read as a stream of item texts and of chunks', async () => {
    const tmp = await mkdtemp(join(dir, 'streams-'));
    const result = await splitReportStream(chunked(sample.text, 4096), '5.1', {
      spillThresholdBytes: 1,
      tmpDir: tmp,
    });
    assert.equal(result.kind, 'report');
    if (result.kind !== 'report') return;
    await rm(join(tmp, readdirSync(tmp)[0]), { recursive: true, force: true });
    const months = result.monthStreams();
    const first = (await months.next()).value!;
    await assert.rejects(async () => {
      for await (const _item of first.items());
    }, LocalStorageError);
    await assert.rejects(async () => {
      for await (const _chunk of first.itemChunks!());
    }, LocalStorageError);
    await months.return(undefined);
  });
});

void describe('month splitter: the body fails while it is read', () => {
  async function* breaking(text: string, after: number, error: Error): AsyncGenerator<Uint8Array> {
    let sent = 0;
    for await (const chunk of chunked(text, 4096)) {
      if (sent >= after) throw error;
      sent += chunk.byteLength;
      yield chunk;
    }
  }

  void it('a body that is itself a file of the temporary storage (an upload) failing → local_storage', async () => {
    const eio = Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
    const body = readingLocalStorage('reading /tmp/upload-x/upload', breaking(sample.text, 8000, eio));
    const result = await splitReportStream(body, '5.1');
    assertLocal(result, /failed reading \/tmp\/upload-x\/upload: EIO: i\/o error, read$/);
  });

  void it('a connection reset mid-body → read_error, also while months spill', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'split-read-test-'));
    try {
      const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
      const result = await splitReportStream(breaking(sample.text, 20_000, reset), '5.1', {
        spillThresholdBytes: 1,
        tmpDir: dir,
      });
      assert.equal(result.kind, 'invalid');
      if (result.kind !== 'invalid') return;
      assert.equal(result.code, 'read_error');
      assert.equal(result.message, 'Error reading response: Error: read ECONNRESET');
      assert.deepEqual(readdirSync(dir), [], 'the spill directory is removed');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
