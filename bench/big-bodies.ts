/**
 * Memory under big requests (docs/benchmarks.md, section "Big bodies"; docs/hardening.md, "Memory under
 * big requests"): concurrent clients each POST one large counter report (a generated Title Report of
 * the mock's `huge` scenario, mock/huge.ts, sent as it is generated), then clients GET the collection
 * (`/counter-reports?limit=10`, the large reports included). The service runs as a child process
 * (`serve`, PGlite in a fresh data directory, or PostgreSQL); its resident set size is read from
 * /proc every 50 ms. Each scenario runs with bodies read streamed (the default) and, where it fits
 * the buffered body limit of 64 MiB, the buffered way (`STREAM_BODIES=false`) in the same invocation.
 *
 *   node --import tsx bench/big-bodies.ts [--runs 3] [--clients 20] [--mb 100] \
 *     [--baseline-clients 4] [--baseline-mb 60] [--gets 4] [--db pglite|postgres]
 *
 * Scenarios: A = baseline-clients × baseline-mb, buffered and streamed; B = clients × mb, streamed
 * (the buffered way refuses bodies over 64 MiB). Reports per run and medians: idle RSS after start,
 * peak RSS while the POSTs run and while the GETs run, wall times, answers other than 201/200.
 */
import { request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startChild, type ChildService } from '../test/helpers/child-service.ts';
import { startPgServer, type PgServer } from '../test/helpers/pg-server.ts';
import { loadAverage, postHugeReport, rssMb, rssSampler } from './service-process.ts';

const MB = 1024 * 1024;

interface Scenario {
  name: string;
  mode: 'streamed' | 'buffered';
  clients: number;
  mb: number;
  gets: number;
}

