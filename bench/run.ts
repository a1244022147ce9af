/**
 * The standard set of benchmarks (`npm run bench`, docs/benchmarks.md section 0): runs the bench
 * scripts one after the other as child processes, reads the summary each prints as its last line
 * (`BENCH_RESULT <JSON>`, bench/result.ts) and prints one table: every case with today's figures next
 * to its goal and whether the goal is met.
 *
 *   npm run bench                        # the standard set: the goals' sizes, ≥ 3 runs each (long)
 *   npm run bench -- --quick             # small sizes, 1 run each: a smoke check of minutes
 *   npm run bench -- --only idle,scaling # some rows only (ids: --list)
 *   npm run bench -- --from a.out b.out  # the table again from saved outputs (a row of b replaces a's)
 *
 * The scripts' own output goes to standard error as they run; standard output gets the table and,
 * last, a BENCH_RESULT line with every row.
 */
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { benchResult, loadAverage, parseBenchResult, type BenchSummary } from './result.ts';

type R = BenchSummary & Record<string, any>;

interface Row {
  id: string;
  case: string;
  script: string;
  standard: string[];
  quick: string[];
  goal: string;
  today(r: R): string;
  met(r: R): boolean;
}

const n = (v: unknown, digits = 1): string =>
  typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '-';
const sec = (ms: unknown): string => (typeof ms === 'number' ? n(ms / 1000, 1) : '-');
const le = (v: unknown, bound: number): boolean => typeof v === 'number' && v <= bound;
const ge = (v: unknown, bound: number): boolean => typeof v === 'number' && v >= bound;
const verified = (r: R): string =>
  r.verifiedRuns === r.runs ? '' : ` (only ${r.verifiedRuns}/${r.runs} runs verified)`;
const allOk = (r: R): boolean =>
  Object.values(r.modes as Record<string, R>).every((m) => m.runsOk === m.runs && m.runs > 0);

/** Ours against the baseline: throughput ratios and peak RSS. */
const ingestToday = (r: R): string =>
  `${n(r.ratioWall, 2)}× wall, ${n(r.ratioCpu, 2)}× CPU; peak RSS ${n(r.modes?.ours?.peakRssMB, 0)} MB ` +
  `(baseline ${n(r.modes?.baseline?.peakRssMB, 0)} MB)`;

// --mock-keepalive: see docs/benchmarks.md section 2 (the mock's default keep-alive loses requests
// of a CPU-starved harvester).
const HARVEST = ['--providers', '200', '--latency', '50', '--runs', '3', '--mock-keepalive', '65000'];
const HARVEST_QUICK = ['--providers', '20', '--latency', '50', '--runs', '1', '--mock-keepalive', '65000'];

