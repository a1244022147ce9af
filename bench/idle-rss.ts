/**
 * Memory of the service on its embedded database right after `npm start`, on a first start (a new
 * database is created) and on a restart (the database is reopened), against the baseline of creating
 * and opening PGlite the way the service did before (initdb inside the process, PGlite's default
 * 128MB shared_buffers), alternating within one invocation.
 *
 *   node --import tsx bench/idle-rss.ts [--runs 3] [--idle 5]
 *
 * ours:     `npm start`'s command (package.json: the compiled `node dist/src/cli/main.js serve`, built first
 *           by its `prestart`) on a fresh data directory, RSS (VmRSS) and peak
 *           (VmHWM) once /admin/health answers and again after --idle seconds; then the same on a restart.
 * baseline: a bare `PGlite.create(dir)` in a child process with PGlite's defaults (no service around
 *           it, so the service's own ~150 MB come on top of these figures), first start and reopen.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { benchResult, loadAverage, median } from './result.ts';
import { serviceStartArgs } from './service-process.ts';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '3' }, idle: { type: 'string', default: '5' } },
});
const RUNS = Number(values.runs);
const IDLE_MS = Number(values.idle) * 1000;
const ROOT = join(import.meta.dirname, '..');
const START_ARGS = serviceStartArgs();

interface Sample {
  mode: string;
  start: 'first' | 'restart';
  seconds: number;
  rssMB: number;
  idleRssMB: number;
  peakMB: number;
}

function status(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(field));
  return Number(line?.split(/\s+/)[1] ?? 0) / 1024;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await once(child, 'exit');
}

/** The child's memory now that it is ready, and again after the idle time. */
async function measureReady(
  child: ChildProcess,
  mode: string,
  start: Sample['start'],
  t0: number,
): Promise<Sample> {
  const seconds = (Date.now() - t0) / 1000;
  const rssMB = status(child.pid!, 'VmRSS');
  await sleep(IDLE_MS);
  const idleRssMB = status(child.pid!, 'VmRSS');
  return { mode, start, seconds, rssMB, idleRssMB, peakMB: status(child.pid!, 'VmHWM') };
}

async function ours(dataDir: string, start: Sample['start']): Promise<Sample> {
  const port = await freePort();
  const t0 = Date.now();
  const child = spawn(process.execPath, START_ARGS, {
    cwd: ROOT,
    env: { ...process.env, HARVESTER_DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'warn' },
    stdio: 'ignore',
  });
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`service exited with ${child.exitCode}`);
      const ok = await fetch(`http://127.0.0.1:${port}/admin/health`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      await sleep(200);
    }
    return await measureReady(child, 'ours (service)', start, t0);
  } finally {
    await stop(child);
  }
}

const BASELINE_SCRIPT = `
import { PGlite } from '@electric-sql/pglite';
const pg = await PGlite.create(process.argv[1]);
await pg.query('SELECT 1');
process.stdout.write('ready\\n');
await new Promise((r) => setTimeout(r, ${IDLE_MS} + 60000));
`;

async function baseline(dataDir: string, start: Sample['start']): Promise<Sample> {
  const t0 = Date.now();
  const child = spawn(process.execPath, ['--input-type=module', '-e', BASELINE_SCRIPT, dataDir], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  try {
    await once(child.stdout, 'data');
    return await measureReady(child, 'baseline (PGlite alone, in-process initdb, 128MB buffers)', start, t0);
  } finally {
    await stop(child);
  }
}

const load = () =>
  loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');

const loadAverageStart = loadAverage();
console.log(
  `idle RSS, ${RUNS} runs alternating, idle ${IDLE_MS / 1000} s; ours: node ${START_ARGS.join(' ')}; ` +
    `load average at start: ${load()}`,
);
const samples: Sample[] = [];
for (let run = 0; run < RUNS; run++) {
  for (const measure of [ours, baseline]) {
    const dir = mkdtempSync(join(tmpdir(), 'harvester-idle-'));
    try {
      for (const start of ['first', 'restart'] as const) {
        const s = await measure(dir, start);
        samples.push(s);
        console.log(
          `run ${run + 1} ${s.mode} ${s.start}: ready ${s.seconds.toFixed(1)} s, RSS ${s.rssMB.toFixed(0)} MB, ` +
            `after idle ${s.idleRssMB.toFixed(0)} MB, peak ${s.peakMB.toFixed(0)} MB (load ${load()})`,
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
console.log(
  '\n| mode | start | median ready s | median RSS MB | median RSS after idle MB | median peak MB |',
);
console.log('|---|---|---|---|---|---|');
for (const mode of [...new Set(samples.map((s) => s.mode))])
  for (const start of ['first', 'restart'] as const) {
    const g = samples.filter((s) => s.mode === mode && s.start === start);
    console.log(
      `| ${mode} | ${start} | ${median(g.map((s) => s.seconds)).toFixed(1)} | ${median(g.map((s) => s.rssMB)).toFixed(0)} | ${median(g.map((s) => s.idleRssMB)).toFixed(0)} | ${median(g.map((s) => s.peakMB)).toFixed(0)} |`,
    );
  }
console.log(`load average at end: ${load()}`);
const summary = (mode: string, start: Sample['start']) => {
  const g = samples.filter((s) => s.mode.startsWith(mode) && s.start === start);
  return {
    runs: g.length,
    readyS: median(g.map((s) => s.seconds)),
    rssMB: median(g.map((s) => s.rssMB)),
    idleRssMB: median(g.map((s) => s.idleRssMB)),
    peakMB: median(g.map((s) => s.peakMB)),
  };
};
const oursSummary = { first: summary('ours', 'first'), restart: summary('ours', 'restart') };
benchResult('idle-rss', {
  runs: RUNS,
  idleSeconds: IDLE_MS / 1000,
  ours: oursSummary,
  baseline: { first: summary('baseline', 'first'), restart: summary('baseline', 'restart') },
  /** The larger of the first start's and the restart's median RSS after the idle time (the goal's figure). */
  oursIdleRssMaxMB: Math.max(oursSummary.first.idleRssMB, oursSummary.restart.idleRssMB),
  loadAverageStart,
});
