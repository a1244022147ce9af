import { startMockCounterServer } from '../mock/counter-server.ts';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { startService } from '../src/server.ts';
import { enableTenant } from '../src/tenant-lifecycle.ts';
import { addProvider } from '../test/helpers/harvest.ts';
const mock = await startMockCounterServer({ latencyMs: 0 });
const logger = createLogger({ level: 'error', write: () => {} });
const config = loadConfig({}, { host: '127.0.0.1', port: 0, memory: true, defaultTenant: '', cleanupIntervalMinutes: 0 });
const svc = await startService(config, { logger, listen: false });
await enableTenant(svc.ctx, 'diku');
await addProvider(svc, { label: 'x', serviceUrl: `${mock.url}/ok-1`, release: '5.1', reports: ['TR','PR','DR','IR'], start: '2022-01', end: '2022-12' });
await svc.jobs.startTenantJob('diku');
for (let i = 0; i < 200; i++) { await new Promise((r) => setTimeout(r, 250)); const r = await svc.ctx.db.query<{n:number}>(`SELECT count(*)::int n FROM diku_mod_erm_usage_harvester.counter_reports`); if (r.rows[0].n >= 48) break; }
const r = await svc.ctx.db.query(`SELECT jsonb->>'reportName' AS r, count(*)::int, avg(length(report::text))::int AS report_text, avg(pg_column_size(report))::int AS report_stored, avg(length(jsonb::text))::int AS jsonb_text, avg(pg_column_size(jsonb))::int AS jsonb_stored FROM diku_mod_erm_usage_harvester.counter_reports GROUP BY 1`);
console.log(r.rows);
const u = await svc.ctx.db.query(`SELECT count(*)::int, avg(pg_column_size(items))::int AS items_stored FROM diku_mod_erm_usage_harvester.usage_top_lists`);
console.log(u.rows);
await svc.close(); await mock.close();
