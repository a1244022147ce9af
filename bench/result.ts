/**
 * The contract between the bench scripts and `npm run bench` (bench/run.ts, docs/benchmarks.md
 * section 0): every bench script ends its standard output with one line
 *
 *   BENCH_RESULT <one-line JSON>
 *
 * holding its summary (medians, ratios, peak RSS, runs, load average). `benchResult` writes it,
 * `parseBenchResult` reads it back from a script's output.
 */
import { loadavg } from 'node:os';

export const BENCH_RESULT_PREFIX = 'BENCH_RESULT ';

export type BenchSummary = Record<string, unknown>;

/** The load averages (1, 5, 15 minutes), rounded to two decimals. */
export function loadAverage(): number[] {
  return loadavg().map((n) => Math.round(n * 100) / 100);
}

/** Median of the finite values; NaN when there is none. */
export function median(values: number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** Rounds every number of a JSON value to `digits` decimals (NaN and infinities become null). */
function rounded(value: unknown, digits: number): unknown {
  if (typeof value === 'number')
    return Number.isFinite(value) ? Math.round(value * 10 ** digits) / 10 ** digits : null;
  if (Array.isArray(value)) return value.map((v) => rounded(v, digits));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rounded(v, digits)]));
  return value;
}

/** Writes the summary line; the load average now is added as `loadAverageEnd` unless the summary has one. */
export function benchResult(bench: string, summary: BenchSummary): void {
  const line = JSON.stringify(rounded({ bench, loadAverageEnd: loadAverage(), ...summary }, 4));
  process.stdout.write(`${BENCH_RESULT_PREFIX}${line}\n`);
}

/** The summary of the last BENCH_RESULT line of a script's output, or undefined when there is none. */
export function parseBenchResult(output: string): BenchSummary | undefined {
  const lines = output.split('\n').filter((l) => l.startsWith(BENCH_RESULT_PREFIX));
  const last = lines.pop();
  if (last === undefined) return undefined;
  const parsed: unknown = JSON.parse(last.slice(BENCH_RESULT_PREFIX.length));
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new Error(`BENCH_RESULT is not a JSON object: ${last.slice(0, 200)}`);
  return parsed as BenchSummary;
}

/** One run of a bench that compares modes (ours, a baseline) on the same input. */
export interface ModeRun {
  mode: string;
  ok: boolean;
  seconds: number;
  cpuSeconds?: number;
  maxRssMB: number;
  /** Input bytes the throughput is computed on. */
  bytes: number;
}

/**
 * Medians per mode (wall, CPU, MB/s on wall and CPU, peak RSS) and, when both `ours` and `baseline`
 * ran, the ratios of ours to the baseline's throughput (wall and CPU; above 1 = ours is faster).
 */
export function modeSummary(runs: ModeRun[]): BenchSummary {
  const MB = 1024 * 1024;
  const modes: Record<string, BenchSummary> = {};
  for (const mode of [...new Set(runs.map((r) => r.mode))]) {
    const group = runs.filter((r) => r.mode === mode);
    const ok = group.filter((r) => r.ok);
    modes[mode] = {
      runs: group.length,
      runsOk: ok.length,
      wallS: median(ok.map((r) => r.seconds)),
      cpuS: median(ok.map((r) => r.cpuSeconds ?? r.seconds)),
      mbps: median(ok.map((r) => r.bytes / MB / r.seconds)),
      cpuMbps: median(ok.map((r) => r.bytes / MB / (r.cpuSeconds ?? r.seconds))),
      peakRssMB: median(group.map((r) => r.maxRssMB)),
      maxPeakRssMB: Math.max(...group.map((r) => r.maxRssMB)),
    };
  }
  const ours = modes.ours;
  const base = modes.baseline;
  const ratio = (k: string) => (ours && base ? (ours[k] as number) / (base[k] as number) : NaN);
  return { modes, ratioWall: ratio('mbps'), ratioCpu: ratio('cpuMbps') };
}
