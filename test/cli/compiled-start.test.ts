/**
 * `npm start` runs the service compiled to JavaScript (dist/, docs/decisions.md): the build of
 * tsconfig.build.json, started as plain JavaScript without tsx, must find what the sources find next to
 * themselves (the embedded database's initdb script, web/, package.json) and answer. The build goes into a
 * directory of its own under .tmp/ so that it races with no `npm start` or build in the repository;
 * web/ and package.json are linked next to it as they are next to dist/.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { killAllChildren, startChild } from '../helpers/child-service.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '../..');

describe('the compiled service (npm start)', () => {
  mkdirSync(join(root, '.tmp'), { recursive: true });
  const build = mkdtempSync(join(root, '.tmp', 'compiled-start-'));
  const dataDir = mkdtempSync(join(tmpdir(), 'harvester-compiled-'));
  after(async () => {
    await killAllChildren();
    rmSync(build, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts from dist on a new embedded database and answers health, the UI and --version', async () => {
    const outDir = join(build, 'dist');
    await run(
      process.execPath,
      [
        join(root, 'node_modules/typescript/bin/tsc'),
        '-p',
        join(root, 'tsconfig.build.json'),
        '--outDir',
        outDir,
        '--tsBuildInfoFile',
        join(outDir, '.tsbuildinfo'),
        '--declaration',
        'false',
      ],
      { cwd: root, maxBuffer: 16 * 1024 * 1024 },
    );
    symlinkSync(join(root, 'web'), join(build, 'web'));
    symlinkSync(join(root, 'package.json'), join(build, 'package.json'));
    const main = join(outDir, 'src/cli/main.js');

    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    const version = await run(process.execPath, [main, '--version']);
    assert.equal(version.stdout.trim(), pkg.version);

    // A new data directory: the database is created by the compiled initdb child script.
    const svc = await startChild('compiled', { HARVESTER_DATA_DIR: dataDir }, 180_000, [main]);
    const health = await fetch(`${svc.url}/admin/health`);
    assert.equal(health.status, 200, await health.text());
    const ui = await fetch(`${svc.url}/ui/`);
    assert.equal(ui.status, 200);
    assert.match(await ui.text(), /<html/i);
    const providers = await fetch(`${svc.url}/usage-data-providers`, {
      headers: { 'x-okapi-tenant': 'diku' },
    });
    assert.equal(providers.status, 200, await providers.text());

    // Generous bound: the compiled service idles at about 250 MB on a first start (docs/benchmarks.md, section 4).
    const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${svc.child.pid}/status`, 'utf8'));
    if (rss) assert.ok(Number(rss[1]) / 1024 < 500, `RSS ${Number(rss[1]) / 1024} MB`);
    await svc.stop();
  });
});
