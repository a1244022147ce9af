import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { UsageDataProvider } from '../../src/model/records.ts';
import {
  applyRegistryChanges,
  diffWithRegistry,
  providerFromRegistry,
  readPlatformList,
  readSushiService,
  registryLinkOf,
  registryRefsOf,
  type RegistryPlatform,
  type RegistryRelease,
  type RegistrySnapshot,
  type RegistrySushiService,
} from '../../src/registry/index.ts';
import { registryFixtures } from '../../mock/registry-server.ts';

const EJO = '9763ab6e-b65f-472e-950e-2f17d5cec18f';
const EJO_50 = 'bc6a5692-cf44-4ed9-aa00-e9ecdbad59f4';
const EJO_51 = 'cb38144c-253b-4a58-b2e0-dca4968ad7d7';
const BOOKS = 'cb834a15-3d94-4b02-aa1a-cc4fa70e028c';
const BOOKS_50 = 'ddc934d5-d56f-491d-bded-845eb56609ac';
const THEN = new Date('2026-01-01T00:00:00.000Z');
const NOW = new Date('2026-03-01T00:00:00.000Z');

/** The recorded registry as a snapshot; `change` edits the raw JSON first (as a later registry would). */
function snapshot(change: (raw: ReturnType<typeof registryFixtures>) => void = () => {}): RegistrySnapshot & {
  platforms: Map<string, RegistryPlatform | null>;
  services: Map<string, RegistrySushiService | null>;
} {
  const raw = registryFixtures();
  change(raw);
  return {
    platforms: new Map(readPlatformList(raw.platforms).map((p) => [p.id, p])),
    services: new Map([...raw.services.values()].map((s) => [s.id as string, readSushiService(s)])),
  };
}

function providerFor(platformId: string, release: RegistryRelease, id: string): UsageDataProvider {
  const world = snapshot();
  const platform = world.platforms.get(platformId)!;
  const services = platform.sushiServices.map((ref) => world.services.get(ref.id)!);
  const { provider } = providerFromRegistry(platform, services, {
    release,
    credentials: { customerId: 'C', requestorId: 'R', apiKey: 'K', platform: 'samplebooks' },
    now: THEN,
  });
  return { ...provider, id };
}

const ejo51 = () => providerFor(EJO, '5.1', 'p-ejo51');
const ejo50 = () => providerFor(EJO, '5', 'p-ejo50');
const books = () => providerFor(BOOKS, '5', 'p-books');

