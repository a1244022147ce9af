/** The tenant job's provider listing (paging) and fan-out, without HTTP. */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { createLogger } from '../../src/log.ts';
import { listActiveProviderIds, runTenantJob } from '../../src/jobs/runner.ts';
import { FakeErm } from '../helpers/jobs.ts';

describe('tenant job', () => {
  it('reads the active providers 1000 at a time, in id order', async () => {
    const erm = new FakeErm();
    for (let i = 0; i < 2345; i++)
      erm.addProvider(`id-${String(i).padStart(5, '0')}`, i % 10 === 0 ? 'inactive' : 'active');
    const ids = await listActiveProviderIds(erm, 'diku');
    assert.equal(ids.length, 2110);
    assert.deepEqual(ids.slice(0, 2), ['id-00001', 'id-00002']);
    assert.deepEqual(
      erm.findCalls.map((c) => [c.offset, c.limit]),
      [
        [0, 1000],
        [1000, 1000],
        [2000, 1000],
      ],
    );
  });

  it('requests the provider jobs in order, a page at a time, and skips refused ones', async () => {
    const erm = new FakeErm();
    for (const id of ['c', 'a', 'b']) erm.addProvider(id);
    const requested: string[][] = [];
    const lines: string[] = [];
    const skipped = await runTenantJob(
      erm,
      'diku',
      async (ids) => {
        requested.push(ids);
        return ids.filter((id) => id === 'b');
      },
      createLogger({ level: 'info', write: (line) => lines.push(line) }),
    );
    assert.deepEqual(requested, [['a', 'b', 'c']]);
    assert.deepEqual(skipped, ['b']);
    assert.ok(lines.some((l) => l.includes('"providerId":"b"') && l.includes('already active')));
  });

  it('hands 1000 providers at a time; a page that fails is skipped whole, the next still requested', async () => {
    const erm = new FakeErm();
    for (let i = 0; i < 2500; i++) erm.addProvider(`id-${String(i).padStart(5, '0')}`);
    const sizes: number[] = [];
    const lines: string[] = [];
    const skipped = await runTenantJob(
      erm,
      'diku',
      async (ids) => {
        sizes.push(ids.length);
        if (sizes.length === 2) throw new Error('database unavailable');
        return [];
      },
      createLogger({ level: 'info', write: (line) => lines.push(line) }),
    );
    assert.deepEqual(sizes, [1000, 1000, 500]);
    assert.equal(skipped.length, 1000);
    assert.equal(skipped[0], 'id-01000');
    assert.ok(
      lines.some((l) => l.includes('"providerId":"id-01000"') && l.includes('Error: database unavailable')),
    );
  });
});
