/** Bounded memory: a ~300 MB report split and read month by month in a child process (clean peak RSS). */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { it } from 'node:test';
import { hugeReportSize } from '../../mock/huge.ts';

const SIZE_MB = 300;
/** Node + tsx alone take ~80 MB; buckets are capped at 16 MiB, and a month is read as a stream. */
const MAX_RSS_MB = 320;

it(
  `a ${SIZE_MB} MB report is split and read month by month within ${MAX_RSS_MB} MB RSS`,
  { timeout: 900_000 },
  async () => {
    const child = join(dirname(fileURLToPath(import.meta.url)), 'memory-child.ts');
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', child, String(SIZE_MB)],
      {
        maxBuffer: 1024 * 1024,
      },
    );
    const result = JSON.parse(stdout.trim().split('\n').pop() ?? '') as {
      itemCount: number;
      itemsPerMonth: Record<string, number>;
      peakRssMB: number;
    };
    const { itemCount } = hugeReportSize({
      release: '5.1',
      begin: '2023-01',
      end: '2023-12',
      bytes: SIZE_MB * 1024 * 1024,
    });
    assert.equal(result.itemCount, itemCount);
    assert.equal(Object.keys(result.itemsPerMonth).length, 12);
    for (const n of Object.values(result.itemsPerMonth)) assert.equal(n, itemCount);
    assert.ok(result.peakRssMB < MAX_RSS_MB, `peak RSS ${result.peakRssMB.toFixed(0)} MB`);
  },
);
