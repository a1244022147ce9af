/**
 * The onboarding commands end to end: the CLI as a child process against the real service (PGlite),
 * the recorded COUNTER Registry (mock/registry-server.ts) and the mock COUNTER server's members list.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startMockCounterServer, type MockCounterServer } from '../../mock/counter-server.ts';
import { startRegistryServer, type RegistryServer } from '../../mock/registry-server.ts';
import type { RunningService } from '../../src/server.ts';
import { runCli } from '../helpers/run-cli.ts';
import { call, startOn } from '../helpers/service.ts';

const EJO_R51 = 'cb38144c-253b-4a58-b2e0-dca4968ad7d7';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let registry: RegistryServer;
let counter: MockCounterServer;
let svc: RunningService;

before(async () => {
  registry = await startRegistryServer();
  counter = await startMockCounterServer();
  svc = await startOn('pglite', undefined, { config: { registryUrl: registry.url } });
});
after(async () => {
  await svc?.close();
  await registry?.close();
  await counter?.close();
});

const cli = (...args: string[]) => runCli([...args, '--url', svc.url]);

describe('cli: COUNTER Registry and consortia', () => {
  let ejoId: string;

  it('providers search-registry lists matching platforms', async () => {
    const res = await cli('providers', 'search-registry', 'example', 'journals');
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /^ID\s+NAME\s+ABBREV\s+RELEASES$/m);
    assert.match(res.stdout, /Example Journals Online\s+EJO\s+5, 5\.1/);
  });

  it('providers add --from-registry adds the platform and says which credentials are still needed', async () => {
    const res = await runCli([
      '--url',
      svc.url,
      'providers',
      'add',
      '--from-registry',
      'EJO',
      '--customer-id',
      'c-9',
      '--start',
      '2024-01',
    ]);
    assert.equal(res.code, 0, res.stderr);
    ejoId = res.stdout.trim();
    assert.match(ejoId, UUID);
    assert.match(
      res.stderr,
      /added "Example Journals Online": COUNTER 5\.1 at https:\/\/sushi\.example-journals\.org\/counter\/r51/,
    );
    assert.match(
      res.stderr,
      /not harvested until these are set .*sushiCredentials\.requestorId, sushiCredentials\.apiKey/,
    );
    assert.match(res.stderr, /sushiCredentials\.apiKey: Generate an API key/);
    const p = (await call(svc, 'GET', `/usage-data-providers/${ejoId}`)).json;
    assert.equal(p.harvestingConfig.harvestingStatus, 'inactive');
    assert.equal(p.harvestingConfig.harvestingStart, '2024-01');

    const neither = await runCli(['--url', svc.url, 'providers', 'add', '--start', '2024-01']);
    assert.equal(neither.code, 1);
    assert.match(neither.stderr, /--label is required \(or use --from-registry\)/);
  });

  it('providers sync-registry reports a changed URL and --apply takes it over', async () => {
    const service = registry.services.get(EJO_R51)!;
    service.url = 'https://new.example-journals.org/r51/';
    const report = await cli('providers', 'sync-registry');
    assert.equal(report.code, 0, report.stderr);
    assert.match(report.stdout, /1 providers linked to the COUNTER Registry, 1 with changes/);
    assert.match(
      report.stdout,
      /URL changed: https:\/\/sushi\.example-journals\.org\/counter\/r51 → https:\/\/new\.example-journals\.org\/r51/,
    );
    const applied = await cli('providers', 'sync-registry', '--apply');
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, new RegExp(`${ejoId}  Example Journals Online \\(applied\\)`));
    const p = (await call(svc, 'GET', `/usage-data-providers/${ejoId}`)).json;
    assert.equal(p.harvestingConfig.sushiConfig.serviceUrl, 'https://new.example-journals.org/r51');
  });

  it('providers sync-members adds one provider per member; --dry-run changes nothing', async () => {
    const key = 'ok-clicons';
    counter.members.set(
      key,
      JSON.parse(
        readFileSync(join(import.meta.dirname, '..', 'fixtures', 'members', 'members-r51.json'), 'utf8'),
      ),
    );
    const made = await call(svc, 'POST', '/usage-data-providers', {
      body: {
        label: 'North Consortium',
        status: 'active',
        harvestingConfig: {
          harvestingStatus: 'active',
          harvestVia: 'sushi',
          sushiConfig: { serviceType: 'cs51', serviceUrl: `${counter.url}/${key}` },
          reportRelease: '5.1',
          requestedReports: ['TR'],
          harvestingStart: '2024-01',
        },
        sushiCredentials: { customerId: 'CONS-0001', apiKey: 'cli-cons-key' },
      },
    });
    const dry = await cli('providers', 'sync-members', made.json.id, '--dry-run');
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(
      dry.stdout,
      /4 members listed: 3 would be added, 0 would be updated, 0 would be deactivated/,
    );
    const real = await cli('providers', 'sync-members', made.json.id);
    assert.match(real.stdout, /4 members listed: 3 added, 0 updated, 0 deactivated, 0 unchanged/);
    assert.match(real.stdout, /\+ M-1002 {2}Example College \(North Consortium\)/);
  });
});
