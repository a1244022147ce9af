/** The tenant job's provider listing (paging) and fan-out, without HTTP. */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { createLogger } from '../../src/log.ts';
import { JobConflictError } from '../../src/jobs/queue.ts';
import { listActiveProviderIds, runTenantJob } from '../../src/jobs/runner.ts';
import { FakeErm } from '../helpers/jobs.ts';

const log = createLogger({ level: 'silent' });

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

  it('requests one provider job per provider in order and skips refused ones', async () => {
    const erm = new FakeErm();
    for (const id of ['c', 'a', 'b']) erm.addProvider(id);
    const requested: string[] = [];
    const skipped = await runTenantJob(
      erm,
      'diku',
      async (id) => {
        requested.push(id);
        if (id === 'b')
          throw new JobConflictError(`A job for provider with id 'b' is already scheduled/running`);
      },
      log,
    );
    assert.deepEqual(requested, ['a', 'b', 'c']);
    assert.deepEqual(skipped, ['b']);
  });
});
