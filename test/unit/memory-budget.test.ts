/**
 * The one memory bound (src/memory-budget.ts, docs/decisions.md): without a heap limit every part keeps
 * the size it always had; under `--max-old-space-size` the parts shrink so that together they fit well
 * inside the heap; MEMORY_BUDGET_MB overrides the derivation and is checked like every setting.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { memoryBound, memoryBudgets, setMemoryBound } from '../../src/memory-budget.ts';

const MiB = 1024 * 1024;
const run = promisify(execFile);

/** The parts' budgets in a child process started with `flags`. */
async function budgetsUnder(flags: string[]): Promise<Record<string, number>> {
  const script = `
    import { getHeapStatistics } from 'node:v8';
    import { memoryBound, memoryBudgets } from ${JSON.stringify(join(import.meta.dirname, '../../src/memory-budget.ts'))};
    const b = memoryBudgets();
    console.log(JSON.stringify({
      heapLimit: getHeapStatistics().heap_size_limit, bound: memoryBound(), tableMerge: b.tableMergeBytes,
      r4: b.r4GroupedBytes, r4Spill: b.r4SpillThresholdBytes, upload: b.tabularUploadBytes,
      splitter8: b.splitterBucketBytes(8), splitter1: b.splitterBucketBytes(1),
    }));`;
  const { stdout } = await run(process.execPath, [
    ...flags,
    '--import',
    'tsx',
    '--input-type=module',
    '-e',
    script,
  ]);
  return JSON.parse(stdout) as Record<string, number>;
}

describe('the memory bound', () => {
  after(() => setMemoryBound(undefined));

  it('gives every part its former size when Node runs without a heap limit', async () => {
    const b = await budgetsUnder([]);
    assert.equal(b.tableMerge, 128 * MiB);
    assert.equal(b.r4, 128 * MiB);
    assert.equal(b.r4Spill, 32 * MiB);
    assert.equal(b.upload, 64 * MiB);
    assert.equal(b.splitter8, 16 * MiB);
  });

  it('shrinks the parts under a 128 MB heap limit so that all of them together fit in it', async () => {
    const b = await budgetsUnder(['--max-old-space-size=128']);
    // The table merge peaks at about 1.6 times its budget; the others at about theirs.
    const together = b.tableMerge * 1.6 + b.r4 + b.upload + b.splitter8 * 8;
    assert.ok(together <= b.heapLimit / 2, `${together / MiB} MiB of ${b.heapLimit / MiB} MiB`);
    assert.ok(b.tableMerge >= 2 * MiB && b.splitter1 >= 4 * MiB, JSON.stringify(b));
  });

  it('takes MEMORY_BUDGET_MB instead of the heap limit, and refuses a bad value', () => {
    const config = loadConfig({ MEMORY_BUDGET_MB: '400' });
    assert.equal(config.memoryBudgetMb, 400);
    setMemoryBound((config.memoryBudgetMb ?? 0) * MiB);
    assert.equal(memoryBound(), 400 * MiB);
    assert.equal(memoryBudgets().r4GroupedBytes, 100 * MiB);
    assert.equal(memoryBudgets().tableMergeBytes, Math.floor((100 * MiB) / 1.6));
    assert.equal(loadConfig({}).memoryBudgetMb, undefined);
    for (const bad of ['lots', '8', '-1'])
      assert.throws(
        () => loadConfig({ MEMORY_BUDGET_MB: bad }),
        (e: Error) => e instanceof ConfigError && /MEMORY_BUDGET_MB/.test(e.message),
      );
  });
});
