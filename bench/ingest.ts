/**
 * Ingest benchmark: a generated COUNTER 5.1 TR of a given size is served from a local HTTP server and
 * ingested, in a child process per run (clean peak RSS), by
 *   ours:     the cs51 endpoint (real transport) → scanner/splitter → month streams → store (PostgreSQL
 *             server or PGlite), and
 *   baseline: the whole body read as one string, JSON.parse, the same per-month split in plain JS
 *             (no store).
 *
 *   node --import tsx bench/ingest.ts --size 100 --runs 3 [--months 12] [--store postgres|pglite] [--modes ours,baseline]
 *
 * `ours` children run with the Node flags of the service's default start command (package.json
 * `start`, e.g. its heap limits), then those of `--ours-flags`. Children of both modes run this script
 * compiled to JavaScript (bench/tsconfig.compiled.json), as `npm start` runs the service: no tsx.
 *
 * Mode `ours-novalidate` is `ours` with the report diagnostics (schema and Code of Practice checks)
 * turned off, to measure what they cost: `--modes ours,ours-novalidate,baseline`.
 *
 * Prints one row per run and a summary with medians. Needs Debian's postgresql package for --store
 * postgres (a private server is started in a temporary directory).
 */
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { hugeReportChunks, hugeReportSize, type HugeRequest } from '../mock/huge.ts';
import { startPgServer, type PgServer } from '../test/helpers/pg-server.ts';
import { benchResult, loadAverage, modeSummary } from './result.ts';
import { compiledBenchScript, serviceNodeFlags } from './service-process.ts';

const MB = 1024 * 1024;
const BEGIN = '2023-01';
/** Last month of a report of `months` months starting in January 2023 (1..12). */
export function endMonth(months: number): string {
  return `2023-${String(Math.min(Math.max(months, 1), 12)).padStart(2, '0')}`;
}
let END = endMonth(12);

export type Mode = 'ours' | 'ours-novalidate' | 'baseline';

export function isOurs(mode: Mode): boolean {
  return mode !== 'baseline';
}

export interface RunResult {
  mode: Mode;
  store: string;
  sizeMB: number;
  ok: boolean;
  seconds: number;
  /** User + system CPU time of the child (the PostgreSQL server's is not included). */
  cpuSeconds?: number;
  bodyBytes: number;
  maxRssMB: number;
  months: number;
  items: number;
  storedBytes?: number;
  error?: string;
}

export function hugeRequest(sizeMB: number): HugeRequest {
  return {
    release: '5.1',
    begin: BEGIN,
    end: END,
    bytes: sizeMB * MB,
  };
}

