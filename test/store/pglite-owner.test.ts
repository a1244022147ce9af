/**
 * The embedded database has one owner: a second service process on the same data directory is
 * refused with a clear message (two owners lose committed writes), and committed data survives a restart.
 */
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { freePort } from '../helpers/pg-server.ts';

const cli = join(import.meta.dirname, '../../src/cli/main.ts');

function serve(
  dataDir: string,
  port: number,
): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  let out = '';
  const child = spawn(process.execPath, ['--import', 'tsx', cli, 'serve'], {
    env: {
      ...process.env,
      HARVESTER_DATA_DIR: dataDir,
      PORT: String(port),
      HARVESTER_DEFAULT_TENANT: 'diku',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, output: () => out, exited };
}

async function waitForOutput(output: () => string, re: RegExp, timeoutMs = 180_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (re.test(output())) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${re}; output so far:\n${output()}`);
}

describe('embedded database ownership', () => {
  const dir = mkdtempSync(join(tmpdir(), 'euh-owner-'));
  const children: ChildProcess[] = [];
  after(() => {
    for (const c of children) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a second process on the same data directory and keeps data across a restart', async () => {
    const port = await freePort();
    const first = serve(dir, port);
    children.push(first.child);
    await waitForOutput(first.output, /listening on http:\/\/127\.0\.0\.1:\d+/);
    assert.match(first.output(), /embedded database in/);

    const create = await fetch(`http://127.0.0.1:${port}/_/tenant`, {
      method: 'POST',
      headers: { 'x-okapi-tenant': 'keepme', 'content-type': 'application/json' },
      body: JSON.stringify({ module_to: 'mod-erm-usage-harvester-1.0.0' }),
    });
    assert.equal(create.status, 201);
    const location = create.headers.get('location')!;
    const done = await fetch(`http://127.0.0.1:${port}${location}?wait=10000`, {
      headers: { 'x-okapi-tenant': 'keepme' },
    });
    assert.equal(((await done.json()) as { complete: boolean }).complete, true);

    const second = serve(dir, await freePort());
    children.push(second.child);
    const code = await second.exited;
    assert.equal(code, 1);
    assert.match(second.output(), /data directory .* is in use by another process \(pid \d+\)/);
    assert.match(second.output(), /DATABASE_URL/);

    // The first process still serves.
    const health = await fetch(`http://127.0.0.1:${port}/admin/health`);
    assert.equal(health.status, 200);

    first.child.kill('SIGTERM');
    await first.exited;

    // After a clean stop the directory can be opened again, and the tenant is still there.
    const port3 = await freePort();
    const third = serve(dir, port3);
    children.push(third.child);
    await waitForOutput(third.output, /listening on/);
    const res = await fetch(`http://127.0.0.1:${port3}/admin/health`);
    assert.equal(res.status, 200);
    const known = await fetch(`http://127.0.0.1:${port3}/_/tenant/${location.split('/').pop()}`, {
      headers: { 'x-okapi-tenant': 'keepme' },
    });
    assert.equal(known.status, 200, 'tenant operation record survived the restart');
    third.child.kill('SIGKILL');
    await third.exited;

    // A stale lock left by a killed process does not block the next start.
    const port4 = await freePort();
    const fourth = serve(dir, port4);
    children.push(fourth.child);
    await waitForOutput(fourth.output, /listening on/);
    fourth.child.kill('SIGTERM');
    await fourth.exited;
  });
});
