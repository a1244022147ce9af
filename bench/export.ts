/**
 * Export benchmark: a generated COUNTER 5.1 TR (test/mock/huge.ts, as in bench/ingest.ts) is split by
 * the project's month splitter into the months the harvester stores, written to a month directory
 * (header + one item text per line), and exported as one report for its whole range, in a child
 * process per run (clean peak RSS), by
 *   ours:     stored months through the StoredMonth interface → prepareExport → body (bytes discarded);
 *   baseline: every month as one JSON text, JSON.parse, the table built in memory, written as TSV.
 *
 *   node --import tsx bench/export.ts --size 100 --months 12 --runs 3 [--format tsv] [--ours-flags=...]
 *     [--budget MiB] (the merge's memory budget of `ours`; default that of prepareExport, 128 MiB)
 *     [--table] (`ours` always merges with the table, never side by side)
 *
 * `--size` is the size of the report as the provider delivers it (MB); the stored months are larger
 * (every month repeats the item descriptions). The month directory is kept in the temporary
 * directory and reused by later invocations (`--regenerate` makes it again).
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { splitReportStream } from '../src/counter/index.ts';
import { hugeReportChunks, hugeReportSize, type HugeRequest } from '../mock/huge.ts';
import { storedBytes, type ExportRunResult } from './export-child.ts';
import { benchResult, loadAverage, modeSummary } from './result.ts';

const MB = 1024 * 1024;
const BEGIN = '2023-01';

function endMonth(months: number): string {
  return `2023-${String(Math.min(Math.max(months, 1), 12)).padStart(2, '0')}`;
}

async function* body(request: HugeRequest): AsyncGenerator<Uint8Array> {
  for (const chunk of hugeReportChunks(request, 256 * 1024)) yield Buffer.from(chunk);
}

/** Splits the generated report with the harvester's splitter and writes the stored months. */
async function generate(dir: string, request: HugeRequest): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const result = await splitReportStream(body(request), '5.1', { tmpDir: tmpdir() });
  if (result.kind !== 'report') throw new Error(`generated report did not split: ${result.kind}`);
  for await (const month of result.monthStreams()) {
    await writeFile(join(dir, `${month.yearMonth}.header.json`), JSON.stringify(month.header));
    const out = createWriteStream(join(dir, `${month.yearMonth}.items.jsonl`));
    for await (const item of month.items()) if (!out.write(`${item}\n`)) await once(out, 'drain');
    out.end();
    await once(out, 'finish');
  }
  await writeFile(join(dir, 'complete'), '');
}

function runChild(args: string[], flags: string[]): Promise<ExportRunResult> {
  const script = fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...flags, '--import', 'tsx', script, '--child', ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as ExportRunResult);
      } catch {
        const mode = args[args.indexOf('--mode') + 1] as 'ours' | 'baseline';
        resolve({
          mode,
          ok: false,
          seconds: 0,
          cpuSeconds: 0,
          maxRssMB: 0,
          inputBytes: 0,
          outputBytes: 0,
          error: `child exited with ${String(code)}: ${out.slice(-300)}`,
        });
      }
    });
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function load(): string {
  return loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');
}

function row(r: ExportRunResult): string {
  if (!r.ok) return `| ${r.mode} | failed | | | ${r.maxRssMB.toFixed(0)} | ${load()} | ${r.error ?? ''} |`;
  const mbps = r.inputBytes / MB / r.seconds;
  return `| ${r.mode} | ${r.seconds.toFixed(2)} | ${mbps.toFixed(1)} | ${r.cpuSeconds.toFixed(2)} | ${r.maxRssMB.toFixed(0)} | ${load()} | ${(r.outputBytes / MB).toFixed(1)} MB out${r.strategy ? `, ${r.strategy}` : ''} |`;
}

