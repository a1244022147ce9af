/**
 * The data directory holds the database with provider credentials: after a start and a harvest no file
 * or directory in it is readable by group or others (PGlite writes its own files), a directory an older
 * version left readable is tightened, and spill files of large reports are owner-only too.
 */
import { strict as assert } from 'node:assert';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { enableTenant } from '../../src/tenant-lifecycle.ts';
import { MonthBuckets } from '../../src/counter/month-buckets.ts';
import { createLogger } from '../../src/log.ts';
import { startService, type RunningService } from '../../src/server.ts';
import { startMockCounterServer, type MockCounterServer } from '../../mock/counter-server.ts';
import { testConfig } from '../helpers/service.ts';
import { addProvider, waitForJobs } from '../helpers/harvest.ts';

/** Every path below `root` (itself included) with its permission bits. */
function modes(root: string): [string, number][] {
  const out: [string, number][] = [[root, lstatSync(root).mode & 0o777]];
  for (const name of readdirSync(root)) {
    const path = join(root, name);
    if (lstatSync(path).isDirectory()) out.push(...modes(path));
    else out.push([path, lstatSync(path).mode & 0o777]);
  }
  return out;
}

function readableByOthers(root: string): string[] {
  return modes(root)
    .filter(([, mode]) => (mode & 0o077) !== 0)
    .map(([path, mode]) => `${path} ${mode.toString(8)}`);
}

describe('file permissions', () => {
  const parent = mkdtempSync(join(tmpdir(), 'harvester-modes-'));
  let mock: MockCounterServer;

  before(async () => {
    // A usual umask: without the service's own care its files would come out 644 and 755.
    process.umask(0o022);
    mock = await startMockCounterServer();
  });
  after(async () => {
    await mock?.close();
    rmSync(parent, { recursive: true, force: true });
  });

  async function start(dataDir: string): Promise<RunningService> {
    const svc = await startService(testConfig({ memory: false, dataDir }), {
      logger: createLogger({ level: 'warn', write: () => undefined }),
    });
    await enableTenant(svc.ctx, 'diku');
    return svc;
  }

  it('a new data directory is 0700 and nothing in it is group/other-readable after a harvest', async () => {
    const dataDir = join(parent, 'new', 'data');
    const svc = await start(dataDir);
    try {
      await addProvider(svc, {
        serviceUrl: `${mock.url}/ok-modes`,
        release: '5.1',
        reports: ['TR', 'DR'],
        start: '2022-01',
        end: '2022-03',
      });
      await svc.jobs.startTenantJob('diku');
      const jobs = await waitForJobs(svc, 120_000);
      assert.ok(
        jobs.every((j) => j.result === 'success'),
        JSON.stringify(jobs),
      );
    } finally {
      await svc.close();
    }
    assert.equal(statSync(dataDir).mode & 0o777, 0o700);
    const all = modes(dataDir);
    assert.ok(all.length > 100, `PGlite wrote its files (${all.length})`);
    assert.deepEqual(readableByOthers(dataDir), []);
  });

  it('a data directory left readable by an older version is tightened at start', async () => {
    const dataDir = join(parent, 'old');
    mkdirSync(join(dataDir, 'pgdata', 'base'), { recursive: true, mode: 0o755 });
    chmodSync(dataDir, 0o755);
    writeFileSync(join(dataDir, 'pgdata', 'base', 'stray'), 'x', { mode: 0o644 });
    const svc = await start(dataDir).catch((err: unknown) => err as Error);
    if (!(svc instanceof Error)) await svc.close();
    assert.deepEqual(readableByOthers(dataDir), []);
    assert.equal(statSync(join(dataDir, 'pgdata', 'base', 'stray')).mode & 0o777, 0o600);
  });

  it('spill files of large reports are owner-only', async () => {
    const tmpDir = join(parent, 'spill');
    mkdirSync(tmpDir, { mode: 0o755 });
    const buckets = new MonthBuckets({ spillThresholdBytes: 10, memoryBudgetBytes: 10, tmpDir });
    for (let i = 0; i < 50; i++) buckets.add('2022-01', JSON.stringify({ item: i, padding: 'x'.repeat(40) }));
    await buckets.spillIfNeeded();
    assert.deepEqual(buckets.stats().spilledMonths, ['2022-01']);
    const [spillDir] = readdirSync(tmpDir);
    assert.deepEqual(readableByOthers(join(tmpDir, spillDir)), []);
    assert.ok(readdirSync(join(tmpDir, spillDir)).length > 0, 'a spill file was written');
    await buckets.dispose();
  });
});
