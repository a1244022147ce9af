/**
 * GET /erm-usage-harvester/impl over real HTTP on PGlite and PostgreSQL (folio-contract checklist §9.1 12–13), and the
 * listing rules for implementations besides the built-in ones (14).
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { listImplementations, SERVICE_IMPLEMENTATIONS } from '../../src/sushi/registry.ts';
import type { ServiceImplementation, ServiceImplementationInfo } from '../../src/sushi/types.ts';
import type { RunningService } from '../../src/server.ts';
import { backends, call } from '../helpers/service.ts';

const IMPL = '/erm-usage-harvester/impl';
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
const EXPECTED = {
  implementations: [
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
  ],
};

for (const backend of backends()) {
  describe(`/impl on ${backend.name}`, () => {
    let svc: RunningService;
    before(async () => {
      svc = await backend.start({ config: { runWorkers: false } });
    });
    after(async () => {
      await svc.close();
    });

    it('lists exactly the four production implementations (12)', async () => {
      const res = await call(svc, 'GET', IMPL);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      assert.deepEqual(res.json, EXPECTED);
    });

    it('filters by aggregator: true in any case, anything else false, empty no filter (13)', async () => {
      const types = async (q: string) =>
        (await call(svc, 'GET', `${IMPL}${q}`)).json.implementations.map((i: any) => i.type);
      assert.deepEqual(await types('?aggregator=true'), ['NSS']);
      assert.deepEqual(await types('?aggregator=TRUE'), ['NSS']);
      assert.deepEqual(await types('?aggregator=false'), ['cs50', 'cs51', 'cs41']);
      assert.deepEqual(await types('?aggregator=yes'), ['cs50', 'cs51', 'cs41']);
      assert.deepEqual(await types('?aggregator='), ['cs50', 'cs51', 'cs41', 'NSS']);
    });
  });
}

/** An implementation that is only listed (it never harvests). */
const listedOnly = (info: ServiceImplementationInfo): ServiceImplementation => ({
  info: () => info,
  create: () => {
    throw new Error('listed only');
  },
});

describe('/impl listing of further implementations', () => {
  it('test implementations follow the same rules (14)', () => {
    const all = new Map(SERVICE_IMPLEMENTATIONS);
    all.set(
      'test1',
      listedOnly({
        name: 'test1',
        description: 'Test1 description',
        type: 'test1',
        isAggregator: false,
        isDefault: true,
        reportRelease: '5',
        supportedReports: ['TR', 'DR'],
        configurationParameters: ['param1', 'param2'],
      }),
    );
    all.set(
      'test2',
      listedOnly({
        name: 'test2',
        type: 'test2',
        isAggregator: true,
        isDefault: false,
        description: '',
        supportedReports: [],
        configurationParameters: [],
      }),
    );
    const list = listImplementations({ enableStandardViews: false }, {}, all);
    assert.deepEqual(
      list.map((i) => i.name),
      ['Counter 5.0', 'Counter 5.1', 'Counter-Sushi 4.1', 'Nationaler Statistikserver', 'test1', 'test2'],
    );
    assert.deepEqual(list[4], {
      name: 'test1',
      description: 'Test1 description',
      type: 'test1',
      isAggregator: false,
      isDefault: true,
      reportRelease: '5',
      supportedReports: ['DR', 'TR'],
      configurationParameters: ['param1', 'param2'],
    });
    assert.deepEqual(list[5], { name: 'test2', type: 'test2', isAggregator: true });
    assert.ok(!JSON.stringify({ implementations: list }).includes('null'));
  });
});
