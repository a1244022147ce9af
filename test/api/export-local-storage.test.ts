/**
 * Exports when the harvester's own temporary storage fails: a merge that outgrows its memory (here the
 * smallest memory bound, MEMORY_BUDGET_MB=16) spills to temporary files before the answer starts, and
 * when these cannot be made or written the answer is 507 with a text saying the harvester's storage
 * failed and the stored report is not at fault, not a 500; nothing of the spill is left behind, and the
 * same export succeeds once the disk works. Both the range export (COUNTER 5.1 months listing different
 * items, merged with the spilling table) and the one-month export (a COUNTER 4 month, whose items are
 * always grouped) spill.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { after, afterEach, before, describe, it } from 'node:test';
import type { RunningService } from '../../src/server.ts';
import { failFs } from '../helpers/fail-fs.ts';
import { startOn } from '../helpers/service.ts';
import { create, udp } from '../helpers/store.ts';
import { useOwnTmpDir, type OwnTmpDir } from '../helpers/tmp-dir.ts';
import { trHeader51 } from '../helpers/counter.ts';

/** Enough items for the merge to spill under a memory bound of 16 MiB. */
const ITEMS = 12_000;
const NOT_AT_FAULT = /The stored report is not at fault; export it again later\.$/;

function tr(month: string, items: number[]): Record<string, unknown> {
  return {
    Report_Header: trHeader51(month),
    Report_Items: items.map((i) => ({
      Title: `Journal ${i} ${'x'.repeat(100)}`,
      Item_ID: { Proprietary: `TP:${i}` },
      Platform: 'TestPlatform',
      Publisher: 'Test Press',
      Publisher_ID: { Proprietary: ['TP:1'] },
      Attribute_Performance: [
        {
          Data_Type: 'Journal',
          Access_Type: 'Controlled',
          Access_Method: 'Regular',
          Performance: { Total_Item_Requests: { [month]: i + 1 } },
        },
      ],
    })),
  };
}

function jr1(items: number): Record<string, unknown> {
  return {
    version: '4',
    name: 'JR1',
    customer: [
      {
        name: 'Test Library',
        reportItems: Array.from({ length: items }, (_, i) => ({
          itemIdentifier: [{ type: 'PROPRIETARY', value: `TP:${i}` }],
          itemName: `Journal ${i} ${'x'.repeat(100)}`,
          itemPlatform: 'TestPlatform',
          itemDataType: 'JOURNAL',
          itemPerformance: [
            {
              category: 'REQUESTS',
              instance: [
                { metricType: 'FT_HTML', count: 1 },
                { metricType: 'FT_PDF', count: i },
                { metricType: 'FT_TOTAL', count: i + 1 },
              ],
            },
          ],
        })),
      },
    ],
  };
}

describe('exports: the harvester’s own storage fails', () => {
  let svc: RunningService;
  let tmp: OwnTmpDir;
  let undo: (() => void) | undefined;
  let range: string;
  let r4Month: string;

  before(async () => {
    svc = await startOn('pglite', undefined, { config: { mode: 'standalone', memoryBudgetMb: 16 } });
    const pid = (await create(svc, '/usage-data-providers', udp('Spilling'))).id as string;
    const month = (yearMonth: string, release: string, reportName: string, report: unknown) =>
      svc.store.create('diku', 'counter-reports', {
        providerId: pid,
        release,
        reportName,
        yearMonth,
        downloadTime: '2024-02-01T10:00:00.000+00:00',
        report,
      });
    // The two months list different items: merged with the spilling table, not side by side.
    await month(
      '2022-01',
      '5.1',
      'TR',
      tr(
        '2022-01',
        Array.from({ length: ITEMS }, (_, i) => i),
      ),
    );
    await month('2022-02', '5.1', 'TR', tr('2022-02', [ITEMS, ITEMS + 1]));
    range = `/counter-reports/export/provider/${pid}/report/TR/version/5.1/from/2022-01/to/2022-02?format=tsv`;
    r4Month = `/counter-reports/export/${String((await month('2022-03', '4', 'JR1', jr1(ITEMS))).id)}?format=tsv`;
    // The spill directories in a directory of this test's own, to see that none is left.
    tmp = await useOwnTmpDir('export-local-');
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

  async function get(path: string): Promise<{ status: number; type: string | null; text: string }> {
    const res = await fetch(svc.url + path, { headers: { 'x-okapi-tenant': 'diku' } });
    return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
  }

  const cases: [string, () => string, () => () => void, RegExp][] = [
    [
      'range: no spill directory can be made (ENOSPC)',
      () => range,
      () => failFs('mkdtemp', (path) => path.includes('counter-export-'), 'ENOSPC'),
      /^Local storage error: the harvester's temporary storage failed creating a spill directory in .+: ENOSPC/,
    ],
    [
      'range: a spill file cannot be written (EMFILE)',
      () => range,
      () => failFs('open', (path) => path.endsWith('.part'), 'EMFILE'),
      /^Local storage error: the harvester's temporary storage failed writing .+\/counter-export-[^/]+\/p\d+\.part: EMFILE/,
    ],
    [
      'one COUNTER 4 month: no spill directory can be made (ENOSPC)',
      () => r4Month,
      () => failFs('mkdtemp', (path) => path.includes('counter-export-'), 'ENOSPC'),
      /^Local storage error: the harvester's temporary storage failed creating a spill directory in .+: ENOSPC/,
    ],
  ];
  for (const [what, path, fail, body] of cases)
    it(`${what}: 507 saying the harvester's storage failed, not the report; nothing left`, async () => {
      undo = fail();
      const res = await get(path());
      undo();
      undo = undefined;
      assert.equal(res.status, 507, res.text.slice(0, 300));
      assert.match(res.type ?? '', /^text\/plain/);
      assert.match(res.text, body);
      assert.match(res.text, NOT_AT_FAULT);
      assert.deepEqual(await readdir(tmp.path), [], 'no spill directory is left');
    });

  it('the same exports succeed once the disk works', async () => {
    const merged = await get(range);
    assert.equal(merged.status, 200, merged.text.slice(0, 300));
    const itemRows = (text: string) => text.split('\n').filter((l) => /^Journal \d+ x/.test(l)).length;
    assert.equal(itemRows(merged.text), ITEMS + 2);
    const r4 = await get(r4Month);
    assert.equal(r4.status, 200, r4.text.slice(0, 300));
    assert.equal(itemRows(r4.text), ITEMS);
  });

  it('the OpenAPI document lists the 507 answer of both exports', async () => {
    const doc: { paths: Record<string, { get: { responses: object } }> } = await (
      await fetch(`${svc.url}/openapi.json`)
    ).json();
    for (const path of [
      '/counter-reports/export/{id}',
      '/counter-reports/export/provider/{id}/report/{name}/version/{aversion}/from/{begin}/to/{end}',
    ])
      assert.ok('507' in doc.paths[path].get.responses, path);
  });
});
