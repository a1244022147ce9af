import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { splitReportStream, type MonthReport, type SplitOptions } from '../../src/counter/index.ts';
import { chunked, loadSamples } from '../helpers/counter.ts';

const samples = loadSamples().filter((s) =>
  ['r51/IR_sample_r51.json', 'r51/TR_sample_r51.json', 'r50/Sample-IR.json'].includes(s.name),
);

async function splitAll(text: string, release: '5' | '5.1', options: SplitOptions) {
  const result = await splitReportStream(chunked(text, 256), release, options);
  assert.equal(result.kind, 'report');
  if (result.kind !== 'report') throw new Error('not a report');
  return result;
}

async function drain(months: AsyncGenerator<MonthReport>): Promise<MonthReport[]> {
  const out: MonthReport[] = [];
  for await (const month of months) out.push(month);
  return out;
}

void describe('month buckets spill to disk and come back intact', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'counter-spill-test-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const sample of samples) {
    void it(`${sample.name}: a tiny threshold spills every month; the months equal the in-memory split`, async () => {
      const inMemory = await splitAll(sample.text, sample.release, {});
      assert.deepEqual(inMemory.stats().spilledMonths, []);
      const expected = await drain(inMemory.months());

      const spilled = await splitAll(sample.text, sample.release, { spillThresholdBytes: 1, tmpDir: dir });
      const stats = spilled.stats();
      assert.deepEqual(stats.spilledMonths, spilled.yearMonths);
      assert.ok(stats.spilledBytes > 0);
      const [spillDir] = readdirSync(dir).filter((f) => f.startsWith('counter-split-'));
      assert.ok(spillDir, 'a spill directory exists in tmpDir');
      const files = readdirSync(join(dir, spillDir));
      assert.deepEqual(
        files.sort(),
        spilled.yearMonths.map((m) => `${m}.jsonl`),
      );
      assert.equal(files.reduce((sum, f) => sum + statSync(join(dir, spillDir, f)).size, 0) > 0, true);

      const seen: MonthReport[] = [];
      for await (const month of spilled.months()) {
        seen.push(month);
        assert.ok(!existsSync(join(dir, spillDir, `${month.yearMonth}.jsonl`)), 'released after it is built');
      }
      assert.deepEqual(seen, expected);
      assert.ok(!existsSync(join(dir, spillDir)), 'the spill directory is removed at the end');
    });
  }

  void it('a small memory budget spills the largest buckets even below the per-month threshold', async () => {
    const sample = samples.find((s) => s.name === 'r51/IR_sample_r51.json')!;
    const result = await splitAll(sample.text, sample.release, { memoryBudgetBytes: 20_000, tmpDir: dir });
    const stats = result.stats();
    assert.ok(stats.spilledMonths.length > 0);
    assert.ok(stats.inMemoryBytes <= 20_000);
    const months = await drain(result.months());
    assert.equal(months.length, 12);
    assert.equal(readdirSync(dir).length, 0);
  });

  void it('dispose() removes spill files when the caller stops early', async () => {
    const sample = samples[0];
    const result = await splitAll(sample.text, sample.release, { spillThresholdBytes: 1, tmpDir: dir });
    for await (const month of result.months()) {
      assert.equal(month.yearMonth, result.yearMonths[0]);
      break;
    }
    assert.equal(readdirSync(dir).length, 0, 'breaking out of months() cleans up');
    const again = await splitAll(sample.text, sample.release, { spillThresholdBytes: 1, tmpDir: dir });
    assert.equal(readdirSync(dir).length, 1);
    await again.dispose();
    await again.dispose();
    assert.equal(readdirSync(dir).length, 0);
  });
});