export const ROWS: Row[] = [
  {
    id: 'harvest-pglite',
    case: 'harvest, PGlite: 200 providers, latency 50 ms, concurrency 16, 0-ms spacing',
    script: 'harvest.ts',
    standard: HARVEST,
    quick: HARVEST_QUICK,
    goal: '≤ 2.0× the bound; ≤ 3 ms CPU per stored month (database included); peak RSS ≤ 512 MB',
    today: (r) =>
      `wall ${sec(r.wallMs)} s vs ${sec(r.boundMs)} s bound = ${n(r.ratio, 2)}×; ` +
      `${n(r.cpuPerRecordMs, 2)} ms CPU per month; peak RSS ${n(r.peakRssMB, 0)} MB${verified(r)}`,
    met: (r) =>
      le(r.ratio, 2) && le(r.cpuPerRecordMs, 3) && le(r.peakRssMB, 512) && r.verifiedRuns === r.runs,
  },
  {
    id: 'harvest-postgres',
    case: 'harvest, PostgreSQL: the same workload (`--db postgres`)',
    script: 'harvest.ts',
    standard: [...HARVEST, '--db', 'postgres'],
    quick: [...HARVEST_QUICK, '--db', 'postgres'],
    goal: '≤ 1.5× the bound; ≤ 1 ms service CPU per month; the configured concurrency (16) reached; service peak RSS ≤ 200 MB',
    today: (r) =>
      `wall ${sec(r.wallMs)} s vs ${sec(r.boundMs)} s bound = ${n(r.ratio, 2)}×; ` +
      `${n(r.cpuPerRecordMs, 2)} ms service CPU per month; at most ${r.maxInFlightTotal} of ${r.concurrency} ` +
      `requests in flight; service peak RSS ${n(r.peakRssMB, 0)} MB${verified(r)}`,
    met: (r) =>
      le(r.ratio, 1.5) &&
      le(r.cpuPerRecordMs, 1) &&
      ge(r.maxInFlightTotal, r.concurrency as number) &&
      le(r.peakRssMB, 200) &&
      r.verifiedRuns === r.runs,
  },
  {
    id: 'ingest-100-1',
    case: 'ingest, 100 MB one-month TR (PostgreSQL) vs `JSON.parse`',
    script: 'ingest.ts',
    standard: ['--size', '100', '--months', '1', '--runs', '3'],
    quick: ['--size', '10', '--months', '1', '--runs', '1'],
    goal: '≥ 0.8× the baseline, wall and CPU',
    today: ingestToday,
    met: (r) => ge(r.ratioWall, 0.8) && ge(r.ratioCpu, 0.8) && allOk(r),
  },
  {
    id: 'ingest-100-12',
    case: 'ingest, 100 MB twelve-month TR (PostgreSQL) vs `JSON.parse`',
    script: 'ingest.ts',
    standard: ['--size', '100', '--months', '12', '--runs', '3'],
    quick: ['--size', '10', '--months', '12', '--runs', '1'],
    goal: '≥ 0.6× the baseline (wall)',
    today: ingestToday,
    met: (r) => ge(r.ratioWall, 0.6) && allOk(r),
  },
  {
    id: 'ingest-1g',
    case: 'ingest, 1 GB one-month TR (PostgreSQL), compiled, with the Node flags of the service start command',
    script: 'ingest.ts',
    standard: ['--size', '1024', '--months', '1', '--runs', '3', '--modes', 'ours'],
    quick: ['--size', '100', '--months', '1', '--runs', '1', '--modes', 'ours'],
    goal: 'peak RSS ≤ 200 MB',
    today: (r) =>
      `peak RSS ${n(r.modes?.ours?.peakRssMB, 0)} MB (max ${n(r.modes?.ours?.maxPeakRssMB, 0)}); ` +
      `${n(r.modes?.ours?.mbps, 1)} MB/s`,
    met: (r) => le(r.modes?.ours?.maxPeakRssMB, 200) && allOk(r),
  },
  {
    id: 'idle',
    case: 'service on PGlite, RSS idle after `npm start` (first start and restart)',
    script: 'idle-rss.ts',
    standard: ['--runs', '3'],
    quick: ['--runs', '1', '--idle', '1'],
    goal: '≤ 350 MB on any start',
    today: (r) =>
      `first start ${n(r.ours?.first?.idleRssMB, 0)} MB, restart ${n(r.ours?.restart?.idleRssMB, 0)} MB ` +
      `(peaks ${n(r.ours?.first?.peakMB, 0)} / ${n(r.ours?.restart?.peakMB, 0)} MB)`,
    met: (r) => le(r.oursIdleRssMaxMB, 350),
  },
  {
    id: 'scaling',
    case: 'PostgreSQL, 1/2/4 service processes on one database: 100 providers, latency 50 ms',
    script: 'scaling.ts',
    standard: ['--providers', '100', '--rounds', '3'],
    quick: ['--providers', '10', '--rounds', '1'],
    goal: 'total CPU per stored month with 2 processes ≤ 1.1× that of one',
    today: (r) => {
      const parts = (r.configurations as R[]).map(
        (c) =>
          `${c.processes}: ${n(c.totalCpuPerMonthMs, 2)} ms (service ${n(c.serviceCpuPerMonthMs, 2)} + ` +
          `database ${n(c.dbCpuPerMonthMs, 2)}), wall ${sec(c.wallMs)} s` +
          (c.verifiedRuns === c.runs ? '' : ` (only ${c.verifiedRuns}/${c.runs} verified)`),
      );
      return (
        `CPU per month ${parts.join('; ')}; 2/1 = ${n(r.ratio2to1, 2)}×, 4/1 = ${n(r.ratio4to1, 2)}×` +
        (r.netRatio2to1 === undefined
          ? ''
          : ` (without the processes' idle CPU: ${n(r.netRatio2to1, 2)}×, ${n(r.netRatio4to1, 2)}×)`)
      );
    },
    met: (r) => le(r.ratio2to1, 1.1) && (r.configurations as R[]).every((c) => c.verifiedRuns === c.runs),
  },
  {
    id: 'export',
    case: 'export, 100 MB twelve-month TR as TSV vs the naive way (issue 6)',
    script: 'export.ts',
    standard: ['--size', '100', '--months', '12', '--runs', '3'],
    quick: ['--size', '10', '--months', '12', '--runs', '1'],
    goal: "≥ 1.0× the naive way's throughput",
    today: (r) =>
      `${n(r.ratioWall, 2)}× (${n(r.modes?.ours?.mbps, 1)} vs ${n(r.modes?.baseline?.mbps, 1)} MB/s); ` +
      `peak RSS ${n(r.modes?.ours?.peakRssMB, 0)} MB vs ${n(r.modes?.baseline?.peakRssMB, 0)} MB`,
    met: (r) => ge(r.ratioWall, 1) && allOk(r),
  },
];

/** Runs one bench script; its output goes to our standard error, its summary is returned. */
function runScript(script: string, args: string[]): Promise<{ result?: R; code: number | null }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, script), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => {
    out += d;
    process.stderr.write(d);
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        resolve({ result: parseBenchResult(out) as R | undefined, code });
      } catch {
        resolve({ code });
      }
    });
  });
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

const cell = (s: string) => s.replace(/\|/g, '\\|');