describe('comparing providers with the registry', () => {
  it('reports nothing while the registry is as it was, and ignores providers without a link', () => {
    const plain = {
      id: 'p-plain',
      label: 'By hand',
      harvestingConfig: { harvestingStatus: 'active' },
    } as UsageDataProvider;
    const reports = diffWithRegistry([ejo51(), books(), plain], snapshot());
    assert.deepEqual(reports, []);
    assert.deepEqual(registryRefsOf([ejo51(), ejo51(), books(), plain]), [
      { platformId: EJO, serviceId: EJO_51 },
      { platformId: BOOKS, serviceId: BOOKS_50 },
    ]);
  });

  it('reports a service URL the registry changed, and takes it over', () => {
    const world = snapshot((raw) => {
      raw.services.get(EJO_51)!.url = 'https://counter.example-journals.org/api/r51/';
    });
    const [report] = diffWithRegistry([ejo51()], world);
    assert.deepEqual(report.changes, [
      {
        kind: 'url-changed',
        from: 'https://sushi.example-journals.org/counter/r51',
        to: 'https://counter.example-journals.org/api/r51',
        providerUrl: 'https://sushi.example-journals.org/counter/r51',
      },
    ]);
    const updated = applyRegistryChanges(ejo51(), report, world, { now: NOW });
    assert.equal(
      updated.harvestingConfig!.sushiConfig!.serviceUrl,
      'https://counter.example-journals.org/api/r51',
    );
    const link = registryLinkOf(updated)!;
    assert.equal(link.serviceUrl, 'https://counter.example-journals.org/api/r51/');
    assert.equal(link.syncedAt, NOW.toISOString());
    assert.deepEqual(updated.sushiCredentials, ejo51().sushiCredentials, 'credentials are kept');
    assert.deepEqual(diffWithRegistry([updated], world), [], 'in step afterwards');
  });

  it('tells a URL edited by hand from one the registry changed, and keeps the edit unless told', () => {
    const edited = ejo51();
    edited.harvestingConfig!.sushiConfig!.serviceUrl = 'https://proxy.library.example/ejo/r51';
    const [report] = diffWithRegistry([edited], snapshot());
    assert.deepEqual(report.changes, [
      {
        kind: 'url-differs',
        registryUrl: 'https://sushi.example-journals.org/counter/r51',
        providerUrl: 'https://proxy.library.example/ejo/r51',
      },
    ]);
    assert.equal(
      applyRegistryChanges(edited, report, snapshot()).harvestingConfig!.sushiConfig!.serviceUrl,
      'https://proxy.library.example/ejo/r51',
    );
    assert.equal(
      applyRegistryChanges(edited, report, snapshot(), { overrideEditedUrl: true }).harvestingConfig!
        .sushiConfig!.serviceUrl,
      'https://sushi.example-journals.org/counter/r51',
    );
  });

  it('does not count a trailing slash or /reports as a different URL', () => {
    const provider = ejo50();
    provider.harvestingConfig!.sushiConfig!.serviceUrl =
      'https://sushi.example-journals.org/counter/r5/reports';
    assert.deepEqual(
      diffWithRegistry([provider], snapshot())
        .flatMap((r) => r.changes)
        .filter((c) => c.kind.startsWith('url')),
      [],
    );
  });

  it('reports changed credential rules and what the provider now lacks', () => {
    const world = snapshot((raw) => {
      raw.services.get(BOOKS_50)!.requestor_id_required = true;
      raw.services.get(BOOKS_50)!.platform_attr_required = false;
    });
    const provider = books();
    delete provider.sushiCredentials!.requestorId;
    const [report] = diffWithRegistry([provider], world);
    assert.deepEqual(report.changes, [
      {
        kind: 'requirements-changed',
        from: { customerId: true, requestorId: false, apiKey: true, platform: true },
        to: { customerId: true, requestorId: true, apiKey: true, platform: false },
      },
      { kind: 'credentials-missing', fields: ['sushiCredentials.requestorId'] },
    ]);
    const updated = applyRegistryChanges(provider, report, world, { now: NOW });
    assert.deepEqual(registryLinkOf(updated)!.requires, {
      customerId: true,
      requestorId: true,
      apiKey: true,
      platform: false,
    });
    assert.equal(
      updated.sushiCredentials!.platform,
      'samplebooks',
      'a credential no longer required is kept',
    );
  });

  it('reports a renamed platform', () => {
    const world = snapshot((raw) => {
      raw.platforms.find((p) => p.id === EJO)!.name = 'EJO Online';
    });
    const [report] = diffWithRegistry([ejo51()], world);
    assert.deepEqual(report.changes, [
      { kind: 'platform-renamed', from: 'Example Journals Online', to: 'EJO Online' },
    ]);
    const updated = applyRegistryChanges(ejo51(), report, world);
    assert.equal(registryLinkOf(updated)!.platformName, 'EJO Online');
    assert.equal(updated.label, 'Example Journals Online', "the provider's own label is the user's");
  });

  it('reports a platform or service the registry dropped, and changes nothing else about the provider', () => {
    const noPlatform = snapshot();
    noPlatform.platforms.set(BOOKS, null);
    noPlatform.services.set(BOOKS_50, null);
    const [gone] = diffWithRegistry([books()], noPlatform);
    assert.deepEqual(gone.changes, [
      { kind: 'platform-gone', platformId: BOOKS },
      { kind: 'service-gone', serviceId: BOOKS_50 },
    ]);
    const kept = applyRegistryChanges(books(), gone, noPlatform, { now: NOW });
    assert.equal(kept.status, 'active');
    assert.equal(kept.harvestingConfig!.harvestingStatus, 'active');
    assert.equal(
      kept.harvestingConfig!.sushiConfig!.serviceUrl,
      books().harvestingConfig!.sushiConfig!.serviceUrl,
    );

    const unlisted = snapshot((raw) => {
      const platform = raw.platforms.find((p) => p.id === EJO)!;
      platform.sushi_services = platform.sushi_services.filter(
        (s: { url: string }) => !s.url.includes(EJO_51),
      );
    });
    assert.deepEqual(diffWithRegistry([ejo51()], unlisted)[0].changes, [
      { kind: 'service-gone', serviceId: EJO_51 },
    ]);
  });

  it('offers the 5.1 service to a provider on 5.0, and moves it there when asked', () => {
    const world = snapshot();
    assert.equal(registryLinkOf(ejo50())!.serviceId, EJO_50);
    const [report] = diffWithRegistry([ejo50()], world);
    assert.deepEqual(report.changes, [
      {
        kind: 'release-available',
        release: '5.1',
        serviceId: EJO_51,
        serviceUrl: 'https://sushi.example-journals.org/counter/r51',
      },
    ]);
    assert.equal(
      applyRegistryChanges(ejo50(), report, world).harvestingConfig!.reportRelease,
      '5',
      'not without asking',
    );
    const moved = applyRegistryChanges(ejo50(), report, world, { switchRelease: true, now: NOW });
    assert.equal(moved.harvestingConfig!.sushiConfig!.serviceType, 'cs51');
    assert.equal(
      moved.harvestingConfig!.sushiConfig!.serviceUrl,
      'https://sushi.example-journals.org/counter/r51',
    );
    assert.equal(moved.harvestingConfig!.reportRelease, '5.1');
    const link = registryLinkOf(moved)!;
    assert.equal(link.serviceId, EJO_51);
    assert.equal(link.release, '5.1');
    assert.deepEqual(link.requires, { customerId: true, requestorId: true, apiKey: true, platform: false });
    assert.deepEqual(diffWithRegistry([moved], world), []);
  });
});
