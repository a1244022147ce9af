/**
 * The FOLIO adapter of the ErmStore port (folio-contract §7.12, §6.9) against a real mod-erm-usage stand-in:
 * this service in standalone mode, reached through a small recording "Okapi" front that proxies the store
 * paths and stubs /settings/entries and /authn/login-with-expiry.
 */
import { strict as assert } from 'node:assert';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { Agent } from 'undici';
import { ManualClock } from '../../src/clock.ts';
import { secrets } from '../../src/log.ts';
import { OkapiErmStore, type OkapiErmStoreOptions } from '../../src/erm/okapi-store.ts';
import type { CounterReport, UsageDataProvider } from '../../src/model/records.ts';
import { ErmError } from '../../src/erm/port.ts';
import { parseIntSetting } from '../../src/tenant-settings.ts';
import type { RunningService } from '../../src/server.ts';
import { call, startOn } from '../helpers/service.ts';

const TENANT = 'diku';
const SETTINGS_QUERY = '(scope=="mod-erm-usage-harvester.manage" AND key=="max_failed_attempts")';

interface Recorded {
  method: string;
  url: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: string;
}

interface Reply {
  status: number;
  body?: string;
  headers?: Record<string, string | string[]>;
}

/** The stand-in mod-erm-usage's service token (needed to read credentials in clear, as FOLIO's module answers them). */
const STAND_IN_TOKEN = 'stand-in-mod-erm-usage-token';
const STAND_IN_AUTH = { 'x-okapi-token': STAND_IN_TOKEN };

/** The fake Okapi: records every request, answers stubs and overrides, proxies the rest to the store. */
class Front {
  readonly requests: Recorded[] = [];
  /** Targets of CONNECT requests: the front also acts as an HTTP proxy, tunnelling to itself. */
  readonly connects: string[] = [];
  /** Answers for /settings/entries. */
  settings: (query: string | null) => Reply = () => ({ status: 200, body: '{"items":[]}' });
  /** Answers for /authn/login-with-expiry. */
  login: (body: unknown) => Reply = () => ({ status: 500 });
  /** When set, consulted first for every request; undefined = go on as usual. */
  override: ((r: Recorded) => Reply | undefined) | undefined;
  /** When set, every proxied or settings request must carry one of these tokens, else 401. */
  validTokens: Set<string> | undefined;
  url = '';
  private server: Server | undefined;

  constructor(private readonly target: () => string) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://front');
        const rec: Recorded = {
          method: req.method ?? '',
          url: req.url ?? '',
          path: url.pathname,
          query: url.searchParams,
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        };
        this.requests.push(rec);
        this.answer(rec).then(
          (reply) => {
            res.writeHead(reply.status, reply.headers ?? {});
            res.end(reply.body ?? '');
          },
          (err: Error) => {
            res.writeHead(502);
            res.end(err.message);
          },
        );
      });
    });
    this.server.on('connect', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.connects.push(req.url ?? '');
      const self = this.server!.address() as AddressInfo;
      const upstream = connect(self.port, '127.0.0.1', () => {
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(socket);
        socket.pipe(upstream);
      });
      upstream.on('error', () => socket.destroy());
      socket.on('error', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  reset(): void {
    this.requests.length = 0;
    this.connects.length = 0;
    this.override = undefined;
    this.validTokens = undefined;
    this.settings = () => ({ status: 200, body: '{"items":[]}' });
    this.login = () => ({ status: 500 });
  }

  private async answer(rec: Recorded): Promise<Reply> {
    const forced = this.override?.(rec);
    if (forced) return forced;
    if (rec.path === '/authn/login-with-expiry') return this.login(JSON.parse(rec.body));
    const token = rec.headers['x-okapi-token'];
    if (this.validTokens && !(typeof token === 'string' && this.validTokens.has(token)))
      return { status: 401, body: 'Invalid token' };
    if (rec.path === '/settings/entries') return this.settings(rec.query.get('query'));
    return this.proxy(rec);
  }

  private async proxy(rec: Recorded): Promise<Reply> {
    const headers: Record<string, string> = {
      'x-okapi-tenant': String(rec.headers['x-okapi-tenant']),
      'x-okapi-token': STAND_IN_TOKEN,
    };
    if (rec.headers['content-type']) headers['content-type'] = String(rec.headers['content-type']);
    // mod-erm-usage answers credentials in clear; the stand-in does so when asked with its token.
    const reveal =
      rec.method === 'GET' && /^\/(usage-data-providers|aggregator-settings)(\/|$)/.test(rec.path)
        ? `${rec.url.includes('?') ? '&' : '?'}reveal=true`
        : '';
    const res = await fetch(this.target() + rec.url + reveal, {
      method: rec.method,
      headers,
      body: rec.body === '' ? undefined : rec.body,
    });
    const body = await res.text();
    const contentType = res.headers.get('content-type');
    return { status: res.status, body, headers: contentType ? { 'content-type': contentType } : {} };
  }
}

function loginOk(token: string, extra: { maxAge?: number; expiration?: string } = {}): Reply {
  const cookies = [
    `folioRefreshToken=refresh-${token}; Max-Age=604800; Path=/authn; Secure; HttpOnly; SameSite=None`,
    `folioAccessToken=${token}; Max-Age=${extra.maxAge ?? 600}; Path=/; Secure; HttpOnly; SameSite=None`,
  ];
  const body = JSON.stringify({
    accessTokenExpiration: extra.expiration ?? new Date(Date.now() + 600_000).toISOString(),
    refreshTokenExpiration: new Date(Date.now() + 604_800_000).toISOString(),
  });
  return { status: 201, body, headers: { 'content-type': 'application/json', 'set-cookie': cookies } };
}

const PROXY_VARS = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'NO_PROXY', 'no_proxy'];