async function parent(): Promise<void> {
  const { values } = parseArgs({
    options: {
      size: { type: 'string', default: '100' },
      months: { type: 'string', default: '12' },
      runs: { type: 'string', default: '3' },
      format: { type: 'string', default: 'tsv' },
      modes: { type: 'string', default: 'ours,baseline' },
      'ours-flags': { type: 'string', default: '' },
      budget: { type: 'string' },
      table: { type: 'boolean', default: false },
      regenerate: { type: 'boolean', default: false },
    },
  });
  const sizeMB = Number(values.size);
  const loadAverageStart = loadAverage();
  const end = endMonth(Number(values.months));
  const request: HugeRequest = { release: '5.1', begin: BEGIN, end, bytes: sizeMB * MB };
  const { itemCount, totalBytes } = hugeReportSize(request);
  const dir = join(tmpdir(), `export-bench-${sizeMB}MB-${values.months}m`);
  if (values.regenerate || !existsSync(join(dir, 'complete'))) {
    console.log(`generating and splitting ${(totalBytes / MB).toFixed(1)} MiB into ${dir} ...`);
    await generate(dir, request);
  }
  const stored = await storedBytes(dir);
  console.log(
    `report: 5.1 TR ${BEGIN}..${end}, ${itemCount} items, delivered ${(totalBytes / MB).toFixed(1)} MiB, ` +
      `stored months ${(stored / MB).toFixed(1)} MiB; format ${values.format}; node ${process.version}; load average ${load()}`,
  );
  console.log(
    '| mode | wall s | MB/s (stored input) | CPU s | peak RSS MB | load average | note |\n|---|---|---|---|---|---|---|',
  );
  const modes = values.modes.split(',') as Array<'ours' | 'baseline'>;
  const oursFlags = values['ours-flags'].split(' ').filter((f) => f !== '');
  const results: ExportRunResult[] = [];
  for (let run = 0; run < Number(values.runs); run++) {
    const order = run % 2 === 0 ? modes : [...modes].reverse();
    for (const mode of order) {
      const format = mode === 'baseline' ? 'tsv' : values.format;
      const result = await runChild(
        [
          ...['--mode', mode, '--dir', dir, '--begin', BEGIN, '--end', end, '--format', format],
          ...(mode === 'ours' && values.budget !== undefined ? ['--budget', values.budget] : []),
          ...(mode === 'ours' && values.table ? ['--table'] : []),
        ],
        mode === 'ours' ? oursFlags : [],
      );
      results.push(result);
      console.log(row(result));
    }
  }
  console.log(
    '\n| mode | runs ok | median wall s | median MB/s | median CPU s | median peak RSS MB | max peak RSS MB |',
  );
  console.log('|---|---|---|---|---|---|---|');
  for (const mode of modes) {
    const group = results.filter((r) => r.mode === mode);
    const ok = group.filter((r) => r.ok);
    const rss = group.map((r) => r.maxRssMB);
    if (ok.length === 0) {
      console.log(
        `| ${mode} | 0/${group.length} | failed | | | ${median(rss).toFixed(0)} | ${Math.max(...rss).toFixed(0)} |`,
      );
      continue;
    }
    console.log(
      `| ${mode} | ${ok.length}/${group.length} | ${median(ok.map((r) => r.seconds)).toFixed(2)} | ${median(ok.map((r) => r.inputBytes / MB / r.seconds)).toFixed(1)} | ${median(ok.map((r) => r.cpuSeconds)).toFixed(2)} | ${median(rss).toFixed(0)} | ${Math.max(...rss).toFixed(0)} |`,
    );
  }
  console.log(`load average at the end: ${load()}`);
  benchResult('export', {
    sizeMB,
    months: Number(values.months),
    format: values.format,
    storedBytes: stored,
    ...modeSummary(results.map((r) => ({ ...r, bytes: r.inputBytes }))),
    loadAverageStart,
  });
}

if (process.argv.includes('--child')) {
  const { child } = await import('./export-child.ts');
  await child();
} else await parent();
