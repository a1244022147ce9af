/**
 * Tenant migration 7 (counter report columns compressed with lz4, or stored uncompressed where the
 * server has no lz4: PGlite) on a tenant with months stored under migration 6: the stored months read
 * the same afterwards (records with report data, a CQL query, the usage API), months written afterwards
 * use the new storage, and the months stored before keep theirs. On PGlite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HarvesterClient } from '../../src/client/index.ts';
import type { RunningService } from '../../src/server.ts';
import { migrateTenant } from '../../src/store/migrations.ts';
import { backends } from '../helpers/service.ts';
import { create, get, startStore, udp } from '../helpers/store.ts';
import { FIXTURES } from '../helpers/sushi.ts';

const SCHEMA = 'diku_mod_erm_usage_harvester';
const TABLE = `"${SCHEMA}".counter_reports`;
const SCOPE = `tenant:${SCHEMA}`;

function sample(name: string): Blob {
  return new Blob([readFileSync(join(FIXTURES, 'r51', `${name}_sample_r51.json`))]);
}

for (const backend of backends()) {
  describe(`tenant migration 7: counter report column storage (${backend.name})`, () => {
    let svc: RunningService;
    let client: HarvesterClient;
    let pid: string;
    before(async () => {
      svc = await startStore(backend);
      client = new HarvesterClient({ baseUrl: svc.url, tenant: 'diku' });
      pid = (
        await create(
          svc,
          '/usage-data-providers',
          udp('Migration seven', {
            harvestingConfig: { harvestingStatus: 'active', harvestVia: 'sushi', reportRelease: '5.1' },
          }),
        )
      ).id;
    });
    after(async () => {
      await client?.close();
      await svc?.close();
    });

    const version = async () =>
      (
        await svc.ctx.db.query<{ version: number }>(
          'SELECT version FROM harvester.migrations WHERE scope = $1',
          [SCOPE],
        )
      ).rows[0].version;
    /** The compression of each stored month's two columns, by yearMonth and report name. */
    const compression = async (reportName: string) =>
      (
        await svc.ctx.db.query<{ ym: string; j: string | null; r: string | null }>(
          `SELECT jsonb->>'yearMonth' AS ym, pg_column_compression(jsonb) AS j, pg_column_compression(report) AS r
           FROM ${TABLE} WHERE jsonb->>'reportName' = $1 ORDER BY 1`,
          [reportName],
        )
      ).rows;
    const reads = async () => {
      const cql = encodeURIComponent(`providerId=="${pid}" and reportName=="IR" sortby yearMonth`);
      return {
        records: await get(svc, `/counter-reports?query=${cql}&limit=100&tiny=false`),
        usage: await client.usageTotals({ providerId: pid, report: 'IR', from: '2022-01', to: '2022-12' }),
        top: await client.usageTop({
          providerId: pid,
          report: 'IR',
          metric: 'Total_Item_Requests',
          limit: 5,
        }),
      };
    };

    it('months stored under migration 6 read the same after 7; months written after it use the new storage', async () => {
      // The tenant as migration 6 left it: the columns' default storage (pglz), version 6.
      await svc.ctx.db.query(
        `ALTER TABLE ${TABLE} ALTER COLUMN jsonb SET STORAGE EXTENDED, ALTER COLUMN report SET STORAGE EXTENDED`,
      );
      await svc.ctx.db.query(
        `ALTER TABLE ${TABLE} ALTER COLUMN jsonb SET COMPRESSION pglz, ALTER COLUMN report SET COMPRESSION pglz`,
      );
      await svc.ctx.db.query('UPDATE harvester.migrations SET version = 6 WHERE scope = $1', [SCOPE]);
      assert.equal((await client.uploadCounterReport(pid, sample('IR'), 'IR.json')).ids.length, 12);
      const old = await compression('IR');
      assert.equal(old.length, 12);
      assert.ok(
        old.every((m) => m.j === 'pglz' && m.r === 'pglz'),
        `months stored under 6 are compressed with pglz: ${JSON.stringify(old)}`,
      );
      const before6 = await reads();
      assert.equal(before6.records.totalRecords, 12);
      assert.equal(before6.usage.months.length, 12);

      await migrateTenant(svc.ctx.db, SCHEMA);
      assert.equal(await version(), 7);
      assert.deepEqual(await reads(), before6, 'records, CQL answer and usage read the same');
      assert.deepEqual(await compression('IR'), old, 'the stored months keep their storage');

      assert.equal((await client.uploadCounterReport(pid, sample('PR'), 'PR.json')).ids.length, 12);
      const fresh = await compression('PR');
      assert.equal(fresh.length, 12);
      // PostgreSQL built with lz4 compresses with it; PGlite (no lz4) stores the values uncompressed.
      const want = backend.name === 'pglite' ? [null] : [null, 'lz4'];
      assert.ok(
        fresh.every((m) => want.includes(m.j) && want.includes(m.r)),
        `months written after 7: ${JSON.stringify(fresh)}`,
      );
      const cql = encodeURIComponent(`providerId=="${pid}" and reportName=="PR" sortby yearMonth`);
      const pr = await get(svc, `/counter-reports?query=${cql}&limit=100&tiny=false`);
      assert.equal(pr.totalRecords, 12);
      assert.ok(pr.counterReports.every((r: any) => Array.isArray(r.report.Report_Items)));
    });
  });
}
