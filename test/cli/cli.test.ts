/**
 * The CLI end to end: the real service on PGlite on a real port, the CLI as a child process.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HarvesterClient } from '../../src/index.ts';
import type { RunningService } from '../../src/server.ts';
import { startMockCounterServer, type MockCounterServer } from '../../mock/counter-server.ts';
import { addJobNote, saveJobInfo } from '../../src/store/sql/job-info.ts';
import { startOn } from '../helpers/service.ts';
import { runCli } from '../helpers/run-cli.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let svc: RunningService;
let client: HarvesterClient;
let tmp: string;

before(async () => {
  svc = await startOn('pglite', undefined);
  client = new HarvesterClient({ baseUrl: svc.url, tenant: 'diku' });
  tmp = await mkdtemp(join(tmpdir(), 'harvester-cli-'));
});
after(async () => {
  await client?.close();
  await svc?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** Runs a client command against the test service (`--url` after the command name). */
const cli = (...args: string[]) => runCli([...args, '--url', svc.url]);

/** `providers add` takes the service URL before the command: its own --url is the provider's. */
const addProvider = (...args: string[]) => runCli(['--url', svc.url, 'providers', 'add', ...args]);

describe('cli: basics', () => {
  it('prints help with the commands and examples', async () => {
    const res = await runCli(['--help']);
    assert.equal(res.code, 0);
    for (const cmd of ['serve', 'tenants', 'providers', 'harvest', 'jobs'])
      assert.match(res.stdout, new RegExp(cmd));
    assert.match(res.stdout, /Examples:/);
  });

  it('says clearly when the service is not running', async () => {
    const res = await runCli(['jobs', '--url', 'http://127.0.0.1:9']);
    assert.equal(res.code, 1);
    assert.equal(
      res.stderr.trim(),
      'erm-usage-harvester: cannot reach the service at http://127.0.0.1:9: is it running? start it with `npm start`',
    );
  });

  it('reports an unknown tenant with the server message', async () => {
    const res = await cli('providers', 'list', '--tenant', 'nosuchtenant');
    assert.equal(res.code, 1);
    assert.match(res.stderr, /answered 400: Tenant 'nosuchtenant' does not exist/);
  });
});

describe('cli: tenants add', () => {
  it('enables a tenant through the tenant API', async () => {
    const res = await cli('tenants', 'add', 'mylib');
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout.trim(), 'tenant mylib is enabled');
    assert.equal(await svc.ctx.tenants.exists('mylib'), true);
  });

  it('refuses an invalid tenant id', async () => {
    const res = await cli('tenants', 'add', 'Bad-Id');
    assert.equal(res.code, 1);
    assert.match(res.stderr, /^erm-usage-harvester: the service answered 400: /);
  });
});

