import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import {
  HarvesterApiError,
  HarvesterClient,
  HarvesterConnectionError,
  JobsWaitTimeoutError,
  TenantOperationError,
  jobState,
  type JobInfo,
} from '../../src/index.ts';
import { startStub, type Stub } from '../helpers/client-stub.ts';

let stub: Stub;
let client: HarvesterClient;

before(async () => {
  stub = await startStub();
});
after(async () => {
  await stub.close();
});
afterEach(async () => {
  stub.requests.length = 0;
  await client?.close();
});

function newClient(extra: Partial<ConstructorParameters<typeof HarvesterClient>[0]> = {}) {
  client = new HarvesterClient({ baseUrl: stub.url + '/', tenant: 'diku', ...extra });
  return client;
}

describe('HarvesterClient: requests', () => {
  it('sends the tenant, the token and the user agent on every request', async () => {
    stub.handle(() => ({ body: { implementations: [] } }));
    await newClient({ token: 'secret-token', userAgent: 'my-tool/1.0' }).getImplementations();
    const [req] = stub.requests;
    assert.equal(req.path, '/erm-usage-harvester/impl');
    assert.equal(req.headers['x-okapi-tenant'], 'diku');
    assert.equal(req.headers['x-okapi-token'], 'secret-token');
    assert.equal(req.headers['user-agent'], 'my-tool/1.0');
  });

  it('harvest again, restatements and diagnostics: method, path and query', async () => {
    stub.handle((req) =>
      req.path.endsWith('/again')
        ? { body: { message: 'Harvesting again scheduled', jobId: 'j-1' } }
        : req.path.endsWith('/diagnostics')
          ? { body: { providerId: 'p 1', months: 0, monthsWithDiagnostics: 0, codes: {}, records: [] } }
          : { body: { changes: [], totalRecords: 0 } },
    );
    newClient();
    const started = await client.harvestAgain('p 1', {
      from: '2024-01',
      to: '2024-03',
      reports: ['TR', 'DR'],
    });
    assert.equal(started.jobId, 'j-1');
    await client.listReportChanges({ providerId: 'p 1', limit: 5 });
    await client.listReportChanges({ counterReportId: 'r/1' });
    assert.equal((await client.getDiagnostics('p 1', { reportName: 'TR' })).providerId, 'p 1');
    assert.deepEqual(
      stub.requests.map((r) => `${r.method} ${r.url}`),
      [
        'POST /erm-usage-harvester/start/p%201/again?from=2024-01&to=2024-03&reports=TR%2CDR',
        'GET /erm-usage-harvester/counter-reports/changes?providerId=p+1&limit=5',
        'GET /erm-usage-harvester/counter-reports/r%2F1/changes',
        'GET /erm-usage-harvester/diagnostics?providerId=p+1&reportName=TR',
      ],
    );
  });

  it('sends no token header without a token', async () => {
    stub.handle(() => ({ body: 'OK' }));
    assert.equal(await newClient().health(), 'OK');
    assert.equal(stub.requests[0].path, '/admin/health');
    assert.equal(stub.requests[0].headers['x-okapi-token'], undefined);
  });

  it('encodes CQL as FOLIO clients do: spaces as +, reserved characters percent-encoded', async () => {
    stub.handle(() => ({ body: { jobInfos: [], totalRecords: 0 } }));
    await newClient().getJobs({
      query: 'providerId=="x" sortby timestamp/sort.descending',
      offset: 0,
      limit: 30,
      timestamp: 1641020400000,
    });
    const [req] = stub.requests;
    assert.equal(
      req.url,
      '/erm-usage-harvester/jobs?query=providerId%3D%3D%22x%22+sortby+timestamp%2Fsort.descending&offset=0&limit=30&timestamp=1641020400000',
    );
    assert.equal(req.query.get('query'), 'providerId=="x" sortby timestamp/sort.descending');
  });

  it('leaves out absent and empty parameters', async () => {
    stub.handle(() => ({ body: { jobInfos: [], totalRecords: 0 } }));
    await newClient().getJobs({ providerId: '', query: undefined });
    assert.equal(stub.requests[0].url, '/erm-usage-harvester/jobs');
  });

  it('passes aggregator=true/false to /impl', async () => {
    stub.handle(() => ({ body: { implementations: [] } }));
    newClient();
    await client.getImplementations({ aggregator: false });
    await client.getImplementations({ aggregator: true });
    assert.deepEqual(
      stub.requests.map((r) => r.url),
      ['/erm-usage-harvester/impl?aggregator=false', '/erm-usage-harvester/impl?aggregator=true'],
    );
  });

  it('percent-encodes ids in paths', async () => {
    stub.handle(() => ({ body: { message: 'Harvesting scheduled for tenant: diku, providerId: a/b c' } }));
    const res = await newClient().startProvider('a/b c');
    assert.equal(stub.requests[0].url, '/erm-usage-harvester/start/a%2Fb%20c');
    assert.match(res.message, /providerId: a\/b c/);
  });

  it('keeps the connection alive between requests', async () => {
    stub.handle(() => ({ body: 'OK' }));
    newClient();
    for (let i = 0; i < 10; i++) await client.health();
    const ports = new Set(stub.requests.map((r) => r.remotePort));
    // undici may open a second connection while the first is being released; never one per request.
    assert.ok(ports.size <= 2, `${ports.size} connections for 10 requests`);
  });

  it('uses an injected fetch', async () => {
    const seen: string[] = [];
    const c = new HarvesterClient({
      baseUrl: 'http://example.invalid',
      tenant: 't1',
      fetch: async (url, init) => {
        seen.push(`${init.method} ${url} ${init.headers['x-okapi-tenant']}`);
        return new Response(JSON.stringify({ message: 'Harvesting scheduled for tenant: t1' }), {
          status: 200,
        });
      },
    });
    assert.deepEqual(await c.startAll(), { message: 'Harvesting scheduled for tenant: t1' });
    assert.deepEqual(seen, ['GET http://example.invalid/erm-usage-harvester/start t1']);
  });
});

