/**
 * Upload benchmark: a generated COUNTER 5.1 TR (JSON, twelve months, `--size` MB) is written to a file
 * and uploaded through `POST /counter-reports/multipartupload/provider/{id}` to the service started in
 * this process (PGlite in a temporary directory, or `--database-url`). Prints the time, the months
 * stored, whether their totals equal the generated sums, and the peak RSS of the process (sampled every
 * 20 ms), which holds the service, its database and the upload.
 *
 *   node --import tsx bench/upload.ts --size 200 [--database-url postgres://…]
 */
import { createWriteStream, openAsBlob } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { hugeReportChunks, hugeReportPlan, type HugeRequest } from '../mock/huge.ts';
import { loadConfig } from '../src/config.ts';
import { startService } from '../src/server.ts';

const MB = 1024 * 1024;
const { values } = parseArgs({
  options: { size: { type: 'string', default: '100' }, 'database-url': { type: 'string' } },
});
const size = Number(values.size);
const dir = await mkdtemp(join(tmpdir(), 'bench-upload-'));
const request: HugeRequest = { release: '5.1', begin: '2023-01', end: '2023-12', bytes: size * MB };
const file = join(dir, 'TR.json');
const out = createWriteStream(file);
for (const chunk of hugeReportChunks(request)) if (!out.write(chunk)) await once(out, 'drain');
out.end();
await once(out, 'close');
const plan = hugeReportPlan(request);

const config = loadConfig({
  ...process.env,
  PORT: '0',
  HARVESTER_DATA_DIR: join(dir, 'data'),
  HARVESTER_WORKERS: 'false',
  LOG_LEVEL: 'warn',
  ...(values['database-url'] ? { DATABASE_URL: values['database-url'] } : {}),
});
const svc = await startService(config);
const headers = { 'x-okapi-tenant': 'diku', 'content-type': 'application/json' };
const created = await fetch(`${svc.url}/usage-data-providers`, {
  method: 'POST',
  headers,
  body: JSON.stringify({
    label: 'bench',
    status: 'active',
    harvestingConfig: { harvestingStatus: 'inactive', harvestVia: 'sushi', reportRelease: '5.1' },
  }),
});
const providerId = ((await created.json()) as { id: string }).id;

global.gc?.();
let peak = process.memoryUsage().rss;
const before = peak;
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
const started = Date.now();
const form = new FormData();
form.append('file', await openAsBlob(file), 'TR.json');
const res = await fetch(`${svc.url}/counter-reports/multipartupload/provider/${providerId}`, {
  method: 'POST',
  headers: { 'x-okapi-tenant': 'diku' },
  body: form,
});
const text = await res.text();
const seconds = (Date.now() - started) / 1000;
clearInterval(sampler);

const totals = (await (
  await fetch(`${svc.url}/usage/totals?providerId=${providerId}&report=TR`, { headers })
).json()) as { months: { yearMonth: string; totals: Record<string, number> }[] };
const same = totals.months.every((m) => {
  const want = plan.sums.get(m.yearMonth);
  return want !== undefined && [...want].every(([metric, n]) => m.totals[metric] === n);
});
console.log(
  JSON.stringify({
    sizeMB: size,
    status: res.status,
    answer: text.slice(0, 60),
    seconds,
    MBperSecond: Math.round((size / seconds) * 10) / 10,
    months: totals.months.length,
    totalsEqualGenerated: same && totals.months.length === plan.sums.size,
    rssBeforeMB: Math.round(before / MB),
    peakRssMB: Math.round(peak / MB),
  }),
);
await svc.close();
await rm(dir, { recursive: true, force: true });