describe('cli: providers', () => {
  let activeId: string;

  it('adds a provider and prints its id', async () => {
    const res = await addProvider(
      '--label',
      'Example Press',
      '--url',
      'https://sushi.example.org/r51',
      '--customer-id',
      'cust-1',
      '--requestor-id',
      'req-secret',
      '--api-key',
      'key-secret',
      '--platform',
      'ex',
      '--start',
      '2024-01',
      '--end',
      '2024-06',
    );
    assert.equal(res.code, 0, res.stderr);
    activeId = res.stdout.trim();
    assert.match(activeId, UUID);
    const udp = await client.getProvider(activeId);
    assert.equal(udp.label, 'Example Press');
    assert.equal(udp.status, 'active');
    assert.deepEqual(
      {
        harvestingStatus: udp.harvestingConfig.harvestingStatus,
        harvestVia: udp.harvestingConfig.harvestVia,
        sushiConfig: udp.harvestingConfig.sushiConfig,
        reportRelease: udp.harvestingConfig.reportRelease,
        requestedReports: udp.harvestingConfig.requestedReports,
        harvestingStart: udp.harvestingConfig.harvestingStart,
        harvestingEnd: udp.harvestingConfig.harvestingEnd,
      },
      {
        harvestingStatus: 'active',
        harvestVia: 'sushi',
        sushiConfig: { serviceType: 'cs51', serviceUrl: 'https://sushi.example.org/r51' },
        reportRelease: '5.1',
        requestedReports: ['TR', 'PR', 'DR', 'IR'],
        harvestingStart: '2024-01',
        harvestingEnd: '2024-06',
      },
    );
    // The API masks credentials; the engine's view of the store has them (docs/credentials.md).
    assert.deepEqual(udp.sushiCredentials, {
      customerId: 'cust-1',
      requestorId: '********',
      apiKey: '********',
      platform: 'ex',
    });
    const stored = await svc.store.getProvider('diku', activeId);
    assert.deepEqual(stored.sushiCredentials, {
      customerId: 'cust-1',
      requestorId: 'req-secret',
      apiKey: 'key-secret',
      platform: 'ex',
    });
  });

  it('adds an inactive COUNTER 4 provider with the release derived from the type', async () => {
    const res = await addProvider(
      ...['--label', 'Old Vendor', '--type', 'cs41', '--url', 'http://vendor.example.com/sushi'],
      ...['--reports', 'JR1, DB1', '--start', '2018-01', '--inactive', '--tenant', 'diku'],
    );
    assert.equal(res.code, 0, res.stderr);
    const udp = await client.getProvider(res.stdout.trim());
    assert.equal(udp.status, 'inactive');
    assert.equal(udp.harvestingConfig.harvestingStatus, 'inactive');
    assert.equal(udp.harvestingConfig.reportRelease, '4');
    assert.deepEqual(udp.harvestingConfig.requestedReports, ['JR1', 'DB1']);
  });

  it('refuses bad flags before calling the service', async () => {
    const badMonth = await addProvider('--label', 'X', '--url', 'https://x.example', '--start', '2024-13');
    assert.equal(badMonth.code, 1);
    assert.match(badMonth.stderr, /--start must be a month written yyyy-MM/);
    const noReports = await addProvider(
      '--label',
      'X',
      '--type',
      'cs41',
      '--url',
      'https://x.example',
      '--start',
      '2024-01',
    );
    assert.equal(noReports.code, 1);
    assert.match(noReports.stderr, /--reports is required for cs41/);
    const badType = await addProvider('--label', 'X', '--type', 'cs99', '--url', 'https://x.example');
    assert.notEqual(badType.code, 0);
    assert.match(badType.stderr, /cs99/);
  });

  it('lists providers as a table without secrets', async () => {
    const res = await cli('providers', 'list');
    assert.equal(res.code, 0, res.stderr);
    const lines = res.stdout.trim().split('\n');
    assert.match(lines[0], /^ID\s+LABEL\s+STATUS\s+TYPE\s+LATEST REPORT\s+FAILED$/);
    assert.ok(lines.some((l) => l.startsWith(activeId) && /Example Press\s+active\s+cs51/.test(l)));
    assert.ok(lines.some((l) => /Old Vendor\s+inactive\s+cs41/.test(l)));
    assert.doesNotMatch(res.stdout, /secret/);
  });

  it('masks apiKey and requestorId in --json; --show-secrets needs the service token', async () => {
    const masked = await cli('providers', 'list', '--json', '--query', 'label=="Example Press"');
    assert.equal(masked.code, 0, masked.stderr);
    const [udp] = JSON.parse(masked.stdout);
    assert.deepEqual(udp.sushiCredentials, {
      customerId: 'cust-1',
      requestorId: '***',
      apiKey: '***',
      platform: 'ex',
    });
    assert.doesNotMatch(masked.stdout, /secret/);
    const shown = await cli(
      'providers',
      'list',
      '--json',
      '--show-secrets',
      '--query',
      'label=="Example Press"',
    );
    // Revealing needs the service token; this service has none (test/api/credentials-at-rest.test.ts
    // reveals with one).
    assert.equal(shown.code, 1);
    assert.match(shown.stderr, /403: Revealing credentials needs the service token/);
  });

  it('reports invalid CQL with the server message', async () => {
    const res = await cli('providers', 'list', '--query', 'label==');
    assert.equal(res.code, 1);
    assert.match(res.stderr, /the service answered 422: /);
  });

  it('imports a FOLIO collection: bad records are reported, the rest are created', async () => {
    const file = join(tmp, 'udps.json');
    const good = (label: string) => ({
      label,
      status: 'active',
      harvestingConfig: {
        harvestingStatus: 'active',
        harvestVia: 'sushi',
        sushiConfig: { serviceType: 'cs50', serviceUrl: 'https://sushi.example.net' },
        reportRelease: '5',
        requestedReports: ['TR'],
        harvestingStart: '2023-01',
      },
    });
    const bad = { ...good('Broken'), status: 'inactive' }; // inactive with harvesting active: refused
    await writeFile(
      file,
      JSON.stringify({ usageDataProviders: [good('Imported A'), bad, good('Imported B')], totalRecords: 3 }),
    );
    const res = await cli('providers', 'import', file);
    assert.equal(res.code, 1);
    assert.match(res.stdout, /2 created, 1 failed \(of 3 in /);
    assert.match(res.stderr, /^record 2 \(Broken\): .+/m);
    const labels: string[] = [];
    for await (const p of client.iterateProviders({ query: 'label=="Imported*"' })) labels.push(p.label);
    assert.deepEqual(labels.sort(), ['Imported A', 'Imported B']);
  });

  it('imports a plain array into another tenant', async () => {
    const file = join(tmp, 'array.json');
    await writeFile(
      file,
      JSON.stringify([
        { label: 'Array One', status: 'inactive', harvestingConfig: { harvestingStatus: 'inactive' } },
      ]),
    );
    const res = await cli('providers', 'import', file, '--tenant', 'mylib');
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /1 created, 0 failed/);
  });

  it('explains a file that is not a provider list', async () => {
    const file = join(tmp, 'wrong.json');
    await writeFile(file, '{"foo": 1}');
    const res = await cli('providers', 'import', file);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /expected a JSON array of providers or \{"usageDataProviders": \[\.\.\.\]\}/);
  });
});

