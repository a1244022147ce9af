/**
 * Bounded memory: generated stored months exported in child processes (clean peak RSS). The output is
 * checked while it streams (rows and sums per metric); the limits have generous margins (Node and tsx
 * alone take about 80 MB) and are far below what holding the data would take.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { hugeItem, hugeReportChunks } from '../../../mock/huge.ts';
import { storedMonths } from '../../helpers/tabular.ts';

interface ChildResult {
  rows: number;
  expectedRows: number;
  totals: Record<string, number>;
  expected: Record<string, number>;
  firstTitles: string[];
  bytes: number;
  spill?: { spilledBytes: number; partitionsSpilled: number };
  peakRssMB: number;
}

async function child(...args: string[]): Promise<ChildResult> {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'memory-child.ts');
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script, ...args], {
    maxBuffer: 1024 * 1024,
  });
  return JSON.parse(stdout.trim().split('\n').pop() ?? '') as ChildResult;
}

void it('the generated month items are what the month splitter stores for the generated report', async () => {
  const request = { release: '5.1', begin: '2023-01', end: '2023-03', bytes: 64 * 1024 } as const;
  const text = [...hugeReportChunks(request)].join('');
  const months = await storedMonths(text, '5.1');
  assert.deepEqual(
    months.map((m) => m.yearMonth),
    ['2023-01', '2023-02', '2023-03'],
  );
  for (const month of months)
    assert.deepEqual(
      month.texts,
      month.texts.map((_, i) => hugeItem('5.1', i, [month.yearMonth])),
    );
});

void describe('export memory does not grow with the report', { timeout: 900_000 }, () => {
  void it('twelve months merged with an 8 MiB budget: 4× the data, about the same peak RSS', async () => {
    const small = await child('merge', '20000', '8');
    const large = await child('merge', '80000', '8');
    for (const result of [small, large]) {
      assert.equal(result.rows, result.expectedRows);
      assert.deepEqual(result.totals, result.expected);
      assert.ok((result.spill?.spilledBytes ?? 0) > 0, 'the merge spilled');
      assert.ok(result.peakRssMB < 320, `peak RSS ${result.peakRssMB.toFixed(0)} MB`);
    }
    // Item 0 has no usage in the first month: items are in the order of their first month.
    assert.deepEqual(large.firstTitles, [
      'Huge Title 000000001',
      'Huge Title 000000002',
      'Huge Title 000000003',
    ]);
    // Most of the ~400 MB of stored months went through the spill files, not through memory.
    assert.ok(
      (large.spill?.spilledBytes ?? 0) > 300 * 1024 * 1024,
      `spilled ${large.spill?.spilledBytes} bytes`,
    );
    assert.ok(
      large.peakRssMB < small.peakRssMB + 100,
      `peak RSS ${small.peakRssMB.toFixed(0)} MB → ${large.peakRssMB.toFixed(0)} MB`,
    );
  });

  void it('one month of 600,000 items (about 250 MB stored) streams within 200 MB RSS', async () => {
    const result = await child('stream', '600000');
    assert.equal(result.rows, result.expectedRows);
    assert.deepEqual(result.totals, result.expected);
    assert.equal(result.spill, undefined, 'streamed item by item, nothing combined');
    assert.ok(result.peakRssMB < 200, `peak RSS ${result.peakRssMB.toFixed(0)} MB`);
  });

  void it('an xlsx of 600,000 rows is written within 250 MB RSS', async () => {
    const result = await child('xlsx', '150000');
    assert.ok(result.bytes > 20 * 1024 * 1024, `${result.bytes} bytes`);
    assert.ok(result.peakRssMB < 250, `peak RSS ${result.peakRssMB.toFixed(0)} MB`);
  });
});