describe('HarvesterClient: bodies and 204', () => {
  it('POSTs purge and cleanup without a body and resolves on 204', async () => {
    stub.handle(() => ({ status: 204 }));
    newClient();
    assert.equal(await client.purgeStale(), undefined);
    assert.equal(await client.cleanup(), undefined);
    assert.equal(await client.purgeFinished({ timestamp: 1663150479004 }), undefined);
    assert.equal(await client.purgeFinished(), undefined);
    assert.deepEqual(
      stub.requests.map((r) => `${r.method} ${r.url}`),
      [
        'POST /erm-usage-harvester/jobs/purgestale',
        'POST /erm-usage-harvester/jobs/cleanup',
        'POST /erm-usage-harvester/jobs/purgefinished?timestamp=1663150479004',
        'POST /erm-usage-harvester/jobs/purgefinished',
      ],
    );
    for (const r of stub.requests) {
      assert.equal(r.body, '');
      assert.equal(r.headers['content-type'], undefined);
    }
  });

  it('periodic: 404 is "none", POST expects 201, DELETE tells whether something was deleted', async () => {
    newClient();
    stub.handle(() => ({ status: 404 }));
    assert.equal(await client.getPeriodic(), undefined);
    assert.equal(await client.deletePeriodic(), false);

    stub.handle((req) => (req.method === 'POST' ? { status: 201 } : { status: 204 }));
    await client.setPeriodic({ startAt: '2019-01-01T08:00:00.000+0000', periodicInterval: 'daily' });
    assert.equal(await client.deletePeriodic(), true);
    const post = stub.requests.find((r) => r.method === 'POST')!;
    assert.equal(post.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(post.body), {
      startAt: '2019-01-01T08:00:00.000+0000',
      periodicInterval: 'daily',
    });

    stub.handle(() => ({
      body: { id: '8bf5fe33-5ec8-420c-a86d-6320c55ba554', startAt: 'x', periodicInterval: 'weekly' },
    }));
    assert.equal((await client.getPeriodic())?.periodicInterval, 'weekly');
  });

  it('setPeriodic refuses a 200 (the UI needs exactly 201)', async () => {
    stub.handle(() => ({ status: 200, body: '' }));
    await assert.rejects(
      newClient().setPeriodic({ startAt: '2019-01-01T08:00:00Z', periodicInterval: 'daily' }),
      HarvesterApiError,
    );
  });

  it('creates, reads, updates and deletes store records', async () => {
    const udp = {
      label: 'Vendor',
      status: 'active' as const,
      harvestingConfig: { harvestingStatus: 'active' as const },
    };
    stub.handle((req) => {
      if (req.method === 'POST') return { status: 201, body: { ...JSON.parse(req.body), id: 'u1' } };
      if (req.method === 'GET') return { body: { id: 'u1', ...udp } };
      return { status: 204 };
    });
    newClient();
    const created = await client.createProvider(udp);
    assert.equal(created.id, 'u1');
    assert.equal((await client.getProvider('u1')).label, 'Vendor');
    await client.updateProvider('u1', { ...udp, label: 'Renamed' });
    await client.deleteProvider('u1');
    await client.deleteCounterReport('r1');
    await client.deleteAggregator('a1');
    assert.deepEqual(
      stub.requests.map((r) => `${r.method} ${r.path}`),
      [
        'POST /usage-data-providers',
        'GET /usage-data-providers/u1',
        'PUT /usage-data-providers/u1',
        'DELETE /usage-data-providers/u1',
        'DELETE /counter-reports/r1',
        'DELETE /aggregator-settings/a1',
      ],
    );
    assert.equal(JSON.parse(stub.requests[2].body).label, 'Renamed');
  });

  it('lists counter reports with tiny=true', async () => {
    stub.handle(() => ({ body: { counterReports: [], totalRecords: 0 } }));
    await newClient().listCounterReports({ query: 'providerId=="p"', tiny: true, limit: 1 });
    assert.equal(stub.requests[0].url, '/counter-reports?query=providerId%3D%3D%22p%22&tiny=true&limit=1');
  });
});