describe('cli: harvest and jobs', () => {
  let mock: MockCounterServer;
  before(async () => {
    mock = await startMockCounterServer();
  });
  after(async () => {
    await mock?.close();
  });

  it('harvest --wait of a working COUNTER 5.1 provider succeeds; providers list shows its latest month', async () => {
    const added = await addProvider(
      ...['--label', 'Mocked Press', '--url', `${mock.url}/ok-51tr`, '--customer-id', 'cust-1'],
      ...['--reports', 'TR', '--start', '2022-01', '--end', '2022-03'],
    );
    assert.equal(added.code, 0, added.stderr);
    const id = added.stdout.trim();
    const res = await cli('harvest', id, '--wait', '--poll-ms', '100', '--timeout', '120');
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /harvest finished: 1 succeeded, 0 failed/);
    assert.match(res.stderr, /succeeded\s*\| Mocked Press/);
    const list = await cli('providers', 'list', '--query', 'label=="Mocked Press"');
    assert.match(list.stdout, new RegExp(`${id}\\s+Mocked Press\\s+active\\s+cs51\\s+2022-03\\s+no`));
  });

  it('harvest --from/--to/--report asks stored months again; providers diagnostics and changes list what was kept', async () => {
    const [provider] = (await client.listProviders({ query: 'label=="Mocked Press"' })).usageDataProviders;
    const id = provider.id!;
    const before = mock.requestsFor('ok-51tr').filter((r) => r.reportId).length;
    const res = await cli(
      ...['harvest', id, '--from', '2022-01', '--to', '2022-02', '--report', 'TR'],
      ...['--wait', '--poll-ms', '100', '--timeout', '120'],
    );
    assert.equal(res.code, 0, res.stderr);
    assert.match(
      res.stdout,
      /Harvesting again scheduled for tenant: diku, providerId: .*, 2022-01\.\.2022-02 TR/,
    );
    assert.match(res.stdout, /harvest finished: 1 succeeded, 0 failed/);
    assert.equal(
      mock.requestsFor('ok-51tr').filter((r) => r.reportId).length,
      before + 2,
      'TR month by month',
    );
    const diagnostics = await cli('providers', 'diagnostics', id);
    assert.equal(diagnostics.code, 0, diagnostics.stderr);
    assert.match(diagnostics.stdout, /^\d+ of 3 stored months have diagnostics/);
    const json = JSON.parse((await cli('providers', 'diagnostics', id, '--json')).stdout);
    assert.equal(json.providerId, id);
    assert.equal(json.months, 3);
    const changes = await cli('providers', 'changes', id);
    assert.equal(changes.code, 0, changes.stderr);
    assert.match(changes.stdout, /no restatements recorded/, 'the same data again is no change');
    const bad = await cli('harvest', id, '--to', '2022-02');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--to and --report need --from/);
  });

  it('harvest --wait of an inactive provider: the job fails, exit 1, the error printed', async () => {
    const created = await client.createProvider({
      label: 'Dormant',
      status: 'inactive',
      harvestingConfig: { harvestingStatus: 'inactive', harvestVia: 'sushi' },
    });
    const res = await cli('harvest', created.id!, '--wait', '--poll-ms', '100', '--timeout', '60');
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stdout, new RegExp(`Harvesting scheduled for tenant: diku, providerId: ${created.id}`));
    assert.match(res.stdout, /harvest finished: 0 succeeded, 1 failed/);
    assert.match(
      res.stderr,
      new RegExp(`failed: Dormant \\(${created.id}\\): .*HarvestingStatus not ACTIVE`),
    );
  });

  it('harvest --wait of an unknown provider fails with the store answer', async () => {
    const unknown = '6e6190bb-0000-4000-8000-000000000001';
    const res = await cli('harvest', unknown, '--wait', '--poll-ms', '100');
    assert.equal(res.code, 1);
    assert.match(res.stderr, new RegExp(`failed: ${unknown} \\(${unknown}\\): .*404`));
  });

  it('harvest without --wait returns once scheduled', async () => {
    const created = await client.createProvider({
      label: 'Later',
      status: 'inactive',
      harvestingConfig: { harvestingStatus: 'inactive' },
    });
    const res = await cli('harvest', created.id!);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout.trim(), `Harvesting scheduled for tenant: diku, providerId: ${created.id}`);
    await client.waitForJobs((j) => j.providerId === created.id, { pollMs: 50, timeoutMs: 30_000 });
  });

  it('jobs lists the jobs with their derived state', async () => {
    const res = await cli('jobs', '--limit', '50');
    assert.equal(res.code, 0, res.stderr);
    const lines = res.stdout.trim().split('\n');
    assert.match(
      lines[0],
      /^ID\s+TYPE\s+PROVIDER\s+STATE\s+STARTED\s+FINISHED\s+RESULT\s+MONTHS\s+ERROR\s+NOTES$/,
    );
    assert.ok(lines.some((l) => /provider\s+.+\s+finished\s+.*failure\s+\S/.test(l)));
    // Providers are shown by their label, harvested provider jobs with their months report.
    assert.ok(lines.some((l) => /provider\s+Mocked Press\s+finished\s+.*success\s+\d+ stored/.test(l)));
  });

  it('jobs shows the notes of a job after its error column', async () => {
    const id = 'b0be0000-0000-4000-8000-000000000001';
    await saveJobInfo(svc.ctx.db, 'diku', {
      id,
      type: 'provider',
      providerId: '6e6190bb-0000-4000-8000-00000000000a',
      timestamp: Date.now(),
      startedAt: '2024-01-01T00:00:00.000+00:00',
      finishedAt: '2024-01-01T00:01:00.000+00:00',
      result: 'success',
    });
    await addJobNote(svc.ctx.db, 'diku', id, 'Not offered: TR');
    await addJobNote(svc.ctx.db, 'diku', id, 'PR also sent 2023-12');
    const res = await cli('jobs', '--query', `id==${id}`);
    assert.equal(res.code, 0, res.stderr);
    const row = res.stdout.trim().split('\n')[1];
    assert.match(row, /success\s+Not offered: TR · PR also sent 2023-12$/);
  });

  it('jobs --provider --json gives the JobInfos of one provider', async () => {
    const unknown = '6e6190bb-0000-4000-8000-000000000001';
    const res = await cli('jobs', '--provider', unknown, '--json');
    assert.equal(res.code, 0, res.stderr);
    const page = JSON.parse(res.stdout);
    assert.equal(page.totalRecords, 1);
    assert.equal(page.jobInfos[0].providerId, unknown);
    assert.equal(page.jobInfos[0].result, 'failure');
  });

  it('harvest --wait of the whole tenant waits for the provider jobs and reports each failure', async () => {
    const wide = new HarvesterClient({ baseUrl: svc.url, tenant: 'wide' });
    try {
      await wide.enableTenant();
      const broken = await wide.createProvider({
        label: 'Unknown type',
        status: 'active',
        harvestingConfig: {
          harvestingStatus: 'active',
          harvestVia: 'sushi',
          sushiConfig: { serviceType: 'nosuch', serviceUrl: 'http://127.0.0.1:9' },
          reportRelease: '5.1',
          requestedReports: ['TR'],
          harvestingStart: '2024-01',
        },
      });
      await wide.createProvider({
        label: 'Not harvested',
        status: 'inactive',
        harvestingConfig: { harvestingStatus: 'inactive' },
      });
      const res = await cli('harvest', '--wait', '--tenant', 'wide', '--poll-ms', '100', '--timeout', '120');
      assert.equal(res.code, 1, res.stderr);
      assert.match(res.stdout, /Harvesting scheduled for tenant: wide/);
      assert.match(res.stdout, /harvest finished: 0 succeeded, 1 failed/);
      assert.match(
        res.stderr,
        new RegExp(`failed: Unknown type \\(${broken.id}\\): .*No service implementation available`),
      );
      const open = await wide.getJobs({ query: 'cql.allRecords=1 not finishedAt=""', limit: 0 });
      assert.equal(open.totalRecords, 0, 'no job left unfinished when harvest --wait returned');
      const tenantJobs = await wide.getJobs({ query: 'type=="tenant"' });
      assert.equal(tenantJobs.jobInfos[0].result, 'success');
    } finally {
      await wide.close();
    }
  });

  it('harvest --wait of a tenant without active providers succeeds at once', async () => {
    const res = await cli('harvest', '--wait', '--tenant', 'mylib', '--poll-ms', '100');
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /no active providers to harvest/);
    assert.match(res.stdout, /harvest finished: 0 succeeded, 0 failed/);
  });
});

