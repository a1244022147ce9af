/**
 * Onboarding from the COUNTER Registry through the real service, offline against the recorded registry
 * answers (mock/registry-server.ts): search, platform detail, a provider created or completed from a
 * platform, the engine sending exactly the credentials the registry requires, the sync report and its
 * apply, and a clear answer when the registry cannot be reached. PGlite and PostgreSQL.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { startMockCounterServer, type MockCounterServer } from '../../mock/counter-server.ts';
import {
  closedPort,
  startRegistryServer,
  startSilentServer,
  type RegistryServer,
} from '../../mock/registry-server.ts';
import type { RunningService } from '../../src/server.ts';
import { waitForJobs } from '../helpers/harvest.ts';
import { backends, call, startOn } from '../helpers/service.ts';

const EJO = '9763ab6e-b65f-472e-950e-2f17d5cec18f';
const EJO_R51 = 'cb38144c-253b-4a58-b2e0-dca4968ad7d7';
const DSJ = 'f497bf83-a324-4362-ae9f-d7e41d24b463';
const DSJ_R51 = '02a8c5d7-48da-468a-9a2e-53d97f14a909';
const API_KEY = 'REGISTRY-apikey-secret-1234';

let registry: RegistryServer;
let counter: MockCounterServer;
before(async () => {
  registry = await startRegistryServer();
  counter = await startMockCounterServer();
});
after(async () => {
  await registry?.close();
  await counter?.close();
});

for (const backend of backends()) {
  describe(`COUNTER Registry onboarding on ${backend.name}`, () => {
    let svc: RunningService;
    before(async () => {
      svc = await backend.start({ config: { registryUrl: registry.url } });
    });
    after(async () => {
      await svc?.close();
    });

    it('searches platforms by name or abbreviation, best match first', async () => {
      const res = await call(svc, 'GET', '/registry/platforms?q=example%20journals');
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(
        res.json.platforms.map((p: any) => p.name),
        ['Example Journals Archive', 'Example Journals Online'],
      );
      const byAbbrev = await call(svc, 'GET', '/registry/platforms?q=ejo');
      assert.equal(byAbbrev.json.platforms[0].id, EJO);
      assert.deepEqual(byAbbrev.json.platforms[0].releases, ['5', '5.1']);
    });

    it('shows a platform with its services and the credentials each requires', async () => {
      const res = await call(svc, 'GET', `/registry/platforms/${EJO}`);
      assert.equal(res.status, 200, res.text);
      const r51 = res.json.services.find((s: any) => s.release === '5.1');
      assert.equal(r51.url, 'https://sushi.example-journals.org/counter/r51/');
      assert.deepEqual(r51.requires, { customerId: true, requestorId: true, apiKey: true, platform: false });
      const unknown = await call(svc, 'GET', '/registry/platforms/00000000-0000-4000-8000-000000000000');
      assert.equal(unknown.status, 404);
      assert.match(unknown.text, /The COUNTER Registry has no platform/);
    });

    it('creates a provider from a platform named by its abbreviation; credentials masked in the answer', async () => {
      const res = await call(svc, 'POST', '/usage-data-providers/from-registry', {
        body: {
          platform: 'EJO',
          credentials: { customerId: 'c-1', requestorId: 'r-1', apiKey: API_KEY },
          harvestingStart: '2024-01',
        },
      });
      assert.equal(res.status, 201, res.text);
      assert.ok(!res.text.includes(API_KEY));
      const p = res.json.provider;
      assert.deepEqual(res.json.missing, []);
      assert.equal(p.label, 'Example Journals Online');
      assert.equal(p.harvestingConfig.sushiConfig.serviceType, 'cs51');
      assert.equal(
        p.harvestingConfig.sushiConfig.serviceUrl,
        'https://sushi.example-journals.org/counter/r51',
      );
      assert.equal(p.harvestingConfig.reportRelease, '5.1');
      assert.equal(p.harvestingConfig.harvestingStatus, 'active');
      assert.equal(p.harvestingConfig.registry.serviceId, EJO_R51);
      assert.equal(p.sushiCredentials.apiKey, '********');
      const stored = await call(svc, 'GET', `/usage-data-providers/${p.id}`);
      assert.equal(stored.json.harvestingConfig.registry.platformId, EJO);
    });

    it('without the required credentials the provider is added inactive and says what is missing', async () => {
      const res = await call(svc, 'POST', '/usage-data-providers/from-registry', {
        body: { platformId: EJO, release: '5', credentials: { customerId: 'c-2' } },
      });
      assert.equal(res.status, 201, res.text);
      assert.equal(res.json.provider.harvestingConfig.harvestingStatus, 'inactive');
      assert.equal(res.json.provider.harvestingConfig.sushiConfig.serviceType, 'cs50');
      assert.deepEqual(res.json.missing, ['sushiCredentials.requestorId']);
    });

    it('refuses an ambiguous or unknown name with the candidates, and bad input with 400', async () => {
      const ambiguous = await call(svc, 'POST', '/usage-data-providers/from-registry', {
        body: { platform: 'Example Journals' },
      });
      assert.equal(ambiguous.status, 409);
      assert.match(
        ambiguous.text,
        /matches 2 COUNTER Registry platforms.*Example Journals Online \(9763ab6e/,
      );
      const unknown = await call(svc, 'POST', '/usage-data-providers/from-registry', {
        body: { platform: 'No Such Platform' },
      });
      assert.equal(unknown.status, 404);
      const none = await call(svc, 'POST', '/usage-data-providers/from-registry', { body: {} });
      assert.equal(none.status, 400);
      const noService = await call(svc, 'POST', '/usage-data-providers/from-registry', {
        body: { platform: 'PAC' },
      });
      assert.equal(noService.status, 422);
      assert.match(noService.text, /add the provider by hand/);
    });

    it('harvests sending exactly the credentials the registry requires; refuses while one is missing', async () => {
      // The registry's service for DSJ points at the mock COUNTER server and requires an API key only.
      const service = registry.services.get(DSJ_R51)!;
      service.url = `${counter.url}/ok-reg${backend.name}/r51/`;
      service.requestor_id_required = false;
      service.api_key_required = true;
      service.platform_attr_required = false;
      const made = await call(svc, 'POST', '/usage-data-providers/from-registry', {
        body: {
          platformId: DSJ,
          credentials: { customerId: 'c-3' },
          harvestingStart: '2024-01',
          requestedReports: ['TR'],
        },
      });
      assert.equal(made.status, 201, made.text);
      assert.deepEqual(made.json.missing, ['sushiCredentials.apiKey']);
      const id = made.json.provider.id;
      const record = (await call(svc, 'GET', `/usage-data-providers/${id}`)).json;
      record.harvestingConfig.harvestingStatus = 'active';
      record.harvestingConfig.harvestingEnd = '2024-01';
      assert.equal((await call(svc, 'PUT', `/usage-data-providers/${id}`, { body: record })).status, 204);
      counter.reset();
      await call(svc, 'GET', `/erm-usage-harvester/start/${id}`);
      const jobs = await waitForJobs(svc, 120_000);
      const job = jobs.find((j) => j.providerId === id)!;
      assert.equal(job.result, 'failure');
      assert.match(
        String(job.errorMessage),
        /sushiCredentials\.apiKey is missing \(the COUNTER Registry lists it as required/,
      );
      assert.equal(counter.requestsFor(`ok-reg${backend.name}`).length, 0, 'no request was sent');

      // Completed with the key through the same endpoint, it harvests with exactly those parameters.
      const completed = await call(svc, 'POST', '/usage-data-providers/from-registry', {
        body: { platformId: DSJ, providerId: id, credentials: { apiKey: API_KEY } },
      });
      assert.equal(completed.status, 200, completed.text);
      assert.deepEqual(completed.json.missing, []);
      await call(svc, 'GET', `/erm-usage-harvester/start/${id}`);
      await waitForJobs(svc, 120_000);
      const requests = counter.requestsFor(`ok-reg${backend.name}`).filter((r) => r.reportId === 'tr');
      assert.ok(requests.length > 0);
      for (const r of requests) {
        assert.equal(r.query.customer_id, 'c-3');
        assert.equal(r.query.api_key, API_KEY);
        assert.equal(r.query.requestor_id, undefined);
        assert.equal(r.query.platform, undefined);
      }
    });

    it('reports changed URLs from the registry and takes them over on apply', async () => {
      const before = await call(svc, 'GET', '/registry/sync');
      assert.equal(before.status, 200, before.text);
      const ejoService = registry.services.get(EJO_R51)!;
      const oldUrl = ejoService.url;
      ejoService.url = 'https://counter.example-journals.org/r51/';
      try {
        const report = await call(svc, 'GET', '/registry/sync');
        assert.equal(report.status, 200, report.text);
        const ejo = report.json.providers.find((p: any) => p.label === 'Example Journals Online');
        assert.deepEqual(
          ejo.changes.find((c: any) => c.kind === 'url-changed'),
          {
            kind: 'url-changed',
            from: 'https://sushi.example-journals.org/counter/r51',
            to: 'https://counter.example-journals.org/r51',
            providerUrl: 'https://sushi.example-journals.org/counter/r51',
          },
        );
        const applied = await call(svc, 'POST', '/registry/sync', { body: { apply: true } });
        assert.equal(applied.status, 200, applied.text);
        assert.ok(applied.json.applied.includes(ejo.providerId));
        const p = (await call(svc, 'GET', `/usage-data-providers/${ejo.providerId}?reveal=false`)).json;
        assert.equal(p.harvestingConfig.sushiConfig.serviceUrl, 'https://counter.example-journals.org/r51');
        const after = await call(svc, 'GET', '/registry/sync');
        assert.ok(
          !after.json.providers.some(
            (r: any) =>
              r.providerId === ejo.providerId && r.changes.some((c: any) => c.kind === 'url-changed'),
          ),
        );
        // The credentials survived the sync's rewrite: the engine still has them.
        const stored = await svc.store.getProvider('diku', ejo.providerId);
        assert.equal(stored.sushiCredentials?.apiKey, API_KEY);
      } finally {
        ejoService.url = oldUrl;
      }
    });
  });
}

describe('COUNTER Registry not reachable', () => {
  it('says so clearly, for a closed port and for a registry that does not answer in time', async () => {
    const silent = await startSilentServer();
    const closed = await startOn('pglite', undefined, {
      config: { registryUrl: `http://127.0.0.1:${await closedPort()}/api/v1/` },
    });
    const slow = await startOn('pglite', undefined, {
      config: { registryUrl: silent.url, registryTimeoutMs: 300 },
    });
    try {
      for (const svc of [closed, slow]) {
        const res = await call(svc, 'GET', '/registry/platforms?q=journals');
        assert.equal(res.status, 502, res.text);
        assert.match(
          res.text,
          /COUNTER Registry not reachable at http:\/\/127\.0\.0\.1:\d+\/api\/v1\/: .*add the provider by hand/,
        );
      }
    } finally {
      await closed.close();
      await slow.close();
      await silent.close();
    }
  });
});