describe('HarvesterClient: paging', () => {
  const jobs: JobInfo[] = Array.from({ length: 25 }, (_, i) => ({
    id: `job-${i}`,
    type: 'provider',
    timestamp: 1000 + i,
  }));
  const pageHandler = (req: { query: URLSearchParams }) => {
    const offset = Number(req.query.get('offset') ?? 0);
    const limit = Number(req.query.get('limit') ?? 10);
    return { body: { jobInfos: jobs.slice(offset, offset + limit), totalRecords: jobs.length } };
  };

  it('iterates all pages with one timestamp, so paging is stable', async () => {
    stub.handle(pageHandler);
    const seen: JobInfo[] = [];
    for await (const job of newClient().iterateJobs({ limit: 10, query: 'type==provider' })) seen.push(job);
    assert.deepEqual(
      seen.map((j) => j.id),
      jobs.map((j) => j.id),
    );
    assert.deepEqual(
      stub.requests.map((r) => [r.query.get('offset'), r.query.get('limit')]),
      [
        ['0', '10'],
        ['10', '10'],
        ['20', '10'],
      ],
    );
    const stamps = new Set(stub.requests.map((r) => r.query.get('timestamp')));
    assert.equal(stamps.size, 1);
    assert.ok(Number([...stamps][0]) > 0);
    assert.ok(stub.requests.every((r) => r.query.get('query') === 'type==provider'));
  });

  it('iterateJobs with timestamp null sends no timestamp', async () => {
    stub.handle(pageHandler);
    let n = 0;
    for await (const _ of newClient().iterateJobs({ timestamp: null })) n++;
    assert.equal(n, 25);
    assert.equal(stub.requests.length, 1);
    assert.equal(stub.requests[0].query.get('timestamp'), null);
  });

  it('iterates providers until totalRecords', async () => {
    stub.handle((req) => {
      const offset = Number(req.query.get('offset'));
      const all = Array.from({ length: 4 }, (_, i) => ({ id: `p${i}`, label: `P${i}` }));
      return { body: { usageDataProviders: all.slice(offset, offset + 2), totalRecords: 4 } };
    });
    const labels: string[] = [];
    for await (const p of newClient().iterateProviders({ limit: 2 })) labels.push(p.label);
    assert.deepEqual(labels, ['P0', 'P1', 'P2', 'P3']);
    assert.equal(stub.requests.length, 2);
  });
});

