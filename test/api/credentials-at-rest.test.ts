/**
 * Credentials at rest (docs/credentials.md) through the real service: encrypted in the database files
 * and in a PostgreSQL dump, masked in answers, revealed only with the service token, kept when a PUT
 * sends the mask back, decrypted for the harvest, re-encrypted by the rotation (API and CLI), and a
 * wrong or missing key stops the start without losing anything. PGlite and PostgreSQL.
 */
import { strict as assert } from 'node:assert';
import { readdir, readFile, rename, rm, stat, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startMockCounterServer, type MockCounterServer } from '../../mock/counter-server.ts';
import { CredentialKeyError } from '../../src/credentials/index.ts';
import { createLogger } from '../../src/log.ts';
import { startService, type RunningService } from '../../src/server.ts';
import { enableTenant } from '../../src/tenant-lifecycle.ts';
import { waitForJobs } from '../helpers/harvest.ts';
import { pgDump } from '../helpers/pg-server.ts';
import { runCli } from '../helpers/run-cli.ts';
import { backends, call, startOn, TEST_SECRET_KEY, testConfig } from '../helpers/service.ts';

const API_KEY = 'APIKEY-at-rest-5521-very-secret';
const REQUESTOR = 'REQUESTOR-at-rest-7741-hidden';
const URL_SECRET = 'URLSECRET-at-rest-9313-token';
const MASK = '********';
const TOKEN = 'service-token-for-credentials';
const NEW_KEY = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f91';
const auth = { 'x-okapi-token': TOKEN };

function provider(serviceUrl: string): Record<string, unknown> {
  return {
    label: 'Encrypted Press',
    status: 'active',
    harvestingConfig: {
      harvestingStatus: 'active',
      harvestVia: 'sushi',
      sushiConfig: { serviceType: 'cs51', serviceUrl: `${serviceUrl}?client_secret=${URL_SECRET}` },
      reportRelease: '5.1',
      requestedReports: ['TR'],
      harvestingStart: '2024-01',
      harvestingEnd: '2024-01',
    },
    sushiCredentials: { customerId: 'cust-1', apiKey: API_KEY, requestorId: REQUESTOR },
  };
}

function assertNoSecret(text: string, where: string): void {
  for (const secret of [API_KEY, REQUESTOR, URL_SECRET])
    assert.ok(!text.includes(secret), `${where} contains a credential`);
  assert.ok(!text.includes('enc:v1:'), `${where} contains an envelope`);
}

/** Every file below `dir`, read as bytes. */
async function* filesOf(dir: string): AsyncGenerator<{ path: string; bytes: Buffer }> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* filesOf(path);
    else if (entry.isFile()) yield { path, bytes: await readFile(path) };
  }
}

let mock: MockCounterServer;
before(async () => {
  mock = await startMockCounterServer({ apiKey: API_KEY });
});
after(async () => {
  await mock?.close();
});