describe('cli: token', () => {
  let secured: RunningService;
  before(async () => {
    secured = await startOn('pglite', undefined, { config: { token: 'let-me-in' } });
  });
  after(async () => {
    await secured?.close();
  });

  it('needs the token when the service has one', async () => {
    const without = await runCli(['jobs', '--url', secured.url]);
    assert.equal(without.code, 1);
    assert.match(without.stderr, /answered 401: .*\(pass --token or set HARVESTER_TOKEN\)/);
    const withFlag = await runCli(['jobs', '--url', secured.url, '--token', 'let-me-in']);
    assert.equal(withFlag.code, 0, withFlag.stderr);
    const withEnv = await runCli(['jobs', '--url', secured.url], { env: { HARVESTER_TOKEN: 'let-me-in' } });
    assert.equal(withEnv.code, 0, withEnv.stderr);
  });
});

describe('cli: serve', () => {
  it('starts the service with the default tenant, answers the CLI, stops on SIGTERM', async () => {
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--port', '0'], {
      cwd: new URL('../../', import.meta.url),
      env: {
        ...process.env,
        HARVESTER_MEMORY_DB: 'true',
        LOG_LEVEL: 'warn',
        HARVESTER_DEFAULT_TENANT: 'diku',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      // First start of PGlite runs initdb inside WASM: slow on a loaded machine, hence the long wait.
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`serve did not start: ${out}`)), 180_000);
        child.stdout.setEncoding('utf8').on('data', (d: string) => {
          out += d;
          const m = /listening on (http:\/\/\S+)/.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        });
        child.on('exit', () => {
          clearTimeout(timer);
          reject(new Error(`serve exited: ${out}`));
        });
      });
      assert.match(out, /embedded database in .*API docs at http:\/\/127\.0\.0\.1:\d+\/docs/);
      const res = await runCli(['providers', 'list', '--url', url]);
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stdout, /no providers/);
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    } finally {
      // Whatever failed above, the child must not outlive the test (it would hold the suite open).
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
