/**
 * The claim statement of the work-item queue on a realistic queue (bench/harvest.ts's shape: N endpoints
 * × 15 items, `running` of them in flight): time per claim and the plan, on PGlite.
 *
 *   node --import tsx bench/harvest-claim.ts [--providers 200] [--running 16] [--claims 200] [--module <file>]
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { PgliteDb } from '../src/store/pglite.ts';
import { migrateSystem } from '../src/store/migrations.ts';
import { CQL_SUPPORT_SQL } from '../src/cql/index.ts';
import { configureEndpoint } from '../src/store/sql/endpoints.ts';
import { WorkItemQueue as CurrentQueue } from '../src/store/sql/work-items.ts';

const { values } = parseArgs({
  options: {
    providers: { type: 'string', default: '200' },
    running: { type: 'string', default: '16' },
    claims: { type: 'string', default: '200' },
    // another version of src/store/sql/work-items.ts to compare with (e.g. `git show HEAD~1:...` saved)
    module: { type: 'string' },
  },
});
const WorkItemQueue = values.module
  ? ((await import(values.module)) as { WorkItemQueue: typeof CurrentQueue }).WorkItemQueue
  : CurrentQueue;
const providers = Number(values.providers);
const db = await PgliteDb.open(undefined);
await migrateSystem(db, CQL_SUPPORT_SQL);
const queue = new WorkItemQueue(db, 'bench', 5 * 60_000, 4);
const now = Date.now();
await db.transaction(async (tx) => {
  for (let p = 1; p <= providers; p++) {
    const endpoint = `cs51|http://127.0.0.1/ok-${p}`;
    const jobId = randomUUID();
    await configureEndpoint(tx, endpoint, { maxInFlight: 1, minIntervalMs: 0 });
    await tx.query(
      `INSERT INTO harvester.harvest_runs (job_id, tenant, provider_id, created_at) VALUES ($1, 'diku', $2, now())`,
      [jobId, `p${p}`],
    );
    const items = [
      ...Array.from({ length: 12 }, (_, i) => {
        const m = `2022-${String(i + 1).padStart(2, '0')}`;
        return { reportName: 'TR', begin: m, end: m };
      }),
      ...['PR', 'DR', 'IR'].map((r) => ({ reportName: r, begin: '2022-01', end: '2022-12' })),
    ];
    await queue.enqueue(tx, { tenant: 'diku', jobId, providerId: `p${p}`, endpoint }, items, now);
  }
});
const claimed = [];
for (let i = 0; i < Number(values.running); i++) claimed.push(await queue.claim(Date.now()));
// Steady state: take one, finish one (remove), as the engine does.
const t = performance.now();
const cpu0 = process.cpuUsage();
let claimMs = 0;
const n = Number(values.claims);
for (let i = 0; i < n; i++) {
  const done = claimed.shift();
  if (done) await queue.remove(done.id);
  const c = performance.now();
  claimed.push(await queue.claim(Date.now()));
  claimMs += performance.now() - c;
}
const cpu = process.cpuUsage(cpu0);
const ms = (performance.now() - t) / n;
console.log(
  `${providers} providers (${providers * 15} items), ${values.running} running: ${ms.toFixed(2)} ms per claim + remove (claim ${(claimMs / n).toFixed(2)} ms), CPU ${((cpu.user + cpu.system) / 1000 / n).toFixed(2)} ms per round (${n} rounds)`,
);
await db.close();