interface RunResult {
  scenario: string;
  mode: string;
  run: number;
  idleMb: number;
  postPeakMb: number;
  getPeakMb: number;
  postSeconds: number;
  getSeconds: number;
  /** Statuses other than 201 (POST) and 200 (GET), with counts. */
  failures: string;
  getMb: number;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function monthOf(i: number): string {
  const y = 2000 + Math.floor(i / 12);
  return `${y}-${String((i % 12) + 1).padStart(2, '0')}`;
}

/** GETs a collection, reading and dropping the answer; status and bytes. */
function getCollection(base: string, path: string): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { headers: { 'x-okapi-tenant': 'diku' } }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function tally(statuses: number[], ok: number): string[] {
  const counts = new Map<number, number>();
  for (const s of statuses) if (s !== ok) counts.set(s, (counts.get(s) ?? 0) + 1);
  return [...counts].map(([s, n]) => `${n}×${s}`);
}

async function runOnce(scenario: Scenario, run: number, pg: PgServer | undefined): Promise<RunResult> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-big-bodies-'));
  const env: Record<string, string> = {
    HARVESTER_DATA_DIR: dir,
    STREAM_BODIES: scenario.mode === 'streamed' ? 'true' : 'false',
    LOG_LEVEL: 'warn',
    HARVESTER_WORKERS: 'false',
    // On a loaded machine the service's event loop can be busy longer than the 20 s headers timeout
    // (a body parsed whole blocks it): Node then answers 408 to requests whose headers it has not read.
    SERVER_HEADERS_TIMEOUT_MS: '600000',
  };
  if (pg) env.DATABASE_URL = await pg.createDatabase();
  let svc: ChildService | undefined;
  try {
    svc = await startChild(`${scenario.name}-${scenario.mode}-${run}`, env, 300_000);
    const pid = svc.child.pid!;
    await new Promise((r) => setTimeout(r, 2_000));
    const idleMb = await rssMb(pid);
    const provider = await fetch(`${svc.url}/usage-data-providers`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-okapi-tenant': 'diku' },
      body: JSON.stringify({
        label: 'Big bodies',
        status: 'active',
        harvestingConfig: { harvestingStatus: 'inactive', harvestVia: 'sushi', reportRelease: '5' },
      }),
    });
    const providerId = ((await provider.json()) as { id: string }).id;
    const rss = rssSampler(pid);
    let t = performance.now();
    const posts = await Promise.all(
      Array.from({ length: scenario.clients }, (_, i) =>
        postHugeReport(svc!.url, providerId, monthOf(i), scenario.mb * MB).catch(() => -1),
      ),
    );
    const postSeconds = (performance.now() - t) / 1000;
    const postPeakMb = rss.peak();
    rss.reset();
    t = performance.now();
    const gets = await Promise.all(
      Array.from({ length: scenario.gets }, () =>
        getCollection(svc!.url, '/counter-reports?limit=10').catch(() => ({ status: -1, bytes: 0 })),
      ),
    );
    const getSeconds = (performance.now() - t) / 1000;
    const getPeakMb = rss.peak();
    rss.stop();
    return {
      scenario: scenario.name,
      mode: scenario.mode,
      run,
      idleMb,
      postPeakMb,
      getPeakMb,
      postSeconds,
      getSeconds,
      failures:
        [
          ...tally(posts, 201).map((s) => `POST ${s}`),
          ...tally(
            gets.map((g) => g.status),
            200,
          ).map((s) => `GET ${s}`),
        ].join(', ') || 'none',
      getMb: Math.max(...gets.map((g) => g.bytes)) / MB,
    };
  } finally {
    await svc?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '3' },
      clients: { type: 'string', default: '20' },
      mb: { type: 'string', default: '100' },
      'baseline-clients': { type: 'string', default: '4' },
      'baseline-mb': { type: 'string', default: '60' },
      gets: { type: 'string', default: '4' },
      db: { type: 'string', default: 'pglite' },
    },
  });
  const runs = Number(values.runs);
  const gets = Number(values.gets);
  const scenarios: Scenario[] = [
    {
      name: 'A',
      mode: 'buffered',
      clients: Number(values['baseline-clients']),
      mb: Number(values['baseline-mb']),
      gets,
    },
    {
      name: 'A',
      mode: 'streamed',
      clients: Number(values['baseline-clients']),
      mb: Number(values['baseline-mb']),
      gets,
    },
    { name: 'B', mode: 'streamed', clients: Number(values.clients), mb: Number(values.mb), gets },
  ];
  console.log(`big-bodies: db ${values.db}, runs ${runs}; load average at start: ${loadAverage()}`);
  const pg = values.db === 'postgres' ? await startPgServer() : undefined;
  const results: RunResult[] = [];
  try {
    for (let run = 1; run <= runs; run++)
      for (const scenario of scenarios) {
        const r = await runOnce(scenario, run, pg);
        results.push(r);
        console.log(
          `run ${run} ${scenario.name} ${scenario.mode} ${scenario.clients}×${scenario.mb} MB: idle ${r.idleMb.toFixed(0)} MB, ` +
            `POST peak ${r.postPeakMb.toFixed(0)} MB in ${r.postSeconds.toFixed(1)} s, GET peak ${r.getPeakMb.toFixed(0)} MB ` +
            `in ${r.getSeconds.toFixed(1)} s (${r.getMb.toFixed(0)} MB answer), other answers: ${r.failures}; load ${loadAverage()}`,
        );
      }
  } finally {
    await pg?.stop();
  }
  console.log(
    '\n| scenario | bodies | mode | median idle RSS MB | median peak RSS during POSTs MB | median POST wall s | median peak RSS during GETs MB | GET answer MB | other answers |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const s of scenarios) {
    const rows = results.filter((r) => r.scenario === s.name && r.mode === s.mode);
    const m = (f: (r: RunResult) => number) => median(rows.map(f)).toFixed(0);
    console.log(
      `| ${s.name} | ${s.clients} × ${s.mb} MB | ${s.mode} | ${m((r) => r.idleMb)} | ${m((r) => r.postPeakMb)} | ${median(rows.map((r) => r.postSeconds)).toFixed(1)} | ${m((r) => r.getPeakMb)} | ${m((r) => r.getMb)} | ${[...new Set(rows.map((r) => r.failures))].join('; ')} |`,
    );
  }
  console.log(`load average at end: ${loadAverage()}`);
}

await main();
