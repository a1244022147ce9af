/**
 * `serve` on the embedded database in its worker thread (PGLITE_THREAD, the default): when that thread
 * dies, the process ends with exit code 1 and says why, so that a supervisor starts it again; before,
 * it stayed up answering every request and /admin/health with errors. A deliberate stop is not taken
 * for a dead thread.
 *
 * The thread is made to die from outside, through Node's inspector (test/helpers/inspector.ts): an
 * uncaught error thrown in it, or `process.exit` called in it.
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { killAllChildren, request, startChild, type ChildService } from '../helpers/child-service.ts';
import { INSPECTED_CLI, InspectorClient } from '../helpers/inspector.ts';

/** The exit code or signal, or 'still running' when the process has not ended within `ms`. */
async function exitWithin(svc: ChildService, ms: number): Promise<number | string | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((resolve) => (timer = setTimeout(() => resolve('still running'), ms)));
  try {
    return await Promise.race([svc.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `expression` in the service's database thread, after a turn of that thread's event loop. */
async function inDatabaseThread(svc: ChildService, expression: string): Promise<void> {
  const inspector = await InspectorClient.connect(svc.output());
  try {
    await inspector.evaluateIn(await inspector.databaseThread(), `setImmediate(() => { ${expression} }); 0`);
  } finally {
    inspector.close();
  }
}

describe('serve: the embedded database thread', () => {
  const dirs: string[] = [];
  const dataDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'euh-db-thread-'));
    dirs.push(dir);
    return dir;
  };
  after(async () => {
    await killAllChildren();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('an uncaught error in the thread ends the service with exit code 1 and a fatal log line naming the thread', async () => {
    const dir = dataDir();
    const svc = await startChild('crash', { HARVESTER_DATA_DIR: dir }, 90_000, INSPECTED_CLI);
    assert.equal((await request(svc.url, 'GET', '/admin/health')).status, 200);

    await inDatabaseThread(svc, `throw new Error('disk controller on fire')`);

    assert.equal(await exitWithin(svc, 30_000), 1, svc.output());
    assert.match(
      svc.output(),
      /erm-usage-harvester: The embedded database's thread failed: disk controller on fire/,
    );
    const fatal = svc.logRecords().filter((r) => r.level === 60);
    assert.equal(fatal.length, 1, svc.output());
    assert.match(fatal[0].err as string, /embedded database's thread failed: disk controller on fire/);
    assert.equal(existsSync(join(dir, 'harvester.lock')), false, 'the data directory is left unlocked');

    // What a supervisor does next: start it again on the same data directory.
    const again = await startChild('crash-restarted', { HARVESTER_DATA_DIR: dir });
    assert.equal((await request(again.url, 'GET', '/admin/health')).status, 200);
    await again.stop();
  });

  it('the thread exiting ends the service with exit code 1 and names the thread', async () => {
    const svc = await startChild('exit', { HARVESTER_DATA_DIR: dataDir() }, 90_000, INSPECTED_CLI);
    await inDatabaseThread(svc, 'process.exit(3)');
    assert.equal(await exitWithin(svc, 30_000), 1, svc.output());
    assert.match(svc.output(), /The embedded database's thread has stopped \(exit code 3\)/);
    assert.equal(svc.logRecords().filter((r) => r.level === 60).length, 1, svc.output());
  });

  it('a deliberate stop (SIGTERM) closes the thread without being taken for its death', async () => {
    const svc = await startChild('stop', { HARVESTER_DATA_DIR: dataDir() });
    assert.equal((await request(svc.url, 'GET', '/admin/health')).status, 200);
    await svc.stop();
    assert.equal(await svc.exited, 0, svc.output());
    assert.doesNotMatch(svc.output(), /thread (failed|has stopped)/);
    assert.equal(svc.logRecords().filter((r) => r.level >= 50).length, 0, svc.output());
  });
});