describe('HarvesterClient: errors', () => {
  it('uses the text of a text/plain error as the message', async () => {
    stub.handle(() => ({ status: 500, body: "Harvesting for tenant 'diku' is already in progress" }));
    const err = await newClient()
      .startAll()
      .catch((e: unknown) => e);
    assert.ok(err instanceof HarvesterApiError);
    assert.equal(err.status, 500);
    assert.equal(err.message, "Harvesting for tenant 'diku' is already in progress");
    assert.equal(err.body, "Harvesting for tenant 'diku' is already in progress");
  });

  it('uses errors[0].message of an RMB 422', async () => {
    const body = {
      errors: [
        {
          message: 'must not be null',
          type: '1',
          code: 'javax.validation.constraints.NotNull.message',
          parameters: [{ key: 'startAt', value: 'null' }],
        },
      ],
      total_records: 1,
    };
    stub.handle(() => ({ status: 422, body }));
    const err = await newClient()
      .setPeriodic({ periodicInterval: 'daily' } as never)
      .catch((e: unknown) => e);
    assert.ok(err instanceof HarvesterApiError);
    assert.equal(err.status, 422);
    assert.equal(err.message, 'must not be null');
    assert.equal(err.errors?.errors[0].parameters?.[0].key, 'startAt');
    assert.deepEqual(JSON.parse(err.body), body);
  });

  it('falls back to the status line for an empty error body', async () => {
    stub.handle(() => ({ status: 500 }));
    const err = await newClient()
      .getPeriodic()
      .catch((e: unknown) => e);
    assert.ok(err instanceof HarvesterApiError);
    assert.equal(err.message, 'HTTP 500 Internal Server Error');
  });

  it('maps 404 on an item to an error with the server text', async () => {
    stub.handle(() => ({ status: 404, body: 'Not found' }));
    await assert.rejects(newClient().getProvider('00000000-0000-4000-8000-000000000000'), {
      name: 'HarvesterApiError',
      status: 404,
      message: 'Not found',
    });
  });

  it('reports an unreachable service as a connection error', async () => {
    const s = await startStub();
    const url = s.url;
    await s.close();
    const c = new HarvesterClient({ baseUrl: url, tenant: 'diku' });
    const err = await c.health().catch((e: unknown) => e);
    await c.close();
    assert.ok(err instanceof HarvesterConnectionError);
    assert.equal(err.code, 'ECONNREFUSED');
    assert.equal(err.baseUrl, url);
    assert.match(err.message, /cannot reach the service at .*connection refused/);
  });
});

describe('HarvesterClient: tenant API', () => {
  it('enables a tenant: POST, poll until complete, then forget the operation', async () => {
    let polls = 0;
    stub.handle((req) => {
      if (req.method === 'POST')
        return {
          status: 201,
          headers: { location: '/_/tenant/op-1' },
          body: { id: 'op-1', tenant: 'diku', tenantAttributes: JSON.parse(req.body), complete: false },
        };
      if (req.method === 'GET') {
        polls++;
        return { body: { id: 'op-1', tenant: 'diku', tenantAttributes: {}, complete: polls >= 2 } };
      }
      return { status: 204 };
    });
    await newClient().enableTenant('mod-x-1.0.0');
    assert.deepEqual(JSON.parse(stub.requests[0].body), { module_to: 'mod-x-1.0.0' });
    assert.deepEqual(
      stub.requests.map((r) => `${r.method} ${r.path}`),
      ['POST /_/tenant', 'GET /_/tenant/op-1', 'GET /_/tenant/op-1', 'DELETE /_/tenant/op-1'],
    );
    assert.ok(Number(stub.requests[1].query.get('wait')) > 0);
  });

  it('accepts a synchronous 204', async () => {
    stub.handle(() => ({ status: 204 }));
    await newClient().enableTenant();
    assert.equal(stub.requests.length, 1);
    assert.ok(JSON.parse(stub.requests[0].body).module_to);
  });

  it('throws the operation error', async () => {
    stub.handle((req) =>
      req.method === 'POST'
        ? { status: 201, body: { id: 'op-2', tenant: 'diku', tenantAttributes: {}, complete: false } }
        : req.method === 'GET'
          ? { body: { id: 'op-2', tenant: 'diku', tenantAttributes: {}, complete: true, error: 'disk full' } }
          : { status: 204 },
    );
    await assert.rejects(newClient().enableTenant(), (err: unknown) => {
      assert.ok(err instanceof TenantOperationError);
      assert.match(err.message, /enabling tenant diku failed: disk full/);
      return true;
    });
  });

  it('purges a tenant', async () => {
    stub.handle(() => ({ status: 204 }));
    await newClient().purgeTenant();
    assert.equal(JSON.parse(stub.requests[0].body).purge, true);
  });

  it('surfaces a 400 on an invalid tenant id', async () => {
    stub.handle(() => ({ status: 400, body: 'Invalid tenant id "bad id"' }));
    await assert.rejects(newClient({ tenant: 'bad id' }).enableTenant(), {
      status: 400,
      message: 'Invalid tenant id "bad id"',
    });
  });
});