for (const backend of backends()) {
  describe(`credentials at rest on ${backend.name}`, () => {
    let svc: RunningService;
    let id: string;

    before(async () => {
      svc = await backend.start({ config: { token: TOKEN } });
    });
    after(async () => {
      await svc?.close();
    });

    it('answers a created provider with masks: no value, no ciphertext, no secret in the URL', async () => {
      const res = await call(svc, 'POST', '/usage-data-providers', {
        body: provider(`${mock.url}/ok-${backend.name}`),
        headers: auth,
      });
      assert.equal(res.status, 201, res.text);
      id = res.json.id;
      assert.deepEqual(res.json.sushiCredentials, { customerId: 'cust-1', apiKey: MASK, requestorId: MASK });
      assert.equal(res.json.harvestingConfig.sushiConfig.serviceUrl, `${mock.url}/ok-${backend.name}`);
      assert.deepEqual(res.json.harvestingConfig.sushiConfig.extraParameters, { client_secret: MASK });
      assertNoSecret(res.text, 'the POST answer');
      for (const path of ['/usage-data-providers?limit=100', `/usage-data-providers/${id}`]) {
        const got = await call(svc, 'GET', path, { headers: auth });
        assert.equal(got.status, 200, got.text);
        assertNoSecret(got.text, `GET ${path}`);
        assert.match(got.text, /\*{8}/);
      }
    });

    it('reveals with ?reveal=true and the service token; without the token it is refused', async () => {
      const shown = await call(svc, 'GET', `/usage-data-providers/${id}?reveal=true`, { headers: auth });
      assert.equal(shown.status, 200, shown.text);
      assert.equal(shown.json.sushiCredentials.apiKey, API_KEY);
      assert.equal(shown.json.sushiCredentials.requestorId, REQUESTOR);
      assert.equal(shown.json.harvestingConfig.sushiConfig.extraParameters.client_secret, URL_SECRET);
      const list = await call(svc, 'GET', '/usage-data-providers?reveal=true', { headers: auth });
      assert.equal(list.json.usageDataProviders[0].sushiCredentials.apiKey, API_KEY);
      const anonymous = await call(svc, 'GET', `/usage-data-providers/${id}?reveal=true`);
      assert.equal(anonymous.status, 401);
      assertNoSecret(anonymous.text, 'the 401 answer');
    });

    it('keeps the stored value when a PUT sends the mask back, replaces it with a new one', async () => {
      const masked = (await call(svc, 'GET', `/usage-data-providers/${id}`, { headers: auth })).json;
      masked.label = 'Encrypted Press (renamed)';
      const put = await call(svc, 'PUT', `/usage-data-providers/${id}`, { body: masked, headers: auth });
      assert.equal(put.status, 204, put.text);
      let shown = (await call(svc, 'GET', `/usage-data-providers/${id}?reveal=true`, { headers: auth })).json;
      assert.equal(shown.label, 'Encrypted Press (renamed)');
      assert.equal(shown.sushiCredentials.apiKey, API_KEY);
      assert.equal(shown.sushiCredentials.requestorId, REQUESTOR);
      assert.equal(shown.harvestingConfig.sushiConfig.extraParameters.client_secret, URL_SECRET);

      const changed = structuredClone(masked);
      changed.sushiCredentials.requestorId = 'REQUESTOR-new-value';
      assert.equal(
        (await call(svc, 'PUT', `/usage-data-providers/${id}`, { body: changed, headers: auth })).status,
        204,
      );
      shown = (await call(svc, 'GET', `/usage-data-providers/${id}?reveal=true`, { headers: auth })).json;
      assert.equal(shown.sushiCredentials.requestorId, 'REQUESTOR-new-value');
      assert.equal(shown.sushiCredentials.apiKey, API_KEY);

      const planted = structuredClone(masked);
      planted.sushiCredentials.apiKey = 'enc:v1:0011223344556677:AAAA:BBBB';
      const refused = await call(svc, 'PUT', `/usage-data-providers/${id}`, { body: planted, headers: auth });
      assert.equal(refused.status, 422, refused.text);
      assert.match(refused.text, /sushiCredentials\.apiKey looks like an encrypted value/);
      // Back to the original requestor id for the checks below.
      changed.sushiCredentials.requestorId = REQUESTOR;
      await call(svc, 'PUT', `/usage-data-providers/${id}`, { body: changed, headers: auth });
    });

    it('harvests with the decrypted credentials', async () => {
      mock.reset();
      const start = await call(svc, 'GET', `/erm-usage-harvester/start/${id}`, { headers: auth });
      assert.equal(start.status, 200, start.text);
      await waitForJobs(svc, 120_000);
      const reports = mock.requestsFor(`ok-${backend.name}`).filter((r) => r.reportId === 'tr');
      assert.ok(reports.length > 0, 'the engine asked for the report');
      for (const r of reports) {
        assert.equal(r.query.api_key, API_KEY);
        assert.equal(r.query.requestor_id, REQUESTOR);
      }
      const stored = await call(
        svc,
        'GET',
        `/counter-reports?query=${encodeURIComponent(`providerId==${id}`)}`,
        {
          headers: auth,
        },
      );
      assert.equal(stored.json.totalRecords, 1, stored.text);
      assert.equal(stored.json.counterReports[0].failedAttempts ?? 0, 0, stored.text);
    });

    if (backend.name === 'postgres') {
      it('a pg_dump of the database holds ciphertext, never a credential', () => {
        const dump = pgDump(svc.ctx.config.databaseUrl!);
        for (const secret of [API_KEY, REQUESTOR, URL_SECRET]) assert.ok(!dump.includes(secret));
        assert.match(dump, /enc:v1:/);
      });

      it('refuses to start without HARVESTER_SECRET_KEY, or with another key; nothing is changed', async () => {
        const databaseUrl = svc.ctx.config.databaseUrl!;
        await assert.rejects(
          startOn('postgres', undefined, { databaseUrl, tenants: [], config: { secretKey: undefined } }),
          (err: Error) =>
            err instanceof CredentialKeyError &&
            err.code === 'KEY_MISSING' &&
            /HARVESTER_SECRET_KEY is not set/.test(err.message),
        );
        await assert.rejects(
          startOn('postgres', undefined, { databaseUrl, tenants: [], config: { secretKey: NEW_KEY } }),
          (err: Error) =>
            err instanceof CredentialKeyError &&
            err.code === 'KEY_MISMATCH' &&
            /Nothing was changed/.test(err.message) &&
            !err.message.includes(NEW_KEY),
        );
        const dump = pgDump(databaseUrl);
        assert.match(dump, /enc:v1:/);
      });

      it('rotates to a new key through the CLI; a second run writes nothing; the old key is refused after', async () => {
        const databaseUrl = svc.ctx.config.databaseUrl!;
        const rotating = await startOn('postgres', undefined, {
          databaseUrl,
          tenants: [],
          config: { secretKey: NEW_KEY, previousSecretKey: TEST_SECRET_KEY, token: TOKEN },
        });
        try {
          const first = await runCli(['secrets', 'rotate', '--url', rotating.url, '--token', TOKEN]);
          assert.equal(first.code, 0, first.stderr);
          assert.match(first.stdout, /1 rewritten \(3 values re-encrypted, 0 plain values encrypted/);
          const second = await runCli(['secrets', 'rotate', '--url', rotating.url, '--token', TOKEN]);
          assert.match(second.stdout, /0 rewritten .*3 already current/);
          const refused = await runCli(['secrets', 'rotate', '--url', rotating.url]);
          assert.equal(refused.code, 1);
          assert.match(refused.stderr, /401/);
        } finally {
          await rotating.close();
        }
        await svc.close();
        await assert.rejects(
          startOn('postgres', undefined, { databaseUrl, tenants: [], config: { token: TOKEN } }),
          (err: Error) => err instanceof CredentialKeyError && err.code === 'KEY_MISMATCH',
        );
        svc = await startOn('postgres', undefined, {
          databaseUrl,
          tenants: [],
          config: { secretKey: NEW_KEY, token: TOKEN },
        });
        const shown = await runCli([
          'providers',
          'list',
          '--json',
          '--show-secrets',
          '--url',
          svc.url,
          '--token',
          TOKEN,
        ]);
        assert.equal(shown.code, 0, shown.stderr);
        assert.equal(JSON.parse(shown.stdout)[0].sushiCredentials.apiKey, API_KEY);
        const masked = await runCli(['providers', 'list', '--json', '--url', svc.url, '--token', TOKEN]);
        assertNoSecret(masked.stdout, 'providers list --json');
      });
    }
  });
}

describe('credentials at rest without a service token', () => {
  it('refuses ?reveal=true with 403 and says why', async () => {
    const svc = await startOn('pglite', undefined);
    try {
      const res = await call(svc, 'POST', '/usage-data-providers', { body: provider(`${mock.url}/ok-x`) });
      assert.equal(res.status, 201, res.text);
      const shown = await call(svc, 'GET', `/usage-data-providers/${res.json.id}?reveal=true`);
      assert.equal(shown.status, 403);
      assert.match(shown.text, /needs the service token: start the service with HARVESTER_TOKEN/);
      assertNoSecret(shown.text, 'the 403 answer');
      const cli = await runCli(['providers', 'list', '--json', '--show-secrets', '--url', svc.url]);
      assert.equal(cli.code, 1);
      assert.match(cli.stderr, /403/);
    } finally {
      await svc.close();
    }
  });
});

describe('the key file beside the embedded database', () => {
  let dataDir: string;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'harvester-keyfile-'));
  });
  after(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });
  const start = () =>
    startService(testConfig({ memory: false, dataDir, secretKey: undefined }), {
      logger: createLogger({ level: 'error', write: () => {} }),
    });

  it('is created 0600 on the first start; the database files hold no credential', async () => {
    const svc = await start();
    try {
      await enableTenant(svc.ctx, 'diku');
      const res = await call(svc, 'POST', '/usage-data-providers', { body: provider(`${mock.url}/ok-file`) });
      assert.equal(res.status, 201, res.text);
    } finally {
      await svc.close();
    }
    const keyFile = join(dataDir, 'keys', 'credentials.key');
    assert.equal((await stat(keyFile)).mode & 0o777, 0o600);
    assert.equal((await stat(join(dataDir, 'keys'))).mode & 0o777, 0o700);
    let envelopes = 0;
    for await (const { path, bytes } of filesOf(dataDir)) {
      for (const secret of [API_KEY, REQUESTOR, URL_SECRET])
        assert.equal(bytes.indexOf(secret), -1, `${path} contains a credential`);
      if (bytes.indexOf('enc:v1:') >= 0) envelopes += 1;
    }
    assert.ok(envelopes > 0, 'the ciphertext is in the data files');
  });

  it('a missing key file stops the start; restored, the credentials are read again', async () => {
    const keyFile = join(dataDir, 'keys', 'credentials.key');
    await rename(keyFile, `${keyFile}.bak`);
    await assert.rejects(
      start(),
      (err: Error) =>
        err instanceof CredentialKeyError &&
        err.code === 'KEY_MISSING' &&
        err.message.includes(keyFile) &&
        /Nothing was changed/.test(err.message),
    );
    await assert.rejects(stat(keyFile), 'no new key file was made');
    await rename(`${keyFile}.bak`, keyFile);
    const svc = await start();
    try {
      const provider = await svc.store.findProviders('diku', 'cql.allRecords=1', 0, 10);
      assert.equal(provider.records[0].sushiCredentials?.apiKey, API_KEY);
    } finally {
      await svc.close();
    }
  });
});
