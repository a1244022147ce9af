import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { checkProvider } from '../../src/erm/record-checks.ts';
import type { UsageDataProvider } from '../../src/model/records.ts';
import {
  missingCredentials,
  providerFromRegistry,
  readPlatformList,
  readSushiService,
  RegistryError,
  registryLinkOf,
  type RegistryPlatform,
  type RegistrySushiService,
} from '../../src/registry/index.ts';
import { createEndpoint } from '../../src/sushi/registry.ts';
import { registryFixtures } from '../../mock/registry-server.ts';

const fixtures = registryFixtures();
const platforms = readPlatformList(fixtures.platforms);
const NOW = new Date('2026-03-01T10:00:00.000Z');

function platformNamed(name: string): { platform: RegistryPlatform; services: RegistrySushiService[] } {
  const platform = platforms.find((p) => p.name === name)!;
  const services = platform.sushiServices.map((ref) => readSushiService(fixtures.services.get(ref.id)));
  return { platform, services };
}

const transport = {
  connectTimeoutMs: 1000,
  headersTimeoutMs: 1000,
  idleTimeoutMs: 1000,
  totalTimeoutMs: 1000,
  maxResponseBytes: 1000,
  userAgent: 'test',
};

describe('a usage data provider from a registry platform', () => {
  it('harvests the 5.1 service with cs51, at the URL the cs51 client will use', () => {
    const { platform, services } = platformNamed('Example Journals Online');
    const credentials = { customerId: 'C-1', requestorId: 'R-1', apiKey: 'K-1' };
    const { provider, service, missing } = providerFromRegistry(platform, services, {
      credentials,
      now: NOW,
    });
    assert.equal(service.id, 'cb38144c-253b-4a58-b2e0-dca4968ad7d7');
    assert.deepEqual(missing, []);
    assert.equal(provider.label, 'Example Journals Online');
    assert.equal(provider.description, 'Example Scholarly Publishing Ltd');
    assert.equal(provider.status, 'active');
    assert.deepEqual(provider.sushiCredentials, credentials);
    const { registry, ...config } = provider.harvestingConfig!;
    assert.deepEqual(config, {
      harvestingStatus: 'active',
      harvestVia: 'sushi',
      sushiConfig: { serviceType: 'cs51', serviceUrl: 'https://sushi.example-journals.org/counter/r51' },
      reportRelease: '5.1',
      requestedReports: ['PR', 'TR', 'IR'],
    });
    assert.deepEqual(registry, {
      platformId: '9763ab6e-b65f-472e-950e-2f17d5cec18f',
      platformName: 'Example Journals Online',
      serviceId: 'cb38144c-253b-4a58-b2e0-dca4968ad7d7',
      release: '5.1',
      serviceUrl: 'https://sushi.example-journals.org/counter/r51/',
      requires: { customerId: true, requestorId: true, apiKey: true, platform: false },
      syncedAt: '2026-03-01T10:00:00.000Z',
    });
    assert.match(provider.notes!, /^From the COUNTER Registry: Example Journals Online \(COUNTER 5\.1\)\./);
    assert.match(provider.notes!, /API key: Generate an API key/);
    assert.match(provider.notes!, /Request limits: At most one request per second/);
    assert.match(provider.notes!, /Contact: usage@journals\.example\.org/);
  });

  it('is a record the store accepts and the harvesting engine can bind', () => {
    const { platform, services } = platformNamed('Example Journals Online');
    const { provider } = providerFromRegistry(platform, services, {
      credentials: { customerId: 'C-1', requestorId: 'R-1', apiKey: 'K-1' },
      harvestingStart: '2025-01',
    });
    const stored = checkProvider(provider);
    const withId = { ...stored, id: 'a1b2c3d4-0000-4000-8000-000000000001' } as UsageDataProvider;
    const endpoint = createEndpoint(withId, undefined, transport, { enableStandardViews: false });
    assert.equal(endpoint.release, '5.1');
    assert.equal(endpoint.endpointKey, 'https://sushi.example-journals.org/counter/r51');
  });

  it('does not harvest until the credentials the registry requires are given', () => {
    const { platform, services } = platformNamed('Example Journals Online');
    const { provider, missing } = providerFromRegistry(platform, services, {
      credentials: { customerId: ' C-1 ', apiKey: '' },
    });
    assert.deepEqual(missing, ['sushiCredentials.requestorId', 'sushiCredentials.apiKey']);
    assert.equal(provider.harvestingConfig!.harvestingStatus, 'inactive');
    assert.equal(provider.status, 'active');
    assert.deepEqual(provider.sushiCredentials, { customerId: 'C-1' });
    checkProvider(provider);
  });

  it('uses the 5.0 service when asked, with the /reports suffix removed', () => {
    const { platform, services } = platformNamed('Example Journals Online');
    const { provider, missing } = providerFromRegistry(platform, services, {
      release: '5',
      credentials: { customerId: 'C', requestorId: 'R' },
    });
    assert.deepEqual(provider.harvestingConfig!.sushiConfig, {
      serviceType: 'cs50',
      serviceUrl: 'https://sushi.example-journals.org/counter/r5',
    });
    assert.equal(provider.harvestingConfig!.reportRelease, '5');
    assert.deepEqual(provider.harvestingConfig!.requestedReports, ['PR', 'TR', 'IR']);
    assert.deepEqual(missing, [], 'the 5.0 service needs no API key');
  });

  it('takes a 5.0-only platform with cs50 and asks for the platform parameter it requires', () => {
    const { platform, services } = platformNamed('Sample Books Platform');
    const { provider, missing } = providerFromRegistry(platform, services, {
      credentials: { customerId: 'C' },
    });
    assert.equal(provider.harvestingConfig!.sushiConfig!.serviceType, 'cs50');
    assert.equal(
      provider.harvestingConfig!.sushiConfig!.serviceUrl,
      'https://stats.samplebooks.example.com/sushi',
    );
    assert.deepEqual(missing, ['sushiCredentials.apiKey', 'sushiCredentials.platform']);
    assert.deepEqual(provider.harvestingConfig!.requestedReports, ['PR', 'TR']);
    assert.match(provider.notes!, /Platform: Send platform=samplebooks/);
    assert.match(
      provider.notes!,
      /IP address authorisation: Requests must come from a registered IP address/,
    );
    assert.match(
      provider.notes!,
      /Contact: Usage Support Team, sushi@books\.sample\.example\.com, \+1 555 0100/,
    );
  });

  it('appends /r51 to a 5.1 URL without it and keeps http URLs', () => {
    const archive = platformNamed('Example Journals Archive');
    assert.equal(
      providerFromRegistry(archive.platform, archive.services).provider.harvestingConfig!.sushiConfig!
        .serviceUrl,
      'https://sushi.example-journals.org/archive/r51',
    );
    const demo = platformNamed('Demo Society Journals');
    assert.equal(
      providerFromRegistry(demo.platform, demo.services).provider.harvestingConfig!.sushiConfig!.serviceUrl,
      'http://journals.demo-society.example.net/sushi/r51',
    );
  });

  it('refuses a platform without a COUNTER API service, pointing to adding the provider by hand', () => {
    const { platform, services } = platformNamed('Print Archive Collection');
    assert.throws(
      () => providerFromRegistry(platform, services),
      (e: Error) =>
        e instanceof RegistryError &&
        e.code === 'REGISTRY_NO_SERVICE' &&
        e.message ===
          'The COUNTER Registry lists no COUNTER 5.0 or 5.1 API service with a valid URL for Print Archive Collection; add the provider by hand',
    );
    const books = platformNamed('Sample Books Platform');
    assert.throws(
      () => providerFromRegistry(books.platform, books.services, { release: '5.1' }),
      /no COUNTER 5\.1 API service/,
    );
  });
});

describe('which credentials the engine must have before it sends a request', () => {
  it('lists the required credentials a linked provider leaves empty', () => {
    const { platform, services } = platformNamed('Sample Books Platform');
    const { provider } = providerFromRegistry(platform, services, {
      credentials: { customerId: 'C', apiKey: 'K' },
    });
    assert.deepEqual(missingCredentials(provider), ['sushiCredentials.platform']);
    provider.sushiCredentials!.platform = 'samplebooks';
    assert.deepEqual(missingCredentials(provider), []);
  });

  it('asks nothing of providers without a registry link or with a malformed one', () => {
    const plain = {
      id: 'p',
      label: 'x',
      harvestingConfig: { harvestingStatus: 'active' },
    } as UsageDataProvider;
    assert.deepEqual(missingCredentials(plain), []);
    const broken = {
      ...plain,
      harvestingConfig: { harvestingStatus: 'active', registry: { platformId: 1 } },
    } as UsageDataProvider;
    assert.equal(registryLinkOf(broken), undefined);
    assert.deepEqual(missingCredentials(broken), []);
  });
});