interface Done {
  row: Row;
  command: string;
  result?: R;
  code: number | null;
  seconds: number;
  quick: boolean;
}

/** Prints the table of the rows done and the BENCH_RESULT line of the set. */
function render(done: Done[], started: string, loadStart: number[], loadEnd: number[], commit: string): void {
  const quick = done.filter((d) => d.quick).length;
  const set = quick === 0 ? 'standard' : quick === done.length ? 'quick' : 'mixed';
  const title = {
    standard: 'Standard set',
    quick: 'QUICK SET (small sizes, 1 run: a smoke check, not the figures of the goals)',
    mixed: 'Standard set, the rows marked quick from the quick set',
  }[set];
  console.log(
    `\n${title}: commit ${commit}, node ${process.version}, ${cpus().length} CPUs, started ${started}; ` +
      `load average at start ${loadStart.join(' ')}, at end ${loadEnd.join(' ')}\n`,
  );
  console.log('| case | today | goal | met | command | load average (1/5/15 min) at its end |');
  console.log('|---|---|---|---|---|---|');
  const rows: BenchSummary[] = [];
  for (const { row, command, result, code, seconds, quick } of done) {
    const figures = result ? row.today(result) : `failed (exit ${String(code)}, no BENCH_RESULT line)`;
    // The quick set's sizes are those of its command, not of the case's name.
    const today = quick ? `quick: ${figures}` : figures;
    const met = result ? row.met(result) : false;
    const load = Array.isArray(result?.loadAverageEnd) ? (result.loadAverageEnd as number[]).join(' ') : '-';
    console.log(
      `| ${cell(row.case)} | ${cell(today)} | ${cell(row.goal)} | ${met ? 'met' : 'not met'} | \`${command}\` | ${load} |`,
    );
    rows.push({ id: row.id, command, met, seconds, quick, today, result: result ?? null });
  }
  benchResult('standard-set', {
    set,
    commit,
    started,
    rows,
    loadAverageStart: loadStart,
    loadAverageEnd: loadEnd,
  });
}

/**
 * The rows of earlier runs, from files holding their output (the set's BENCH_RESULT line); a row in a
 * later file replaces the same row of an earlier one.
 */
function fromFiles(files: string[]): {
  done: Done[];
  started: string;
  loadStart: number[];
  loadEnd: number[];
  commit: string;
} {
  const byId = new Map<string, Done>();
  let first: R | undefined;
  let last: R | undefined;
  const commits: string[] = [];
  for (const file of files) {
    const set = parseBenchResult(readFileSync(file, 'utf8')) as R | undefined;
    if (set?.bench !== 'standard-set') throw new Error(`${file}: no BENCH_RESULT line of npm run bench`);
    first ??= set;
    last = set;
    if (typeof set.commit === 'string') commits.push(set.commit);
    for (const saved of set.rows as R[]) {
      const row = ROWS.find((r) => r.id === saved.id);
      if (!row) continue;
      byId.set(row.id, {
        row,
        command: saved.command as string,
        result: (saved.result ?? undefined) as R | undefined,
        code: null,
        seconds: saved.seconds as number,
        quick: (saved.quick as boolean | undefined) ?? set.set === 'quick',
      });
    }
  }
  return {
    done: ROWS.flatMap((r) => byId.get(r.id) ?? []),
    started: (first?.started as string | undefined) ?? '-',
    loadStart: (first?.loadAverageStart as number[] | undefined) ?? [],
    loadEnd: (last?.loadAverageEnd as number[] | undefined) ?? [],
    commit: [...new Set(commits)].join(' + ') || '-',
  };
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      list: { type: 'boolean', default: false },
      from: { type: 'boolean', default: false },
    },
  });
  if (values.list) {
    for (const row of ROWS) console.log(`${row.id}\t${row.case}`);
    return;
  }
  if (values.from) {
    const saved = fromFiles(positionals);
    render(saved.done, saved.started, saved.loadStart, saved.loadEnd, saved.commit);
    return;
  }
  const only = values.only?.split(',').map((s) => s.trim());
  const unknown = only?.filter((id) => !ROWS.some((r) => r.id === id)) ?? [];
  if (unknown.length > 0) throw new Error(`unknown row(s) ${unknown.join(', ')}; --list shows the ids`);
  const rows = ROWS.filter((r) => !only || only.includes(r.id));
  const loadStart = loadAverage();
  const started = new Date().toISOString();
  const done: Done[] = [];
  for (const row of rows) {
    const args = values.quick ? row.quick : row.standard;
    const command = `node --import tsx bench/${row.script} ${args.join(' ')}`;
    process.stderr.write(`\n=== ${row.id}: ${command} (load average ${loadAverage().join(' ')})\n`);
    const t0 = Date.now();
    const { result, code } = await runScript(row.script, args);
    done.push({ row, command, result, code, seconds: (Date.now() - t0) / 1000, quick: values.quick });
  }
  render(done, started, loadStart, loadAverage(), gitCommit());
}

await main();