describe('HarvesterClient: waitForJobs', () => {
  it('waits for jobs by id until they are finished', async () => {
    let polls = 0;
    stub.handle((req) => {
      polls++;
      const done = polls >= 3;
      const q = req.query.get('query') ?? '';
      assert.equal(q, 'id=="a" or id=="b"');
      return {
        body: {
          jobInfos: [
            {
              id: 'b',
              type: 'provider',
              timestamp: 2,
              ...(done ? { finishedAt: 'x', result: 'success' } : {}),
            },
            {
              id: 'a',
              type: 'provider',
              timestamp: 1,
              finishedAt: 'x',
              result: 'failure',
              errorMessage: 'E',
            },
          ],
          totalRecords: 2,
        },
      };
    });
    const progress: string[][] = [];
    const jobs = await newClient().waitForJobs(['a', 'b'], {
      pollMs: 10,
      onProgress: (js) => progress.push(js.map(jobState)),
    });
    assert.deepEqual(
      jobs.map((j) => j.id),
      ['a', 'b'],
    );
    assert.equal(polls, 3);
    assert.deepEqual(progress[0], ['finished', 'running']);
    assert.deepEqual(progress.at(-1), ['finished', 'finished']);
  });

  it('with a predicate, confirms the finished set with a second poll', async () => {
    let polls = 0;
    stub.handle(() => {
      polls++;
      const jobInfos: JobInfo[] = [{ id: 't', type: 'tenant', timestamp: 1, finishedAt: 'x' }];
      if (polls >= 2) jobInfos.push({ id: 'p', type: 'provider', timestamp: 2, finishedAt: 'x' });
      return { body: { jobInfos, totalRecords: jobInfos.length } };
    });
    const jobs = await newClient().waitForJobs((j) => j.type !== 'periodic', { pollMs: 10 });
    assert.deepEqual(
      jobs.map((j) => j.id),
      ['t', 'p'],
    );
    assert.equal(polls, 3);
  });

  it('times out with the jobs as last seen', async () => {
    stub.handle(() => ({ body: { jobInfos: [{ id: 'a', nextStart: 'x' }], totalRecords: 1 } }));
    const err = await newClient()
      .waitForJobs(['a'], { pollMs: 20, timeoutMs: 50 })
      .catch((e: unknown) => e);
    assert.ok(err instanceof JobsWaitTimeoutError);
    assert.equal(err.jobs[0].id, 'a');
    assert.match(err.message, /1 of 1 job\(s\) still unfinished/);
  });
});

describe('jobState', () => {
  it('derives the UI state (folio-contract §6.3)', () => {
    assert.equal(jobState({ nextStart: 'x' }), 'scheduled');
    assert.equal(jobState({ startedAt: 'x' }), 'running');
    assert.equal(jobState({}), 'running');
    assert.equal(jobState({ nextStart: 'x', finishedAt: 'y' }), 'finished');
  });
});
