/**
 * POST /counter-reports/multipartupload/provider/{id} when the harvester's own temporary storage fails
 * while a large file is split (its month buckets cannot spill, or a spilled month cannot be read back
 * while the months are stored): a 507 with mod-erm-usage's error shape and code `OTHER` that says the
 * file is not at fault, never the 400 `INVALID_REPORT_CONTENT` that blames the file; nothing is stored.
 * When only the removal of the upload's temporary files fails, after the months are stored and the
 * answer is sent, the client has its 200 and the log a warning, and no second answer is attempted.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hugeReportChunks } from '../../mock/huge.ts';
import type { RunningService } from '../../src/server.ts';
import { until } from '../helpers/child-service.ts';
import { failFs } from '../helpers/fail-fs.ts';
import { startOn } from '../helpers/service.ts';
import { FIXTURES } from '../helpers/sushi.ts';
import { useOwnTmpDir, type OwnTmpDir } from '../helpers/tmp-dir.ts';
import { storedMonths, upload, uploadProvider } from '../helpers/upload.ts';

/** One month of about 5 MiB: above the splitter's 4 MiB threshold, so the month spills to disk. */
const LARGE_TR = [
  ...hugeReportChunks({ release: '5.1', begin: '2022-01', end: '2022-01', bytes: 5 * 1024 * 1024 }),
].join('');

describe('upload: the harvester’s own storage fails', () => {
  let svc: RunningService;
  before(async () => {
    svc = await startOn('pglite', undefined, { config: { mode: 'standalone' } });
  });
  after(async () => {
    await svc?.close();
  });

  const cases: [string, () => () => void, RegExp][] = [
    [
      'no spill directory can be made (disk full)',
      () => failFs('mkdtemp', (path) => path.includes('counter-split-'), 'ENOSPC'),
      /^Local storage error: the harvester's temporary storage failed creating a spill directory in .+: ENOSPC/,
    ],
    [
      'a spilled month cannot be read back while it is stored',
      () => failFs('open', (path, flags) => path.endsWith('.jsonl') && flags === 'r', 'EIO'),
      /^Local storage error: the harvester's temporary storage failed reading .+\/2022-01\.jsonl: EIO/,
    ],
  ];
  for (const [what, fail, details] of cases)
    it(`${what}: 507 OTHER saying the file is not at fault; nothing stored`, async () => {
      const pid = await uploadProvider(svc, what, '5.1');
      const undo = fail();
      let res;
      try {
        res = await upload(svc, pid, 'TR_2022-01.json', LARGE_TR);
      } finally {
        undo();
      }
      assert.equal(res.status, 507, res.text);
      assert.equal(res.json.code, 'OTHER', res.text);
      assert.equal(res.json.message, 'The report could not be processed.');
      assert.match(res.json.details, details);
      assert.match(
        res.json.details,
        /The file is not at fault and nothing was stored; upload it again later\.$/,
      );
      assert.equal(await storedMonths(svc, pid), 0);
    });

  it('the same file is stored once the disk works', async () => {
    const pid = await uploadProvider(svc, 'disk works', '5.1');
    const res = await upload(svc, pid, 'TR_2022-01.json', LARGE_TR);
    assert.equal(res.status, 200, res.text);
    assert.equal(await storedMonths(svc, pid), 1);
  });

  it('the OpenAPI document lists the 507 answer of the upload', async () => {
    const doc: { paths: Record<string, { post: { responses: object } }> } = await (
      await fetch(`${svc.url}/openapi.json`)
    ).json();
    const responses = doc.paths['/counter-reports/multipartupload/provider/{id}'].post.responses;
    assert.deepEqual(Object.keys(responses).sort(), ['200', '400', '507']);
  });
});

