/**
 * The usage API (`/usage/totals`, `/usage/top`, `/usage/reports`) through the typed client, and the CLI's
 * `reports upload` and `usage`: totals per month and metric equal the stored months' usageTotals, for one
 * provider and for the tenant; they follow deletes and overwrites (kept at store time, tenant migration 4);
 * the top items are ranked by the range's sum. On PGlite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HarvesterClient, HarvesterApiError } from '../../src/client/index.ts';
import type { RunningService } from '../../src/server.ts';
import { tenantMigrations } from '../../src/store/migrations.ts';
import { reportsOf } from '../helpers/harvest.ts';
import { runCli } from '../helpers/run-cli.ts';
import { backends, call } from '../helpers/service.ts';
import { create, startStore, udp } from '../helpers/store.ts';
import { FIXTURES } from '../helpers/sushi.ts';

const TR51 = join(FIXTURES, 'r51', 'TR_sample_r51');

function sumTotals(records: Record<string, any>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of records)
    for (const [k, v] of Object.entries(r.usageTotals as Record<string, number>)) out[k] = (out[k] ?? 0) + v;
  return out;
}

for (const backend of backends()) {
  describe(`usage API, client and CLI (${backend.name})`, () => {
    let svc: RunningService;
    let client: HarvesterClient;
    let p1: string;
    let p2: string;
    const cli = (args: string[]) =>
      runCli(args, { env: { HARVESTER_URL: svc.url, HARVESTER_TENANT: 'diku' }, timeoutMs: 120_000 });

    before(async () => {
      svc = await startStore(backend);
      client = new HarvesterClient({ baseUrl: svc.url, tenant: 'diku' });
      const release51 = {
        harvestingConfig: { harvestingStatus: 'active', harvestVia: 'sushi', reportRelease: '5.1' },
      };
      p1 = (await create(svc, '/usage-data-providers', udp('Usage one', release51))).id;
      p2 = (await create(svc, '/usage-data-providers', udp('Usage two', release51))).id;
    });
    after(async () => {
      await client?.close();
      await svc?.close();
    });

    it('reports upload (CLI) stores the file; a refused file prints the code and the place', async () => {
      const ok = await cli(['reports', 'upload', p1, `${TR51}.tsv`]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(ok.stdout.trim(), 'stored 12 months from TR_sample_r51.tsv');
      const again = await cli(['reports', 'upload', p1, `${TR51}.tsv`]);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /upload refused \(REPORTS_ALREADY_PRESENT\).*2022-01, 2022-02/);
      const result = await client.uploadCounterReport(
        p2,
        new Blob([await import('node:fs').then((fs) => fs.readFileSync(`${TR51}.json`))]),
        'TR.json',
      );
      assert.equal(result.ids.length, 12);
    });

    it('totals per month and metric equal the stored months, for one provider and for the tenant', async () => {
      const stored = await reportsOf(svc, p1);
      const one = await client.usageTotals({ providerId: p1, report: 'tr', from: '2022-02', to: '2022-04' });
      assert.deepEqual(
        one.months,
        stored
          .filter((r) => r.yearMonth >= '2022-02' && r.yearMonth <= '2022-04')
          .map((r) => ({ yearMonth: r.yearMonth, totals: r.usageTotals })),
      );
      assert.deepEqual(one.total, sumTotals(stored.slice(1, 4)));
      assert.deepEqual(one.metrics, Object.keys(one.total).sort());
      const all = await client.usageTotals({ report: 'TR', from: '2022-01', to: '2022-12' });
      const single = sumTotals(stored);
      assert.deepEqual(
        all.total,
        Object.fromEntries(Object.entries(single).map(([k, v]) => [k, 2 * v])),
        'two providers with the same sample: twice the totals',
      );
      const reports = await client.usageReports(p1);
      assert.deepEqual(
        reports.reports.map((r) => [r.reportName, r.release, r.first, r.last, r.months]),
        [['TR', '5.1', '2022-01', '2022-12', 12]],
      );
    });

    it('the top items by a metric over the range, highest first', async () => {
      const top = await client.usageTop({
        providerId: p1,
        report: 'TR',
        from: '2022-01',
        to: '2022-12',
        metric: 'Total_Item_Requests',
        limit: 3,
      });
      assert.equal(top.items.length, 3);
      const counts = top.items.map((i) => i.count);
      assert.deepEqual(
        counts,
        [...counts].sort((a, b) => b - a),
      );
      assert.ok(top.items[0].name, 'items are named');
      assert.equal(top.items[0].months, 12);
      // The sample's titles, summed over the year from the stored months' own topItems.
      const stored = await reportsOf(svc, p1);
      const byName = new Map<string, number>();
      for (const r of stored)
        for (const item of r.topItems.Total_Item_Requests as { name: string; count: number }[])
          byName.set(item.name, (byName.get(item.name) ?? 0) + item.count);
      assert.equal(top.items[0].count, Math.max(...byName.values()));
    });

    it('totals follow deletes and overwrites of the months', async () => {
      const stored = await reportsOf(svc, p2);
      const res = await call(svc, 'DELETE', `/counter-reports/${stored[0].id}`);
      assert.equal(res.status, 204);
      const after = await client.usageTotals({ providerId: p2, report: 'TR' });
      assert.equal(after.months.length, 11);
      assert.equal(after.months[0].yearMonth, '2022-02');
      const put = await call(svc, 'PUT', `/counter-reports/${stored[1].id}`, {
        body: { ...stored[1], usageTotals: { Total_Item_Requests: 7 } },
      });
      assert.equal(put.status, 204);
      const changed = await client.usageTotals({
        providerId: p2,
        report: 'TR',
        from: '2022-02',
        to: '2022-02',
      });
      assert.deepEqual(changed.months, [{ yearMonth: '2022-02', totals: { Total_Item_Requests: 7 } }]);
    });

    it('tenant migrations 4 and 6 fill the usage tables from months stored before them', async () => {
      const before = await client.usageTotals({ report: 'TR' });
      const topBefore = await client.usageTop({ report: 'TR', metric: 'Total_Item_Requests', limit: 5 });
      const schema = '"diku_mod_erm_usage_harvester"';
      await svc.ctx.db.query(`DELETE FROM ${schema}.usage_totals`);
      await svc.ctx.db.query(`DELETE FROM ${schema}.usage_top_lists`);
      assert.deepEqual((await client.usageTotals({ report: 'TR' })).months, []);
      assert.deepEqual(
        (await client.usageTop({ report: 'TR', metric: 'Total_Item_Requests', limit: 5 })).items,
        [],
      );
      // Migration 4's totals, migration 6's top item lists (its own table, usage_top, is gone since 6).
      const v4 = tenantMigrations.find((m) => m.version === 4)!;
      const v6 = tenantMigrations.find((m) => m.version === 6)!;
      const fills = [...v4.sql, ...v6.sql].filter(
        (q) => q.trim().startsWith('INSERT') && !q.includes('.usage_top\n'),
      );
      assert.equal(fills.length, 2);
      for (const stmt of fills) await svc.ctx.db.query(stmt.replaceAll('{schema}', schema));
      assert.deepEqual(await client.usageTotals({ report: 'TR' }), before);
      assert.deepEqual(
        await client.usageTop({ report: 'TR', metric: 'Total_Item_Requests', limit: 5 }),
        topBefore,
      );
    });

    it('usage (CLI) prints a table of totals per month with a total row', async () => {
      const res = await cli(['usage', p1, '--from', '2022-01', '--to', '2022-02']);
      assert.equal(res.code, 0, res.stderr);
      const lines = res.stdout.trim().split('\n');
      assert.match(lines[0], /^month\s+Limit_Exceeded\s+No_License\s+Total_Item_Investigations/);
      assert.match(lines[1], /^2022-01\s+\d+/);
      assert.match(lines[3], /^total\s+\d+/);
      assert.equal(lines.length, 4);
    });

    it('bad parameters are 400s that say which', async () => {
      await assert.rejects(
        client.usageTotals({ report: 'TR', from: '2022-13' }),
        (e: unknown) =>
          e instanceof HarvesterApiError && e.status === 400 && /from '2022-13'/.test(e.message),
      );
      const noReport = await call(svc, 'GET', '/usage/totals');
      assert.equal(noReport.status, 400);
      assert.match(noReport.text, /Missing query parameter report/);
      const noMetric = await call(svc, 'GET', '/usage/top?report=TR');
      assert.equal(noMetric.status, 400);
      const badProvider = await call(svc, 'GET', '/usage/totals?report=TR&providerId=nope');
      assert.equal(badProvider.status, 400);
    });
  });
}
