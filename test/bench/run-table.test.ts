/**
 * `npm run bench` (bench/run.ts, docs/benchmarks.md section 0) reads the BENCH_RESULT lines of the bench
 * scripts and prints each case with today's figures, its goal and whether the goal is met. Here from a
 * saved output (`--from`), so that no benchmark has to run: the table says met and not met as the
 * goals of issue 11 define them, and a saved quick row stays marked quick.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseBenchResult } from '../../bench/result.ts';

const runScript = join(import.meta.dirname, '../../bench/run.ts');

function saved(set: string, rows: Record<string, unknown>[]): string {
  return `some output of the scripts\nBENCH_RESULT ${JSON.stringify({ bench: 'standard-set', set, rows, loadAverageStart: [1, 1, 1], loadAverageEnd: [2, 2, 2] })}\n`;
}

describe('bench: the table of npm run bench', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-run-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('prints every saved row with its figures, its goal and met / not met; a later file replaces a row', () => {
    const idle = {
      bench: 'idle-rss',
      ours: { first: { idleRssMB: 318.4, peakMB: 340 }, restart: { idleRssMB: 321, peakMB: 342 } },
      oursIdleRssMaxMB: 321,
      loadAverageEnd: [3.5, 2, 1],
    };
    const scaling = (ratio2to1: number) => ({
      bench: 'scaling',
      configurations: [
        {
          processes: 1,
          runs: 3,
          verifiedRuns: 3,
          totalCpuPerMonthMs: 10,
          serviceCpuPerMonthMs: 4,
          dbCpuPerMonthMs: 6,
          wallMs: 9000,
        },
        {
          processes: 2,
          runs: 3,
          verifiedRuns: 3,
          totalCpuPerMonthMs: 10 * ratio2to1,
          serviceCpuPerMonthMs: 5,
          dbCpuPerMonthMs: 7,
          wallMs: 5000,
        },
      ],
      ratio2to1,
    });
    const first = join(dir, 'first.out');
    const second = join(dir, 'second.out');
    writeFileSync(
      first,
      saved('standard', [
        { id: 'idle', command: 'node --import tsx bench/idle-rss.ts --runs 3', seconds: 60, result: idle },
        { id: 'scaling', command: 'scaling standard', seconds: 600, result: scaling(1.05) },
        { id: 'export', command: 'export standard', seconds: 60, result: null },
      ]),
    );
    writeFileSync(
      second,
      saved('quick', [{ id: 'scaling', command: 'scaling quick', seconds: 60, result: scaling(1.3) }]),
    );
    const out = execFileSync(process.execPath, ['--import', 'tsx', runScript, '--from', first, second], {
      encoding: 'utf8',
    });
    const rows = out.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| case'));
    assert.equal(rows.length, 3, out);
    const [idleRow, scalingRow, exportRow] = rows;
    assert.match(idleRow, /first start 318 MB, restart 321 MB/);
    assert.match(idleRow, /\| ≤ 350 MB on any start \| met \|/);
    assert.match(idleRow, /\| 3\.5 2 1 \|$/);
    assert.match(scalingRow, /^\| PostgreSQL, 1\/2\/4 .*\| quick: CPU per month 1: 10\.00 ms/);
    assert.match(scalingRow, /2\/1 = 1\.30×/);
    assert.match(scalingRow, /\| not met \| `scaling quick` \|/);
    assert.match(exportRow, /failed .*\| not met \|/);
    assert.match(out, /Standard set, the rows marked quick from the quick set/);

    const summary = parseBenchResult(out);
    assert.equal(summary?.bench, 'standard-set');
    assert.deepEqual(
      (summary?.rows as { id: string; met: boolean }[]).map((r) => [r.id, r.met]),
      [
        ['idle', true],
        ['scaling', false],
        ['export', false],
      ],
    );
  });
});