/** Serves the generated report on every GET, generated as it is sent (the server holds ~64 KiB). */
async function startReportServer(sizeMB: number): Promise<{ server: Server; url: string; bytes: number }> {
  const request = hugeRequest(sizeMB);
  const size = hugeReportSize(request).totalBytes;
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(size) });
    const chunks = hugeReportChunks(request, 256 * 1024);
    const pump = (): void => {
      for (let next = chunks.next(); !next.done; next = chunks.next()) {
        if (!res.write(next.value)) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    req.resume();
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}`, bytes: size };
}

/** Node flags for the children of mode `ours` only: the service's, then `--ours-flags`. */
let oursFlags: string[] = [];

/** This script compiled (set by `parent`): children run as plain JavaScript, as `npm start` runs. */
let childScript = '';

function runChild(args: string[], bodyBytes: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const flags = (process.env.BENCH_CHILD_FLAGS ?? '').split(' ').filter((f) => f !== '');
    if (isOurs(args[1] as Mode)) flags.push(...oursFlags);
    const child = spawn(process.execPath, [...flags, childScript, '--child', ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, BENCH_BODY_BYTES: String(bodyBytes) },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', () => {
      const line = out.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as RunResult);
      } catch {
        reject(new Error(`child gave no result: ${out.slice(-500)}`));
      }
    });
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function mbps(r: RunResult): number {
  return r.bodyBytes / MB / r.seconds;
}

function cpuMbps(r: RunResult): number {
  return r.bodyBytes / MB / (r.cpuSeconds ?? r.seconds);
}

function row(r: RunResult): string {
  if (!r.ok)
    return `| ${r.mode} | ${r.store} | ${r.sizeMB} | failed | | | | ${r.maxRssMB.toFixed(0)} | ${r.error ?? ''} |`;
  return `| ${r.mode} | ${r.store} | ${r.sizeMB} | ${r.seconds.toFixed(2)} | ${mbps(r).toFixed(1)} | ${(r.cpuSeconds ?? 0).toFixed(2)} | ${cpuMbps(r).toFixed(1)} | ${r.maxRssMB.toFixed(0)} | ${r.months} months, ${r.items} items |`;
}

function summary(results: RunResult[]): string[] {
  const lines = [
    '',
    '| mode | store | MB | runs ok | median wall s | median MB/s (wall) | median CPU s | median MB/s (CPU) | median peak RSS MB | max peak RSS MB |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  const groups = new Map<string, RunResult[]>();
  for (const r of results) {
    const key = `${r.mode}|${r.store}|${r.sizeMB}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  for (const [key, group] of groups) {
    const ok = group.filter((r) => r.ok);
    const [mode, store, size] = key.split('|');
    const rss = group.map((r) => r.maxRssMB);
    lines.push(
      ok.length === 0
        ? `| ${mode} | ${store} | ${size} | 0/${group.length} | failed | | | | ${median(rss).toFixed(0)} | ${Math.max(...rss).toFixed(0)} |`
        : `| ${mode} | ${store} | ${size} | ${ok.length}/${group.length} | ${median(ok.map((r) => r.seconds)).toFixed(2)} | ${median(ok.map(mbps)).toFixed(1)} | ${median(ok.map((r) => r.cpuSeconds ?? r.seconds)).toFixed(2)} | ${median(ok.map(cpuMbps)).toFixed(1)} | ${median(rss).toFixed(0)} | ${Math.max(...rss).toFixed(0)} |`,
    );
  }
  return lines;
}

async function parent(): Promise<void> {
  const { values } = parseArgs({
    options: {
      size: { type: 'string', default: '100' },
      runs: { type: 'string', default: '3' },
      store: { type: 'string', default: 'postgres' },
      modes: { type: 'string', default: 'ours,baseline' },
      'ours-flags': { type: 'string', default: '' },
      months: { type: 'string', default: '12' },
    },
  });
  END = endMonth(Number(values.months));
  const loadAverageStart = loadAverage();
  oursFlags = [...serviceNodeFlags(), ...values['ours-flags'].split(' ').filter((f) => f !== '')];
  childScript = compiledBenchScript('ingest');
  const sizeMB = Number(values.size);
  const runs = Number(values.runs);
  const modes = values.modes.split(',') as Mode[];
  const { server, url, bytes } = await startReportServer(sizeMB);
  let pg: PgServer | undefined;
  if (values.store === 'postgres' && modes.some(isOurs)) pg = await startPgServer();
  console.log(
    `report: 5.1 TR ${BEGIN}..${END}, ${bytes} bytes (${(bytes / MB).toFixed(1)} MiB), node ${process.version}`,
  );
  console.log(
    `ours runs with node flags: ${oursFlags.join(' ') || '(none)'}; load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  console.log(
    '| mode | store | MB | wall s | MB/s | CPU s | MB/s (CPU) | peak RSS MB | note |\n|---|---|---|---|---|---|---|---|---|',
  );
  const results: RunResult[] = [];
  try {
    for (let run = 0; run < runs; run++) {
      // Alternating order so that neither mode always runs on a warmer machine.
      const order = run % 2 === 0 ? modes : [...modes].reverse();
      for (const mode of order) {
        const db = isOurs(mode) && pg ? await pg.createDatabase() : 'pglite';
        const result = await runChild(
          ['--mode', mode, '--url', url, '--size', String(sizeMB), '--db', db, '--end', END],
          bytes,
        );
        results.push(result);
        console.log(row(result));
      }
    }
  } finally {
    server.close();
    await pg?.stop();
  }
  for (const line of summary(results)) console.log(line);
  console.log(
    `load average at the end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  benchResult('ingest', {
    sizeMB,
    months: Number(values.months),
    store: values.store,
    bodyBytes: bytes,
    ...modeSummary(results.map((r) => ({ ...r, bytes: r.bodyBytes }))),
    loadAverageStart,
  });
}

async function main(): Promise<void> {
  if (process.argv.includes('--child')) {
    const { child } = await import('./ingest-child.ts');
    await child();
  } else await parent();
}

await main();
