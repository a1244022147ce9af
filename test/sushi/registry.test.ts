/**
 * Requests and answers of the implementation registry behind /impl against real HTTP servers. A number in parentheses at the
 * end of a test name is the item of the checklist in docs/folio-contract.md §9 it checks (here: 12, 13, 164).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request as nodeRequest } from 'node:http';
import { createEndpoint, listImplementations, SERVICE_IMPLEMENTATIONS } from '../../src/sushi/registry.ts';
import { closeDispatchers } from '../../src/sushi/transport.ts';
import type { UsageDataProvider } from '../../src/model/records.ts';
import { aggregatorSetting, provider, reply, startStub, TRANSPORT } from '../helpers/sushi.ts';

after(closeDispatchers);

const R4 = [
  'BR1',
  'BR2',
  'BR3',
  'BR4',
  'BR5',
  'BR7',
  'DB1',
  'DB2',
  'JR1',
  'JR1 GOA',
  'JR1a',
  'JR2',
  'JR3',
  'JR3 Mobile',
  'JR4',
  'JR5',
  'MR1',
  'MR1 Mobile',
  'PR1',
  'TR1',
  'TR2',
  'TR3',
  'TR3 Mobile',
];

const EXPECTED = [
  {
    name: 'Counter 5.0',
    description: 'Implementation for Counter/Sushi 5',
    type: 'cs50',
    isAggregator: false,
    reportRelease: '5',
    supportedReports: ['DR', 'IR', 'PR', 'TR'],
  },
  {
    name: 'Counter 5.1',
    description: 'Implementation for Counter/Sushi 5.1',
    type: 'cs51',
    isAggregator: false,
    isDefault: true,
    reportRelease: '5.1',
    supportedReports: ['DR', 'IR', 'PR', 'TR'],
  },
  {
    name: 'Counter-Sushi 4.1',
    description: 'SOAP-based implementation for CounterSushi 4.1',
    type: 'cs41',
    isAggregator: false,
    reportRelease: '4',
    supportedReports: R4,
  },
  {
    name: 'Nationaler Statistikserver',
    description: 'Implementation for Germanys National Statistics Server (https://sushi.redi-bw.de).',
    type: 'NSS',
    isAggregator: true,
    reportRelease: '4',
    supportedReports: R4,
    configurationParameters: ['apiKey', 'requestorId', 'customerId'],
  },
];

describe('/impl listing', () => {
  it('is exactly the body of folio-contract §2.3 (12)', () => {
    assert.deepEqual(listImplementations({}), EXPECTED);
    assert.equal(JSON.stringify(listImplementations({})), JSON.stringify(EXPECTED));
  });

  it('filters by isAggregator (13)', () => {
    assert.deepEqual(
      listImplementations({}, { aggregator: true }).map((i) => i.type),
      ['NSS'],
    );
    assert.deepEqual(
      listImplementations({}, { aggregator: false }).map((i) => i.type),
      ['cs50', 'cs51', 'cs41'],
    );
  });

  it('lists the standard views of cs50/cs51 when enabled, sorted (164)', () => {
    const [c50, c51, c41] = listImplementations({ enableStandardViews: true });
    const expected = [
      'DR',
      'DR_D1',
      'DR_D2',
      'IR',
      'IR_A1',
      'IR_M1',
      'PR',
      'PR_P1',
      'TR',
      'TR_B1',
      'TR_B2',
      'TR_B3',
      'TR_J1',
      'TR_J2',
      'TR_J3',
      'TR_J4',
    ];
    assert.deepEqual(c50.supportedReports, expected);
    assert.deepEqual(c51.supportedReports, expected);
    assert.deepEqual(c41.supportedReports, R4);
  });
});

describe('implementation lookup (140)', () => {
  it('by sushiConfig.serviceType, exact and case-sensitive', () => {
    for (const type of ['cs50', 'cs51', 'cs41']) {
      const endpoint = createEndpoint(provider(type, 'https://x.org/sushi'), undefined, TRANSPORT, {});
      assert.equal(endpoint.release, type === 'cs41' ? '4' : type === 'cs50' ? '5' : '5.1');
    }
    for (const type of ['CS51', '', 'nss', 'unknown']) {
      assert.throws(() => createEndpoint(provider(type, 'https://x.org/'), undefined, TRANSPORT, {}), {
        name: 'EndpointInitError',
        message: 'No service implementation available',
      });
    }
  });

  it('by the aggregator serviceType when harvestVia is aggregator with an id', () => {
    const udp: UsageDataProvider = {
      ...provider('cs51', 'https://x.org/'),
      harvestingConfig: {
        harvestVia: 'aggregator',
        aggregator: { id: 'a1', vendorCode: 'V' },
        sushiConfig: { serviceType: 'cs51', serviceUrl: 'https://x.org/' },
        reportRelease: '4',
      },
    };
    const endpoint = createEndpoint(
      udp,
      aggregatorSetting('https://nss.example.org/GetReport', { apiKey: 'abcd' }),
      TRANSPORT,
      {},
    );
    assert.equal(endpoint.endpointKey, 'https://nss.example.org/GetReport');
    // Without an aggregator id, sushiConfig.serviceType is used.
    const noId: UsageDataProvider = {
      ...udp,
      harvestingConfig: { ...udp.harvestingConfig, aggregator: { vendorCode: 'V' } },
    };
    assert.equal(createEndpoint(noId, undefined, TRANSPORT, {}).endpointKey, 'https://x.org/r51');
  });

  it('a missing harvestingConfig or sushiConfig gives none', () => {
    const bare: UsageDataProvider = { id: 'x', label: 'x' };
    assert.throws(() => createEndpoint(bare, undefined, TRANSPORT, {}), {
      message: 'No service implementation available',
    });
    const noSushi: UsageDataProvider = { id: 'x', label: 'x', harvestingConfig: { harvestVia: 'sushi' } };
    assert.throws(() => createEndpoint(noSushi, undefined, TRANSPORT, {}), {
      message: 'No service implementation available',
    });
  });

  it('registers cs50, cs51, cs41 and NSS', () => {
    assert.deepEqual([...SERVICE_IMPLEMENTATIONS.keys()].sort(), ['NSS', 'cs41', 'cs50', 'cs51']);
  });
});

describe('proxy (139)', () => {
  it('every implementation sends its request through HTTP_PROXY', async () => {
    const target = await startStub((_req, res) => reply(res, 500));
    const seen: string[] = [];
    const proxy = await startStub((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      const upstream = nodeRequest(
        req.url,
        { method: req.method, headers: { 'content-type': String(req.headers['content-type'] ?? '') } },
        (up) => {
          up.resume();
          up.on('end', () => reply(res, up.statusCode ?? 502, 'proxied'));
        },
      );
      upstream.end(req.body);
    });
    const saved = {
      HTTP_PROXY: process.env.HTTP_PROXY,
      http_proxy: process.env.http_proxy,
      NO_PROXY: process.env.NO_PROXY,
      no_proxy: process.env.no_proxy,
    };
    process.env.HTTP_PROXY = proxy.url;
    delete process.env.http_proxy;
    delete process.env.NO_PROXY;
    delete process.env.no_proxy;
    try {
      const item = { reportName: 'TR', beginDate: '2022-01-01', endDate: '2022-01-31' };
      for (const type of ['cs50', 'cs51', 'cs41']) {
        const endpoint = createEndpoint(provider(type, `${target.url}/${type}`), undefined, TRANSPORT, {});
        const result = await endpoint.fetchReport(item);
        assert.equal(result.kind, 'failure');
      }
      const udp: UsageDataProvider = {
        id: 'x',
        label: 'x',
        harvestingConfig: {
          harvestVia: 'aggregator',
          aggregator: { id: 'a1', vendorCode: 'V' },
          reportRelease: '4',
        },
      };
      const nssEndpoint = createEndpoint(
        udp,
        aggregatorSetting(`${target.url}/nss`, { apiKey: 'k' }),
        TRANSPORT,
        {},
      );
      await nssEndpoint.fetchReport({ ...item, reportName: 'JR1' });
      assert.deepEqual(
        seen.map((s) => s.split('?')[0]),
        [
          `GET ${target.url}/cs50/reports/tr`,
          `GET ${target.url}/cs51/r51/reports/tr`,
          `POST ${target.url}/cs41`,
          `GET ${target.url}/nss`,
        ],
      );
      assert.equal(target.requests.length, 4);
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      await closeDispatchers();
      await proxy.close();
      await target.close();
    }
  });
});
