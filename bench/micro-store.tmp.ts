import { randomUUID } from 'node:crypto';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { startService } from '../src/server.ts';
import { enableTenant } from '../src/tenant-lifecycle.ts';

const logger = createLogger({ level: 'error', write: () => {} });
const config = loadConfig({}, { host: '127.0.0.1', port: 0, memory: !process.env.DIR, ...(process.env.DIR ? { dataDir: process.env.DIR } : {}), defaultTenant: '', cleanupIntervalMinutes: 0 });
const svc = await startService(config, { logger, listen: false });
await enableTenant(svc.ctx, 'diku');
const store = svc.store;
if (process.env.EXT) for (const sql of process.env.EXT.split(';')) await svc.ctx.db.query(sql.replace(/S\./g, 'diku_mod_erm_usage_harvester.'));
const items = (n: number) => Array.from({ length: n }, (_, i) => ({ Title: `Item ${i}`, Platform: 'P', Item_ID: [{ Type: 'DOI', Value: `10.1/${i}` }], Performance: [{ Period: { Begin_Date: '2022-01-01', End_Date: '2022-01-31' }, Instance: [{ Metric_Type: 'Total_Item_Requests', Count: i }, { Metric_Type: 'Unique_Item_Requests', Count: i }] }] }));
const metrics = ['Total_Item_Investigations','Total_Item_Requests','Unique_Item_Investigations','Unique_Item_Requests','Unique_Title_Investigations','Unique_Title_Requests','Limit_Exceeded','No_License'];
const rec = (pid: string, ym: string) => ({
  providerId: pid, release: '5.1', reportName: 'TR', yearMonth: ym, downloadTime: '2024-02-01T10:00:00.000+00:00',
  report: { Report_Header: { Report_ID: 'TR', Release: '5.1' }, Report_Items: items(60) },
  itemCount: 20,
  usageTotals: Object.fromEntries(metrics.map((m) => [m, 100])),
  topItems: Object.fromEntries(metrics.map((m) => [m, Array.from({ length: 25 }, (_, i) => ({ name: `Item title number ${i} of the report`, platform: 'P', identifiers: { DOI: `10.1/${i}` }, count: 20 - i }))])),
  diagnostics: [], contentHash: randomUUID(),
});
const mode = process.argv[2] ?? 'new';
if (process.env.EXPLAIN) {
  const db = svc.ctx.db as unknown as { query: (s: string, p?: unknown[]) => Promise<{ rows: unknown[] }> };
  const q = db.query.bind(db);
  let n = 0;
  db.query = async (sql: string, params?: unknown[]) => {
    if (sql.startsWith('WITH found') && ++n === 50) {
      const r = await q('EXPLAIN (ANALYZE, BUFFERS) ' + sql, params);
      console.log(r.rows.map((x) => Object.values(x as object)[0]).join('\n'));
      return { rows: [], rowCount: 0 } as never;
    }
    return q(sql, params);
  };
}
const N = Number(process.argv[3] ?? 200);
const pids: string[] = [];
for (let i = 0; i < 20; i++) pids.push(String((await store.create('diku', 'usage-data-providers', { label: `p${i}`, status: 'active', harvestingConfig: { harvestingStatus: 'active', harvestVia: 'sushi' } })).id));
const months = Array.from({ length: N }, (_, i) => `${2000 + Math.floor(i / 12)}-${String((i % 12) + 1).padStart(2, '0')}`);
const t0 = performance.now(); const c0 = process.cpuUsage();
let k = 0;
for (const ym of months) for (const pid of pids.slice(0, 5)) {
  k++;
  const key = { providerId: pid, releases: ['5', '5.1'], reportName: 'TR', yearMonths: [ym] };
  if (mode === 'new') { const r = await store.insertNewMonths('diku', key, [rec(pid, ym)]); if (!r || !('ids' in r)) throw new Error('x'); }
  else { await store.findStoredMonths('diku', key); await store.upsertCounterReports('diku', [{ record: rec(pid, ym) }]); }
}
const c = process.cpuUsage(c0);
console.log(mode, k, 'responses', ((performance.now() - t0) / k).toFixed(2), 'ms wall each', ((c.user + c.system) / 1000 / k).toFixed(2), 'ms cpu each');
await svc.close();