/** Runs `fn` with exactly these proxy variables set (undici reads them at construction and per request). */
async function withProxyEnv<T>(
  vars: { HTTP_PROXY?: string; NO_PROXY?: string },
  fn: () => Promise<T>,
): Promise<T> {
  const saved = Object.fromEntries(PROXY_VARS.map((k) => [k, process.env[k]]));
  for (const k of PROXY_VARS) delete process.env[k];
  if (vars.HTTP_PROXY !== undefined) process.env.HTTP_PROXY = vars.HTTP_PROXY;
  if (vars.NO_PROXY !== undefined) process.env.NO_PROXY = vars.NO_PROXY;
  try {
    return await fn();
  } finally {
    for (const k of PROXY_VARS) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  }
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  assert.fail('expected a rejection');
}

function provider(label: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    label,
    status: 'active',
    harvestingConfig: {
      harvestingStatus: 'active',
      harvestVia: 'sushi',
      sushiConfig: { serviceType: 'cs51', serviceUrl: 'https://sushi.example.org/r51' },
      reportRelease: '5.1',
      requestedReports: ['TR'],
      harvestingStart: '2024-01',
    },
    ...extra,
  };
}

describe('OkapiErmStore', () => {
  let svc: RunningService;
  let front: Front;
  let agent: Agent;
  const stores: OkapiErmStore[] = [];

  function okapi(opts: Partial<OkapiErmStoreOptions> = {}): OkapiErmStore {
    const store = new OkapiErmStore({ okapiUrl: front.url, dispatcher: agent, ...opts });
    stores.push(store);
    return store;
  }

  async function createProvider(body: Record<string, unknown>): Promise<UsageDataProvider> {
    const res = await call(svc, 'POST', '/usage-data-providers', { body, headers: STAND_IN_AUTH });
    assert.equal(res.status, 201, res.text);
    return res.json;
  }

  before(async () => {
    svc = await startOn('pglite', undefined, { config: { runWorkers: false, token: STAND_IN_TOKEN } });
    front = new Front(() => svc.url);
    await front.start();
    agent = new Agent({ keepAliveTimeout: 1000 });
  });
  after(async () => {
    for (const s of stores) await s.close();
    await agent.close();
    await front.stop();
    await svc.close();
  });
  beforeEach(() => front.reset());

  describe('usage data providers', () => {
    it('getProvider returns the record the store holds and registers its credentials', async () => {
      const created = await createProvider(
        provider('Get me', {
          sushiCredentials: { customerId: 'c-1', requestorId: 'req-secret-1', apiKey: 'key-secret-1' },
        }),
      );
      const got = await okapi().getProvider(TENANT, created.id);
      assert.deepEqual(got, await svc.store.getProvider(TENANT, created.id));
      assert.equal(got.label, 'Get me');
      assert.ok([...secrets].includes('key-secret-1'));
      assert.ok([...secrets].includes('req-secret-1'));
      assert.equal(front.requests.length, 1);
      assert.equal(front.requests[0].method, 'GET');
      assert.equal(front.requests[0].path, `/usage-data-providers/${created.id}`);
    });

    it('getProvider of an unknown id → ErmError 404 `Received status code 404, Not Found`', async () => {
      const err = await rejection(okapi().getProvider(TENANT, '11111111-1111-4111-8111-111111111111'));
      assert.ok(err instanceof ErmError);
      assert.equal(err.status, 404);
      assert.equal(err.reason, 'Not Found');
      assert.equal(err.message, 'Received status code 404, Not Found');
    });

    it('putProvider replaces the record (the harvestingDate update)', async () => {
      const created = await createProvider(provider('Put me'));
      const store = okapi();
      const read = await store.getProvider(TENANT, created.id);
      await store.putProvider(TENANT, { ...read, harvestingDate: '2024-02-01T10:00:00.000+00:00' });
      const after = await svc.store.getProvider(TENANT, created.id);
      assert.equal(after.harvestingDate, '2024-02-01T10:00:00.000+00:00');
      const put = front.requests[1];
      assert.equal(put.method, 'PUT');
      assert.equal(put.path, `/usage-data-providers/${created.id}`);
      assert.match(String(put.headers['content-type']), /^application\/json/);
      assert.equal(JSON.parse(put.body).harvestingDate, '2024-02-01T10:00:00.000+00:00');
    });

    it('findProviders pages with offset and limit; the query is URL-encoded and arrives intact', async () => {
      const label = `Paged ${Date.now()}`;
      for (let i = 0; i < 5; i++) await createProvider(provider(`${label} ${i}`));
      const cql = `label="${label}*" sortby id`;
      const store = okapi();
      const seen: UsageDataProvider[] = [];
      let total = -1;
      for (let offset = 0; total < 0 || offset < total; offset += 2) {
        const p = await store.findProviders(TENANT, cql, offset, 2);
        total = p.totalRecords;
        assert.ok(p.records.length <= 2);
        seen.push(...p.records);
      }
      assert.equal(total, 5);
      const local = await svc.store.findProviders(TENANT, cql, 0, 1000);
      assert.deepEqual(seen, local.records);
      assert.equal(front.requests.length, 3);
      assert.deepEqual(
        front.requests.map((r) => [r.query.get('query'), r.query.get('offset'), r.query.get('limit')]),
        [
          [cql, '0', '2'],
          [cql, '2', '2'],
          [cql, '4', '2'],
        ],
      );
      assert.doesNotMatch(front.requests[0].url, /[ "]/, 'spaces and quotes are percent-encoded');
    });

    it('findProviders with the tenant job query reads active providers only', async () => {
      await createProvider(
        provider('Inactive harvest', {
          harvestingConfig: { harvestingStatus: 'inactive' },
        }),
      );
      const p = await okapi().findProviders(
        TENANT,
        'harvestingConfig.harvestingStatus=="active" sortby id',
        0,
        1000,
      );
      assert.ok(p.records.length > 0);
      assert.ok(p.records.every((r) => r.harvestingConfig?.harvestingStatus === 'active'));
      assert.equal(p.totalRecords, p.records.length);
    });
  });

  describe('aggregator settings', () => {
    it('getAggregator returns the stored setting and registers its credentials', async () => {
      const res = await call(svc, 'POST', '/aggregator-settings', {
        headers: STAND_IN_AUTH,
        body: {
          label: 'NSS test',
          serviceType: 'NSS',
          serviceUrl: 'https://nss.example.org/GetReport',
          aggregatorConfig: { apiKey: 'agg-key-secret', requestorId: 'agg-req-secret', customerId: 'c' },
          accountConfig: { configType: 'Manual' },
        },
      });
      assert.equal(res.status, 201, res.text);
      const got = await okapi().getAggregator(TENANT, res.json.id);
      const held = await call(svc, 'GET', `/aggregator-settings/${res.json.id}?reveal=true`, {
        headers: STAND_IN_AUTH,
      });
      assert.deepEqual(got, held.json);
      assert.ok([...secrets].includes('agg-key-secret'));
      const err = await rejection(okapi().getAggregator(TENANT, '22222222-2222-4222-8222-222222222222'));
      assert.equal(err.message, 'Received status code 404, Not Found');
    });
  });

  describe('counter reports', () => {
    it('postCounterReportStream / putCounterReportStream send the report as one streamed JSON body', async () => {
      const udp = await createProvider(provider('Streamed'));
      const store = okapi();
      const record: CounterReport = {
        yearMonth: '2024-06',
        reportName: 'TR',
        release: '5.1',
        providerId: udp.id,
        downloadTime: '2024-07-01T10:00:00.000+00:00',
      };
      const header = { Report_ID: 'TR', Release: '5.1' };
      const items = Array.from({ length: 3000 }, (_, i) => ({ Title: `T${i} "é"`, n: i }));
      const texts = async function* () {
        for (const item of items) yield JSON.stringify(item);
      };
      const id = await store.postCounterReportStream(TENANT, record, { header, items: texts });
      const post = front.requests.at(-1)!;
      assert.equal(post.method, 'POST');
      assert.deepEqual(JSON.parse(post.body), {
        ...record,
        id,
        report: { Report_Header: header, Report_Items: items },
      });
      const stored = await svc.store.read(TENANT, 'counter-reports', id);
      assert.deepEqual(stored.report, { Report_Header: header, Report_Items: items });

      await store.putCounterReportStream(
        TENANT,
        id,
        { ...record, id },
        { header, items: async function* () {} },
      );
      assert.equal(front.requests.at(-1)!.method, 'PUT');
      const replaced = await svc.store.read(TENANT, 'counter-reports', id);
      assert.deepEqual(replaced.report, { Report_Header: header, Report_Items: [] });

      // Items given comma-joined in chunks as well (a split month): the chunks are sent.
      // Pieces of UTF-8 bytes that the producer uses again once the next is asked for (as the
      // splitter's are): each is sent as it was when given.
      const chunks = async function* (): AsyncGenerator<Buffer> {
        const shared = Buffer.alloc(4 * 1024 * 1024);
        for (const part of [items.slice(0, 1000), [], items.slice(1000)]) {
          const size = shared.write(part.map((item) => JSON.stringify(item)).join(','));
          yield shared.subarray(0, size);
          shared.fill(0x20);
        }
      };
      const unused = async function* (): AsyncGenerator<string> {
        yield* [];
        throw new Error('items() is not read when itemChunks() is given');
      };
      await store.putCounterReportStream(
        TENANT,
        id,
        { ...record, id },
        { header, items: unused, itemChunks: chunks },
      );
      const chunked = await svc.store.read(TENANT, 'counter-reports', id);
      assert.deepEqual(chunked.report, { Report_Header: header, Report_Items: items });
    });

    it('postCounterReport / putCounterReport round trip; records equal what the store holds', async () => {
      const udp = await createProvider(provider('Reports'));
      const store = okapi();
      const report: CounterReport = {
        yearMonth: '2024-03',
        reportName: 'TR',
        release: '5.1',
        providerId: udp.id,
        downloadTime: '2024-04-01T10:00:00.000+00:00',
        failedAttempts: 1,
        failedReason: 'Report not valid: Exception{Number=3031, Severity=ERROR, Message=Not yet}',
      };
      const id = await store.postCounterReport(TENANT, report);
      const post = front.requests.at(-1)!;
      assert.equal(post.method, 'POST');
      assert.equal(post.path, '/counter-reports');
      assert.equal(JSON.parse(post.body).id, id);

      const cql = `providerId=="${udp.id}" AND release=="5.1" AND reportName=="TR" AND yearMonth=="2024-03"`;
      let found = await store.findCounterReports(TENANT, cql, 0, 1, true);
      assert.equal(found.totalRecords, 1);
      assert.equal(found.records[0].id, id);
      assert.deepEqual(found.records, (await svc.store.findCounterReports(TENANT, cql, 0, 1, true)).records);

      const success: CounterReport = {
        id,
        yearMonth: '2024-03',
        reportName: 'TR',
        release: '5.1',
        providerId: udp.id,
        downloadTime: '2024-05-01T10:00:00.000+00:00',
        report: { Report_Header: { Report_ID: 'TR' }, Report_Items: [] },
      };
      await store.putCounterReport(TENANT, id, success);
      const put = front.requests.at(-1)!;
      assert.equal(put.method, 'PUT');
      assert.equal(put.path, `/counter-reports/${id}`);

      found = await store.findCounterReports(TENANT, cql, 0, 10, false);
      const local = await svc.store.findCounterReports(TENANT, cql, 0, 10, false);
      assert.deepEqual(found, local);
      assert.deepEqual(found.records[0].report, success.report);
      assert.equal(found.records[0].failedAttempts, undefined);

      const tiny = await store.findCounterReports(TENANT, cql, 0, 10, true);
      assert.equal(tiny.records[0].report, undefined);
      const last = front.requests.at(-1)!;
      assert.equal(last.query.get('tiny'), 'true');
      assert.equal(last.query.get('query'), cql);
      assert.equal(last.query.get('limit'), '10');
      assert.equal(last.query.get('offset'), '0');
    });

    it('a POST with its own id keeps it', async () => {
      const udp = await createProvider(provider('Own id'));
      const id = '33333333-3333-4333-8333-333333333333';
      const got = await okapi().postCounterReport(TENANT, {
        id,
        yearMonth: '2024-01',
        reportName: 'TR',
        release: '5.1',
        providerId: udp.id,
        downloadTime: '2024-02-01T10:00:00.000+00:00',
        report: {},
      });
      assert.equal(got, id);
      const again = await rejection(
        okapi().postCounterReport(TENANT, {
          id,
          yearMonth: '2024-02',
          reportName: 'TR',
          release: '5.1',
          providerId: udp.id,
          downloadTime: '2024-02-01T10:00:00.000+00:00',
        }),
      );
      assert.equal(again.message, 'Received status code 422, Unprocessable Entity');
    });
  });

  describe('settings (mod-settings)', () => {
    it('reads the first item’s value, with one request and the exact query', async () => {
      const store = okapi();
      const values: unknown[] = [5, '7', -3, 'abc', { a: 1 }];
      for (const value of values) {
        front.requests.length = 0;
        front.settings = (query) => ({
          status: 200,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            items: [
              {
                id: 'a1',
                scope: 'mod-erm-usage-harvester.manage',
                key: query?.match(/key=="([^"]*)"/)?.[1],
                value,
              },
              { id: 'a2', scope: 'mod-erm-usage-harvester.manage', key: 'other', value: 99 },
            ],
            resultInfo: { totalRecords: 2 },
          }),
        });
        assert.deepEqual(await store.getSetting(TENANT, 'max_failed_attempts'), value);
        assert.equal(front.requests.length, 1);
        const req = front.requests[0];
        assert.equal(req.method, 'GET');
        assert.equal(req.path, '/settings/entries');
        assert.equal(req.query.get('query'), SETTINGS_QUERY);
        assert.doesNotMatch(req.url, /[ "()]/);
      }
      // The caller parses with folio-contract §6.9's rules.
      assert.equal(parseIntSetting(5), 5);
      assert.equal(parseIntSetting('7'), 7);
      assert.equal(parseIntSetting('abc'), undefined);
    });

    it('no item, or a null value → undefined', async () => {
      const store = okapi();
      front.settings = () => ({ status: 200, body: '{"items":[],"resultInfo":{"totalRecords":0}}' });
      assert.equal(await store.getSetting(TENANT, 'days_to_keep_logs'), undefined);
      assert.equal(front.requests[0].query.get('query')?.includes('key=="days_to_keep_logs"'), true);
      front.settings = () => ({
        status: 200,
        body: '{"items":[{"id":"x","scope":"mod-erm-usage-harvester.manage","key":"days_to_keep_logs","value":null}]}',
      });
      assert.equal(await store.getSetting(TENANT, 'days_to_keep_logs'), undefined);
      assert.equal(front.requests.length, 2);
    });

    it('failures throw: 500, 404 (mod-settings absent), empty body, invalid JSON, no items', async () => {
      const store = okapi();
      const cases: [Reply, RegExp][] = [
        [{ status: 500, body: 'boom' }, /^Received status code 500, Internal Server Error$/],
        [{ status: 404, body: 'No suitable module found' }, /^Received status code 404, Not Found$/],
        [{ status: 200, body: '' }, /^Response body is null$/],
        [{ status: 200, body: 'null' }, /^Response body is null$/],
        [{ status: 200, body: '{"items":' }, /^Invalid JSON in the response to GET \/settings\/entries: /],
        [{ status: 200, body: '{"entries":[]}' }, /"items"/],
      ];
      for (const [reply, message] of cases) {
        front.requests.length = 0;
        front.settings = () => reply;
        const err = await rejection(store.getSetting(TENANT, 'max_failed_attempts'));
        assert.match(err.message, message);
        assert.equal(front.requests.length, 1, 'exactly one request, no retry');
      }
    });
  });

  describe('headers and tokens', () => {
    it('every request carries X-Okapi-Tenant, X-Okapi-Url and Accept; no token unless configured', async () => {
      const udp = await createProvider(provider('Headers'));
      const store = okapi();
      await store.getProvider('diku', udp.id);
      await store.findProviders('diku', 'cql.allRecords=1', 0, 1);
      await store.getSetting('diku', 'max_failed_attempts');
      await rejection(store.getProvider('other_tenant', udp.id));
      assert.equal(front.requests.length, 4);
      for (const r of front.requests) {
        assert.equal(r.headers['x-okapi-url'], front.url);
        assert.equal(r.headers.accept, 'application/json, text/plain');
        assert.equal(r.headers['x-okapi-token'], undefined);
        assert.equal(r.headers['content-type'], undefined, 'no Content-Type without a body');
      }
      assert.deepEqual(
        front.requests.map((r) => r.headers['x-okapi-tenant']),
        ['diku', 'diku', 'diku', 'other_tenant'],
      );
    });

    it('a configured token is sent on every request and never appears in errors', async () => {
      const token = 'configured.jwt.token-value';
      front.validTokens = new Set([token]);
      const udp = await createProvider(provider('Token'));
      const store = okapi({ token });
      await store.getProvider(TENANT, udp.id);
      await store.putProvider(TENANT, await store.getProvider(TENANT, udp.id));
      await store.getSetting(TENANT, 'max_failed_attempts');
      for (const r of front.requests) assert.equal(r.headers['x-okapi-token'], token);
      front.validTokens = new Set(['another']);
      const err = await rejection(store.getProvider(TENANT, udp.id));
      assert.equal(err.message, 'Received status code 401, Unauthorized');
      assert.equal(front.requests.filter((r) => r.path === '/authn/login-with-expiry').length, 0);
      assert.ok(!JSON.stringify({ m: err.message, s: err.stack }).includes(token));
    });

    it('a system user logs in once per tenant; the token comes from the folioAccessToken cookie', async () => {
      const logins: unknown[] = [];
      front.login = (body) => {
        logins.push(body);
        return loginOk('sys-token-1');
      };
      front.validTokens = new Set(['sys-token-1']);
      const udp = await createProvider(provider('System user'));
      const store = okapi({ systemUser: { username: 'harvester-system', password: 'pw-secret-123' } });
      await Promise.all([store.getProvider(TENANT, udp.id), store.getSetting(TENANT, 'max_failed_attempts')]);
      await store.getProvider(TENANT, udp.id);
      assert.deepEqual(logins, [{ username: 'harvester-system', password: 'pw-secret-123' }]);
      const login = front.requests.find((r) => r.path === '/authn/login-with-expiry')!;
      assert.equal(login.method, 'POST');
      assert.equal(login.headers['x-okapi-tenant'], TENANT);
      assert.equal(login.headers['x-okapi-token'], undefined);
      assert.match(String(login.headers['content-type']), /^application\/json/);
      const others = front.requests.filter((r) => r.path !== '/authn/login-with-expiry');
      assert.equal(others.length, 3);
      for (const r of others) assert.equal(r.headers['x-okapi-token'], 'sys-token-1');
      assert.ok([...secrets].includes('sys-token-1'), 'the token is scrubbed from logs');
    });

    it('a 401 makes the system user log in again and the request is repeated once', async () => {
      let n = 0;
      front.login = () => loginOk(`sys-token-${++n}`);
      front.validTokens = new Set(['sys-token-1']);
      const udp = await createProvider(provider('Relogin'));
      const store = okapi({ systemUser: { username: 'u', password: 'pw-secret-456' } });
      await store.getProvider(TENANT, udp.id);
      front.validTokens = new Set(['sys-token-2']);
      front.requests.length = 0;
      const got = await store.getProvider(TENANT, udp.id);
      assert.equal(got.id, udp.id);
      assert.deepEqual(
        front.requests.map((r) => [r.path, r.headers['x-okapi-token']]),
        [
          [`/usage-data-providers/${udp.id}`, 'sys-token-1'],
          ['/authn/login-with-expiry', undefined],
          [`/usage-data-providers/${udp.id}`, 'sys-token-2'],
        ],
      );
      // Still refused after the new login: the 401 is the answer, no loop.
      front.validTokens = new Set(['nobody']);
      front.requests.length = 0;
      const err = await rejection(store.getProvider(TENANT, udp.id));
      assert.equal(err.message, 'Received status code 401, Unauthorized');
      assert.equal(front.requests.length, 3);
    });

    it('an expired system-user token is renewed before use', async () => {
      const clock = new ManualClock(Date.parse('2030-01-01T00:00:00Z'));
      let n = 0;
      front.login = () =>
        loginOk(`exp-token-${++n}`, { expiration: new Date(clock.now() + 600_000).toISOString() });
      front.validTokens = new Set(['exp-token-1', 'exp-token-2']);
      const store = okapi({ systemUser: { username: 'u', password: 'pw-secret-789' }, clock });
      await store.getSetting(TENANT, 'max_failed_attempts');
      clock.advance(60_000);
      await store.getSetting(TENANT, 'max_failed_attempts');
      assert.equal(n, 1);
      clock.advance(600_000);
      await store.getSetting(TENANT, 'max_failed_attempts');
      assert.equal(n, 2);
      assert.equal(front.requests.at(-1)!.headers['x-okapi-token'], 'exp-token-2');
    });

    it('the token may come from an x-okapi-token header; cookie Max-Age sets the expiry', async () => {
      const clock = new ManualClock(Date.parse('2030-01-01T00:00:00Z'));
      let n = 0;
      front.login = (): Reply => {
        n++;
        return n === 1
          ? { status: 201, headers: { 'x-okapi-token': 'hdr-token' }, body: '{}' }
          : { status: 201, headers: { 'set-cookie': 'folioAccessToken=cookie-token; Max-Age=120; Path=/' } };
      };
      const store = okapi({ systemUser: { username: 'u', password: 'pw-secret-000' }, clock });
      await store.getSetting(TENANT, 'k');
      assert.equal(front.requests.at(-1)!.headers['x-okapi-token'], 'hdr-token');
      // A header token has no known expiry: it is kept until refused.
      front.validTokens = new Set(['cookie-token']);
      await store.getSetting(TENANT, 'k');
      assert.equal(front.requests.at(-1)!.headers['x-okapi-token'], 'cookie-token');
      clock.advance(100_000);
      await store.getSetting(TENANT, 'k');
      assert.equal(n, 3, 'Max-Age=120 minus the renewal margin has passed');
    });

    it('a failed login is a clear error without the password', async () => {
      front.login = () => ({ status: 422, body: '{"errors":[{"message":"Password does not match"}]}' });
      const store = okapi({ systemUser: { username: 'u', password: 'pw-secret-bad' } });
      const err = await rejection(store.getSetting(TENANT, 'max_failed_attempts'));
      assert.equal(err.message, 'System user login failed: Received status code 422, Unprocessable Entity');
      assert.ok(!String(err.stack).includes('pw-secret-bad'));
      front.login = () => ({ status: 201, body: '{}' });
      const none = await rejection(store.getSetting(TENANT, 'max_failed_attempts'));
      assert.match(none.message, /^System user login failed: .*folioAccessToken/);
    });
  });

  describe('failures', () => {
    it('unreachable Okapi → the transport error, not an ErmError, no token in it', async () => {
      const probe = createServer();
      await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
      const port = (probe.address() as AddressInfo).port;
      await new Promise((resolve) => probe.close(resolve));
      const store = okapi({ okapiUrl: `http://127.0.0.1:${port}`, token: 'tok-unreachable-1' });
      const err = await rejection(store.getProvider(TENANT, 'x'));
      assert.ok(!(err instanceof ErmError));
      assert.match(err.message, /ECONNREFUSED/);
      assert.ok(!err.message.includes('tok-unreachable-1'));
      const login = okapi({
        okapiUrl: `http://127.0.0.1:${port}`,
        systemUser: { username: 'u', password: 'pw-x-1' },
      });
      const loginErr = await rejection(login.getSetting(TENANT, 'k'));
      assert.match(loginErr.message, /^System user login failed: .*ECONNREFUSED/);
      assert.ok(!loginErr.message.includes('pw-x-1'));
    });

    it('unreachable host name (localhost, several addresses) still gives a message', async () => {
      const probe = createServer();
      await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
      const port = (probe.address() as AddressInfo).port;
      await new Promise((resolve) => probe.close(resolve));
      const err = await rejection(okapi({ okapiUrl: `http://localhost:${port}` }).getProvider(TENANT, 'x'));
      assert.notEqual(err.message, '');
      assert.match(err.message, /ECONNREFUSED/);
    });

    it('a 2xx without the required body → `Response body is null`; wrong shape → clear message', async () => {
      const store = okapi();
      front.override = () => ({ status: 200, body: '' });
      assert.equal((await rejection(store.getProvider(TENANT, 'x'))).message, 'Response body is null');
      assert.equal(
        (await rejection(store.findProviders(TENANT, 'cql.allRecords=1', 0, 1000))).message,
        'Response body is null',
      );
      front.override = () => ({ status: 200, body: '{"totalRecords":0}' });
      assert.match(
        (await rejection(store.findCounterReports(TENANT, 'cql.allRecords=1', 0, 1, true))).message,
        /"counterReports"/,
      );
      front.override = () => ({ status: 200, body: '<html>' });
      assert.match(
        (await rejection(store.getAggregator(TENANT, 'x'))).message,
        /^Invalid JSON in the response to GET \/aggregator-settings\/x: /,
      );
      front.override = () => ({ status: 502, body: 'Bad gateway' });
      assert.equal(
        (await rejection(store.putCounterReport(TENANT, 'x', {} as CounterReport))).message,
        'Received status code 502, Bad Gateway',
      );
    });

    it('writes accept any 2xx, with or without a body', async () => {
      const store = okapi();
      front.override = (r) => (r.method === 'PUT' ? { status: 200, body: '' } : { status: 201, body: '' });
      await store.putProvider(TENANT, { id: 'p', label: 'l' });
      const id = await store.postCounterReport(TENANT, {
        yearMonth: '2024-01',
        reportName: 'TR',
        release: '5.1',
        downloadTime: '2024-02-01T10:00:00.000+00:00',
      });
      assert.match(id, /^[0-9a-f-]{36}$/);
    });

    it('the default dispatcher reaches Okapi directly; close() ends it', async () => {
      await withProxyEnv({}, async () => {
        const store = new OkapiErmStore({ okapiUrl: `${front.url}/` });
        front.settings = () => ({ status: 200, body: '{"items":[{"value":3}]}' });
        try {
          assert.equal(await store.getSetting(TENANT, 'max_failed_attempts'), 3);
          assert.equal(
            front.requests[0].path,
            '/settings/entries',
            'a trailing slash in OKAPI_URL is tolerated',
          );
          assert.deepEqual(front.connects, []);
        } finally {
          await store.close();
        }
      });
    });

    it('the default dispatcher honours HTTP_PROXY', async () => {
      await withProxyEnv({ HTTP_PROXY: front.url }, async () => {
        const store = new OkapiErmStore({ okapiUrl: 'http://okapi.invalid:9130' });
        front.settings = () => ({ status: 200, body: '{"items":[{"value":4}]}' });
        try {
          assert.equal(await store.getSetting(TENANT, 'max_failed_attempts'), 4);
          assert.deepEqual(front.connects, ['okapi.invalid:9130']);
          assert.equal(front.requests[0].headers.host, 'okapi.invalid:9130');
          assert.equal(front.requests[0].headers['x-okapi-url'], 'http://okapi.invalid:9130');
        } finally {
          await store.close();
        }
      });
    });

    it('the default dispatcher honours NO_PROXY', async () => {
      await withProxyEnv({ HTTP_PROXY: 'http://127.0.0.1:9', NO_PROXY: '127.0.0.1' }, async () => {
        const store = new OkapiErmStore({ okapiUrl: front.url });
        front.settings = () => ({ status: 200, body: '{"items":[{"value":6}]}' });
        try {
          assert.equal(await store.getSetting(TENANT, 'max_failed_attempts'), 6);
          assert.deepEqual(front.connects, [], 'NO_PROXY host is reached directly');
        } finally {
          await store.close();
        }
      });
    });
  });

  afterEach(() => {
    front.override = undefined;
  });
});
