/**
 * POST /counter-reports/multipartupload/provider/{id} when the harvester's own temporary storage fails
 * while a large file is split (its month buckets cannot spill, or a spilled month cannot be read back
 * while the months are stored): a 507 with mod-erm-usage's error shape and code `OTHER` that says the
 * file is not at fault, never the 400 `INVALID_REPORT_CONTENT` that blames the file; nothing is stored.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hugeReportChunks } from '../../mock/huge.ts';
import type { RunningService } from '../../src/server.ts';
import { failFs } from '../helpers/fail-fs.ts';
import { startOn } from '../helpers/service.ts';
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
