import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../../src/clock.ts';
import {
  DEFAULT_REGISTRY_URL,
  RegistryClient,
  RegistryError,
  RegistryNotFoundError,
  registryUrlFrom,
  RegistryUnreachableError,
} from '../../src/registry/index.ts';
import { closeDispatchers } from '../../src/sushi/transport.ts';
import {
  closedPort,
  startRegistryServer,
  startSilentServer,
  type RegistryServer,
} from '../../mock/registry-server.ts';

const EJO = '9763ab6e-b65f-472e-950e-2f17d5cec18f';
const EJO_51 = 'cb38144c-253b-4a58-b2e0-dca4968ad7d7';
const ARCHIVE = '4662bed7-b9d9-41cc-863a-fd3878cf4398';
const NEWS_51 = '527330e6-225d-444a-9cae-ee41cb5f3d2c';

after(closeDispatchers);

async function failure(promise: Promise<unknown>): Promise<RegistryError> {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof RegistryError, `expected a RegistryError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected an error');
}

describe('COUNTER Registry client against a recorded registry', () => {
  let registry: RegistryServer;
  before(async () => {
    registry = await startRegistryServer();
  });
  after(() => registry.close());

  it('lists the platforms with their reports and service links (either registry host)', async () => {
    const client = new RegistryClient({ baseUrl: registry.url });
    const platforms = await client.listPlatforms();
    assert.equal(platforms.length, 6);
    const ejo = platforms.find((p) => p.id === EJO)!;
    assert.equal(ejo.name, 'Example Journals Online');
    assert.equal(ejo.abbrev, 'EJO');
    assert.equal(ejo.contentProviderName, 'Example Scholarly Publishing Ltd');
    assert.deepEqual(ejo.contact, { email: 'usage@journals.example.org' });
    assert.deepEqual(ejo.hostTypes, ['eJournal', 'Scholarly_Collection']);
    assert.deepEqual(
      ejo.sushiServices.map((s) => [s.release, s.id]),
      [
        ['5', 'bc6a5692-cf44-4ed9-aa00-e9ecdbad59f4'],
        ['5.1', EJO_51],
      ],
    );
    assert.ok(ejo.reports.some((r) => r.release === '5.1' && r.reportId === 'TR_J1'));
    const archive = platforms.find((p) => p.id === ARCHIVE)!;
    assert.deepEqual(
      archive.sushiServices.map((s) => s.id),
      ['e311bb45-b076-4750-a013-71352aa45fcc'],
    );
    assert.equal(
      platforms.find((p) => p.name === 'Demo Society Journals')!.contact,
      undefined,
      'null contact',
    );
    assert.equal(registry.requests.at(-1), '/api/v1/platform/?format=json');
    assert.match(String(registry.lastHeaders().accept), /application\/json/);
  });

  it('keeps the platform list for a day and fetches it again after that', async () => {
    const clock = new ManualClock(Date.parse('2026-03-01T00:00:00Z'));
    const client = new RegistryClient({ baseUrl: registry.url, clock });
    const count = () => registry.requests.filter((r) => r.startsWith('/api/v1/platform/?')).length;
    const before = count();
    await Promise.all([client.listPlatforms(), client.listPlatforms()]);
    await client.searchPlatforms('journals');
    assert.equal(count(), before + 1);
    clock.advance(24 * 60 * 60_000);
    await client.listPlatforms();
    assert.equal(count(), before + 2);
  });

  it('does not keep a failed list fetch', async () => {
    const client = new RegistryClient({ baseUrl: registry.url });
    registry.answers.set('/api/v1/platform/', { status: 503, body: '{}' });
    await failure(client.listPlatforms());
    registry.answers.delete('/api/v1/platform/');
    assert.equal((await client.listPlatforms()).length, 6);
  });

  it('searches by name, abbreviation and content provider, best match first, ignoring case and accents', async () => {
    const client = new RegistryClient({ baseUrl: registry.url });
    const names = async (q: string) => (await client.searchPlatforms(q)).map((p) => p.name);
    assert.deepEqual(await names('example journals'), [
      'Example Journals Archive',
      'Example Journals Online',
    ]);
    assert.deepEqual(await names('EJO'), ['Example Journals Online']);
    assert.deepEqual(await names('journals online'), ['Example Journals Online']);
    assert.deepEqual(await names('DÉMO'), ['Demo Society Journals']);
    assert.deepEqual(await names('journals'), [
      'Demo Society Journals',
      'Example Journals Archive',
      'Example Journals Online',
    ]);
    assert.deepEqual(await names('scholarly publishing'), [
      'Example Journals Archive',
      'Example Journals Online',
    ]);
    assert.deepEqual(await names('  '), []);
    assert.deepEqual(await names('no such platform'), []);
  });

  it('reads one platform and its COUNTER API services', async () => {
    const client = new RegistryClient({ baseUrl: registry.url });
    const platform = await client.getPlatform(EJO);
    const services = await client.servicesOf(platform);
    assert.deepEqual(
      services.map((s) => [s.release, s.url]),
      [
        ['5', 'https://sushi.example-journals.org/counter/r5/reports/'],
        ['5.1', 'https://sushi.example-journals.org/counter/r51/'],
      ],
    );
    const s51 = services[1];
    assert.deepEqual(s51.requires, { customerId: true, requestorId: true, apiKey: true, platform: false });
    assert.match(s51.help.apiKey ?? '', /Generate an API key/);
    assert.equal(s51.requestVolumeLimits, true);
    assert.equal(s51.dataHostId, '244b9437-8881-4cfd-8b96-5c24d699aab7');
    assert.deepEqual(s51.lastAudit, {
      startDate: '2025-02',
      finishDate: '2025-06',
      finished: true,
      result: 'P',
      release: '5.1',
      status: 'Currently valid audit',
    });
    const news = await client.getSushiService(NEWS_51);
    assert.equal(news.contact, undefined);
    assert.equal(news.credentialsAutoExpire, true);
    assert.deepEqual(news.migrations, [
      {
        id: '5563e939-c3b8-4dec-9ce1-535314821d54',
        dataHostId: '587d894a-ba04-44c5-b270-86bc9eadfa14',
        dataHostOriginalName: 'Demo Statistics Hosting',
        migrationDate: '2026-01-01',
      },
    ]);
  });

  it('says which record the registry does not have', async () => {
    const client = new RegistryClient({ baseUrl: registry.url });
    const e = await failure(client.getPlatform('00000000-0000-4000-8000-000000000000'));
    assert.ok(e instanceof RegistryNotFoundError);
    assert.equal(e.message, 'The COUNTER Registry has no platform 00000000-0000-4000-8000-000000000000');
  });

  it('collects a snapshot of linked records, with null for what the registry no longer has', async () => {
    const client = new RegistryClient({ baseUrl: registry.url });
    const gone = 'bc6a5692-cf44-4ed9-aa00-e9ecdbad59f4';
    const saved = registry.services.get(gone)!;
    registry.services.delete(gone);
    try {
      const snapshot = await client.snapshotFor([
        { platformId: EJO, serviceId: gone },
        {
          platformId: '11111111-1111-4111-8111-111111111111',
          serviceId: '22222222-2222-4222-8222-222222222222',
        },
      ]);
      assert.equal(snapshot.platforms.get(EJO)?.name, 'Example Journals Online');
      assert.equal(snapshot.platforms.get('11111111-1111-4111-8111-111111111111'), null);
      assert.equal(snapshot.services.get(gone), null);
      assert.equal(
        snapshot.services.get(EJO_51)?.release,
        '5.1',
        "the platform's other services are read too",
      );
      assert.equal(snapshot.services.get('22222222-2222-4222-8222-222222222222'), null);
    } finally {
      registry.services.set(gone, saved);
    }
  });

  it('follows a redirect', async () => {
    const client = new RegistryClient({ baseUrl: registry.url.replace('/api/v1/', '/old/api/v1/') });
    registry.answers.set('/old/api/v1/sushi-service/' + EJO_51 + '/', {
      status: 301,
      body: '',
      headers: { location: `/api/v1/sushi-service/${EJO_51}/?format=json` },
    });
    assert.equal((await client.getSushiService(EJO_51)).id, EJO_51);
  });

  it('refuses answers that are not the registry API: not JSON, wrong shape, too large, other 4xx', async () => {
    const client = new RegistryClient({ baseUrl: registry.url, maxBytes: 100_000 });
    const path = `/api/v1/sushi-service/${EJO_51}/`;
    registry.answers.set(path, { status: 200, body: '<html>maintenance</html>' });
    assert.equal((await failure(client.getSushiService(EJO_51))).code, 'REGISTRY_BAD_ANSWER');
    registry.answers.set(path, { status: 200, body: '{"url": "https://x.example/"}' });
    assert.match((await failure(client.getSushiService(EJO_51))).message, /without an id/);
    registry.answers.set(path, { status: 403, body: '{}' });
    assert.match((await failure(client.getSushiService(EJO_51))).message, /HTTP 403 Forbidden/);
    registry.answers.set('/api/v1/platform/', {
      status: 200,
      body: JSON.stringify([{ id: 'x', name: 'y'.repeat(200_000) }]),
    });
    assert.match((await failure(client.listPlatforms())).message, /more than 100000 bytes/);
    registry.answers.clear();
  });

  it('treats 5xx and 429 as "not reachable, try again later"', async () => {
    const client = new RegistryClient({ baseUrl: registry.url });
    registry.answers.set(`/api/v1/platform/${EJO}/`, { status: 503, body: 'down' });
    const e = await failure(client.getPlatform(EJO));
    assert.ok(e instanceof RegistryUnreachableError);
    assert.equal(
      e.message,
      `COUNTER Registry not reachable at ${registry.url}: HTTP 503 Service Unavailable; try again later or add the provider by hand`,
    );
    registry.answers.clear();
  });
});

describe('COUNTER Registry not reachable', () => {
  it('names the URL and the reason when nothing listens', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/api/v1/`;
    const e = await failure(new RegistryClient({ baseUrl: url }).listPlatforms());
    assert.ok(e instanceof RegistryUnreachableError);
    assert.equal(e.code, 'REGISTRY_UNREACHABLE');
    assert.equal(
      e.message,
      `COUNTER Registry not reachable at ${url}: connection refused; try again later or add the provider by hand`,
    );
  });

  it('gives up on a registry that never answers, after the timeout', async () => {
    const silent = await startSilentServer();
    try {
      const e = await failure(new RegistryClient({ baseUrl: silent.url, timeoutMs: 300 }).listPlatforms());
      assert.ok(e instanceof RegistryUnreachableError);
      assert.equal(e.reason, 'no answer within 0.3 s');
      assert.match(e.message, /try again later or add the provider by hand$/);
    } finally {
      await silent.close();
    }
  });

  it('never shows a user name or password of the registry URL', async () => {
    const url = `http://reader:s3cret-pw@127.0.0.1:${await closedPort()}/api/v1`;
    const e = await failure(new RegistryClient({ baseUrl: url }).listPlatforms());
    assert.ok(!e.message.includes('s3cret-pw') && !e.message.includes('reader'), e.message);
  });
});

describe('registry URL setting', () => {
  it('comes from HARVESTER_REGISTRY_URL, else the public registry', () => {
    assert.equal(registryUrlFrom({}), DEFAULT_REGISTRY_URL);
    assert.equal(
      registryUrlFrom({ HARVESTER_REGISTRY_URL: 'http://mirror.example/api/v1' }),
      'http://mirror.example/api/v1',
    );
    assert.equal(
      new RegistryClient({ baseUrl: 'http://mirror.example/api/v1' }).baseUrl,
      'http://mirror.example/api/v1/',
    );
  });

  it('must be an http(s) URL', () => {
    for (const bad of ['registry.countermetrics.org', 'ftp://x.example/', '']) {
      assert.throws(
        () => new RegistryClient({ baseUrl: bad }),
        (e: Error) =>
          e instanceof RegistryError && e.code === 'REGISTRY_URL' && /HARVESTER_REGISTRY_URL/.test(e.message),
      );
    }
  });
});