describe('upload: its temporary files cannot be removed', () => {
  const TR_JSON = readFileSync(join(FIXTURES, 'r51', 'TR_sample_r51.json'), 'utf8');
  const logLines: string[] = [];
  let svc: RunningService;
  let tmp: OwnTmpDir;
  before(async () => {
    svc = await startOn('pglite', undefined, { config: { mode: 'standalone' }, logLines });
    // The route's directory in a directory of this test's own: only its removal is made to fail.
    tmp = await useOwnTmpDir('upload-cleanup-');
  });
  after(async () => {
    await svc?.close();
    await tmp?.restore();
  });

  const records = () =>
    logLines.map((line) => JSON.parse(line) as { level: number; msg?: string; err?: unknown });
  /** The route's warning that it could not remove the upload's files (after its answer: waited for). */
  const cleanupWarning = () =>
    until(
      async () => records().find((r) => r.level === 40 && /temporary files/.test(r.msg ?? '')),
      5000,
      () => `no warning about the temporary files; the log:\n${logLines.join('')}`,
      20,
    );

  it('200 with the ids, the months stored; a warning in the log, no error, no second answer', async () => {
    const pid = await uploadProvider(svc, 'removal fails', '5.1');
    const undo = failFs('rm', (path) => path.startsWith(tmp.path), 'EBUSY');
    let res;
    let warning;
    try {
      res = await upload(svc, pid, 'TR_sample_r51.json', TR_JSON);
      // The files are removed after the answer: wait until the route has tried.
      warning = await cleanupWarning();
    } finally {
      undo();
    }
    assert.equal(res.status, 200, res.text);
    const ids = /^Saved report with ids: (.+)$/.exec(res.text)?.[1].split(',');
    assert.equal(ids?.length, 12, res.text);
    assert.equal(await storedMonths(svc, pid), 12);
    assert.match(JSON.stringify(warning.err), /EBUSY: simulated failure, rm '.*harvester-upload-/);
    const log = logLines.join('');
    assert.doesNotMatch(log, /already sent|FST_ERR_REP_ALREADY_SENT/i);
    assert.deepEqual(
      records().filter((r) => r.level >= 50),
      [],
      'nothing is logged as an error',
    );
  });

  it("a broken file keeps its 400 when the removal of the upload's files fails too", async () => {
    logLines.length = 0;
    const pid = await uploadProvider(svc, 'broken file, removal fails', '5.1');
    const undo = failFs('rm', (path) => path.startsWith(tmp.path), 'EBUSY');
    let res;
    try {
      res = await upload(
        svc,
        pid,
        'TR_broken.json',
        '{"Report_Header": {"Report_ID": "TR"}, "Report_Items": [',
      );
      await cleanupWarning();
    } finally {
      undo();
    }
    assert.equal(res.status, 400, res.text);
    assert.equal(res.json.code, 'INVALID_REPORT_CONTENT', res.text);
    assert.equal(await storedMonths(svc, pid), 0);
  });

  it('a failure before the answer keeps its 507 when the removal fails too; still no error logged', async () => {
    logLines.length = 0;
    const pid = await uploadProvider(svc, 'split and removal fail', '5.1');
    const undoSplit = failFs('mkdtemp', (path) => path.includes('counter-split-'), 'ENOSPC');
    const undoRemoval = failFs('rm', (path) => path.startsWith(tmp.path), 'EBUSY');
    let res;
    try {
      res = await upload(svc, pid, 'TR_2022-01.json', LARGE_TR);
      await cleanupWarning();
    } finally {
      undoRemoval();
      undoSplit();
    }
    assert.equal(res.status, 507, res.text);
    assert.equal(res.json.code, 'OTHER', res.text);
    assert.match(res.json.details, /^Local storage error: the harvester's temporary storage failed /);
    assert.equal(await storedMonths(svc, pid), 0);
    assert.doesNotMatch(logLines.join(''), /already sent|FST_ERR_REP_ALREADY_SENT/i);
    assert.deepEqual(
      records().filter((r) => r.level >= 50),
      [],
      'nothing is logged as an error',
    );
  });
});
