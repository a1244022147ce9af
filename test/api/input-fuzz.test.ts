/**
 * Property-based: a generated corpus of hostile client input (odd strings with NUL, lone surrogates and
 * CQL syntax, huge and tiny numbers, deep JSON, broken JSON, odd paths, parameters and tenant names) is
 * sent to every endpoint — the harvester API, the standalone store and the tenant API — on PGlite and
 * PostgreSQL. No answer may be a 5xx (except the two 500 texts that folio-contract §2.1 and §2.2 prescribe
 * for /start), a 400 is text/plain and a 422 is RMB's `errors` JSON (folio-contract H9), and the database
 * connection must work afterwards (docs/hardening.md, "Client input").
 *
 * FUZZ_RUNS sets the number of generated requests per database (default 250: the file takes about a
 * minute, most of it starting the two databases); FUZZ_SEED replays a failing run.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { RunningService } from '../../src/server.ts';
import { backends, call } from '../helpers/service.ts';
import { create, report, udp } from '../helpers/store.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 250);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);

// ---- strings and numbers -------------------------------------------------------------------------

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
const special = fc.constantFrom(
  '\u0000',
  '%00',
  '\\',
  '"',
  "'",
  '*',
  '?',
  '^',
  '(',
  ')',
  '=',
  '==',
  '<>',
  ' ',
  '\n',
  '\u2028',
  '\uFEFF',
  '\uFFFF',
  '😀',
  'e\u0301',
  ';',
  '--',
  '/*',
  '$1',
  '%',
  '+',
  '&',
  '#',
  '/',
  '.',
);
const unit = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: special },
  { weight: 1, arbitrary: loneSurrogate },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
);
const oddString = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit, maxLength: 24 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '',
      ' ',
      'null',
      '1e300',
      'NaN',
      '-1',
      '2147483648',
      '9'.repeat(400),
      "'; DROP TABLE x; --",
      'x'.repeat(3000),
      '0000-00-00',
      '0000-01-01T00:00:00Z',
      '9999-12-31T23:59:59.999Z',
      '10000-01-01',
      '2024-13',
      '2024-02-30',
      'garbage',
      'yesterday',
    ),
  },
);
const hugeNumber = fc.oneof(
  fc.constantFrom(
    1e300,
    -1e300,
    Number.MAX_VALUE,
    Number.MIN_VALUE,
    2 ** 53 + 2,
    -(2 ** 63),
    2147483648,
    -1,
    0,
    0.5,
    1e21,
  ),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
);
const oddValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: oddString },
  { weight: 2, arbitrary: hugeNumber },
  { weight: 1, arbitrary: fc.constantFrom(true, false, null) },
  { weight: 1, arbitrary: fc.array(oddString, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.dictionary(oddString, oddString, { maxKeys: 3 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);

// ---- bodies ----------------------------------------------------------------------------------------

const deepJson = fc
  .tuple(fc.integer({ min: 60, max: 2500 }), fc.constantFrom('[', '{"a":'))
  .map(([n, open]) => `${open.repeat(n)}1${(open === '[' ? ']' : '}').repeat(n)}`);
const rawText = fc.oneof(
  deepJson,
  fc.constantFrom(
    '',
    '{',
    'null',
    '[]',
    '"x"',
    '1e400',
    '{"label":"\\u0000"}',
    '{"label":"\\ud800"}',
    '{"a":1,"a":2}',
    '\u0000',
    '{"__proto__":{"x":1}}',
    '{"constructor":{"prototype":{"x":1}}}',
    '{"downloadTime":1e400,"yearMonth":"2024-01","release":"5","reportName":"TR"}',
  ),
  oddString,
);

/** Placeholders replaced by the ids of records created before the run. */
type Placeholder = '{provider}' | '{aggregator}' | '{report}';

const TEMPLATES: Record<string, () => Record<string, unknown>> = {
  provider: () =>
    udp('fuzz', { harvestingConfig: { harvestingStatus: 'active', harvestingStart: '2024-01' } }),
  aggregator: () => ({
    label: 'fuzz',
    serviceType: 'NSS',
    serviceUrl: 'https://stats.example.org/x',
    accountConfig: { configType: 'Manual' },
  }),
  report: () => report('{provider}', '2024-01', { report: { Report_Items: [{ Title: 'x' }] } }),
  periodic: () => ({ startAt: '2030-01-01T00:00:00.000+00:00', periodicInterval: 'monthly' }),
  tenant: () => ({
    module_to: 'mod-erm-usage-harvester-1.0.0',
    parameters: [{ key: 'loadSample', value: 'false' }],
  }),
};
const FIELDS = [
  'label',
  'id',
  'status',
  'notes',
  'harvestingDate',
  'downloadTime',
  'yearMonth',
  'failedAttempts',
  'providerId',
  'release',
  'reportName',
  'report',
  'startAt',
  'lastTriggeredAt',
  'periodicInterval',
  'module_to',
  'module_from',
  'purge',
  'parameters',
  'serviceUrl',
  'harvestingConfig',
  'harvestingConfig.harvestingStart',
  'harvestingConfig.harvestingEnd',
  'harvestingConfig.sushiConfig.serviceUrl',
  'harvestingConfig.aggregator.id',
  'sushiCredentials.apiKey',
  'report.Report_Items',
  'accountConfig.configType',
  'itemCount',
  'usageTotals.Total_Item_Requests',
  'tags.tagList',
];

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node: Record<string, unknown> = target;
  for (const key of keys.slice(0, -1)) {
    if (node[key] === null || typeof node[key] !== 'object' || Array.isArray(node[key])) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]] = value;
}

/** A valid record of some kind with one to three fields replaced by odd values. */
const mutatedRecord = fc
  .tuple(
    fc.constantFrom(...Object.keys(TEMPLATES)),
    fc.array(fc.tuple(fc.oneof(fc.constantFrom(...FIELDS), oddString), oddValue), {
      minLength: 1,
      maxLength: 3,
    }),
  )
  .map(([kind, changes]) => {
    const record = TEMPLATES[kind]();
    for (const [path, value] of changes) setPath(record, path, value);
    return record;
  });

type Body =
  { kind: 'none' } | { kind: 'json'; value: unknown } | { kind: 'raw'; text: string; contentType: string };

const body: fc.Arbitrary<Body> = fc.oneof(
  { weight: 5, arbitrary: mutatedRecord.map((value): Body => ({ kind: 'json', value })) },
  { weight: 2, arbitrary: oddValue.map((value): Body => ({ kind: 'json', value })) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        rawText,
        fc.constantFrom(
          'application/json',
          'application/vnd.api+json',
          'text/plain',
          'application/x-www-form-urlencoded',
        ),
      )
      .map(([text, contentType]): Body => ({ kind: 'raw', text, contentType })),
  },
  { weight: 1, arbitrary: fc.constant<Body>({ kind: 'none' }) },
);

// ---- URLs ------------------------------------------------------------------------------------------

const CQL_PARTS = [
  'label',
  'id',
  'status',
  'yearMonth',
  'providerId',
  'reportName',
  'harvestingConfig.harvestingStatus',
  'metadata.createdDate',
  'cql.allRecords',
  'timestamp',
  '=',
  '==',
  '<>',
  '<',
  '>=',
  'adj',
  'all',
  'any',
  'within',
  'prox',
  'and',
  'or',
  'not',
  '(',
  ')',
  '"',
  '*',
  '?',
  '^',
  '\\',
  'sortby',
  '/sort.descending',
  '/number',
  '/string',
  '/foo',
  '1',
  '2024-01',
  '""',
  '"a b"',
  '%',
  '_',
  "'",
  '\u0000',
];
const cql = fc.oneof(
  fc.array(fc.oneof(fc.constantFrom(...CQL_PARTS), oddString), { maxLength: 12 }).map((a) => a.join(' ')),
  fc.array(fc.oneof(fc.constantFrom(...CQL_PARTS), oddString), { maxLength: 12 }).map((a) => a.join('')),
  fc
    .tuple(
      fc.constantFrom('label', 'yearMonth', 'id', 'status'),
      fc.constantFrom('=', '==', '<', '>', 'adj'),
      oddString,
    )
    .map(([index, relation, term]) => `${index}${relation}"${term.replace(/["\\]/g, '')}"`),
);

/** UTF-8 percent-encoding; lone surrogates are encoded as the bytes a careless client would send. */
function percent(text: string): string {
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (code >= 0xd800 && code <= 0xdfff)
      out += [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)]
        .map((b) => `%${b.toString(16).toUpperCase()}`)
        .join('');
    else out += encodeURIComponent(ch);
  }
  return out;
}
const rawBytes = fc
  .uint8Array({ minLength: 1, maxLength: 6 })
  .map((bytes) => [...bytes].map((b) => `%${b.toString(16).padStart(2, '0')}`).join(''));
const encoded = fc.oneof(
  { weight: 4, arbitrary: oddString.map(percent) },
  { weight: 1, arbitrary: rawBytes },
  {
    weight: 1,
    arbitrary: fc.constantFrom('%', '%zz', '%E0%A4', '%C0%80', '%ED%A0%80', '..', '%2e%2e', '%2F', '+'),
  },
);
const idSegment = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom<Placeholder>('{provider}', '{aggregator}', '{report}') },
  { weight: 1, arbitrary: fc.uuid() },
  { weight: 4, arbitrary: encoded },
);
const PARAMS = [
  'query',
  'offset',
  'limit',
  'tiny',
  'timestamp',
  'providerId',
  'aggregator',
  'wait',
  'orderBy',
  'order',
  'totalRecords',
  'x',
];
const paramValue = fc.oneof(
  { weight: 3, arbitrary: cql.map(percent) },
  { weight: 3, arbitrary: encoded },
  { weight: 2, arbitrary: hugeNumber.map((n) => percent(String(n))) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('', '0', '1', '2147483647', '-1', 'true', 'TRUE', '1e300', '0x10', '00'),
  },
);
const queryString = fc
  .array(
    fc.tuple(
      fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...PARAMS) }, { weight: 1, arbitrary: encoded }),
      paramValue,
    ),
    {
      maxLength: 4,
    },
  )
  .map((pairs) => (pairs.length === 0 ? '' : `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`));

// ---- endpoints -------------------------------------------------------------------------------------

interface Endpoint {
  method: string;
  /** `{id}` is replaced by a generated path segment. */
  path: string;
  body?: boolean;
  /** Generated tenant names (the tenant API); otherwise the test tenant. */
  oddTenant?: boolean;
}

const STORE = ['/usage-data-providers', '/aggregator-settings', '/counter-reports'];
const ENDPOINTS: Endpoint[] = [
  { method: 'GET', path: '/erm-usage-harvester/start' },
  { method: 'GET', path: '/erm-usage-harvester/start/{id}' },
  { method: 'GET', path: '/erm-usage-harvester/impl' },
  { method: 'GET', path: '/erm-usage-harvester/jobs' },
  { method: 'POST', path: '/erm-usage-harvester/jobs/purgefinished', body: true },
  { method: 'POST', path: '/erm-usage-harvester/jobs/purgestale', body: true },
  { method: 'POST', path: '/erm-usage-harvester/jobs/cleanup', body: true },
  { method: 'GET', path: '/erm-usage-harvester/periodic' },
  { method: 'POST', path: '/erm-usage-harvester/periodic', body: true },
  { method: 'DELETE', path: '/erm-usage-harvester/periodic' },
  ...STORE.flatMap((p): Endpoint[] => [
    { method: 'GET', path: p },
    { method: 'POST', path: p, body: true },
    { method: 'GET', path: `${p}/{id}` },
    { method: 'PUT', path: `${p}/{id}`, body: true },
    { method: 'DELETE', path: `${p}/{id}` },
  ]),
  { method: 'GET', path: '/counter-reports/errors/codes' },
  { method: 'GET', path: '/counter-reports/reports/types' },
  { method: 'GET', path: '/counter-reports/reports/releases' },
  { method: 'POST', path: '/counter-reports/reports/delete', body: true },
  { method: 'POST', path: '/_/tenant', body: true, oddTenant: true },
  { method: 'GET', path: '/_/tenant/{id}', oddTenant: true },
  { method: 'DELETE', path: '/_/tenant/{id}', oddTenant: true },
];

/** Never the test tenant itself: a generated purge would delete it. */
const tenantName = fc.oneof(
  fc.constantFrom(
    'fuzz',
    'pg_temp',
    'pg_catalog',
    'public',
    'information_schema',
    'harvester',
    'Bad-Tenant',
    'a'.repeat(40),
    '_x',
    'x y',
  ),
  fc
    .string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 12 })
    .filter((t) => t.trim() !== '' && t !== 'diku'),
);

interface Request {
  endpoint: Endpoint;
  id: string;
  query: string;
  body: Body;
  tenant: string;
}

const request: fc.Arbitrary<Request> = fc.record({
  endpoint: fc.constantFrom(...ENDPOINTS),
  id: idSegment,
  query: queryString,
  body,
  tenant: tenantName,
});

/** FOLIO's own 500 answers of the start endpoints (folio-contract §2.1, §2.2). */
const FOLIO_500 = /is already in progress$|is already scheduled\/running$/;

function describeRequest(r: Request, url: string): string {
  return `${r.endpoint.method} ${url} (tenant ${r.endpoint.oddTenant ? r.tenant : 'diku'}) body ${JSON.stringify(r.body).slice(0, 300)}`;
}

for (const backend of backends()) {
  describe(`generated hostile input on every endpoint (${backend.name})`, () => {
    let svc: RunningService;
    const ids: Record<Placeholder, string> = { '{provider}': '', '{aggregator}': '', '{report}': '' };
    before(async () => {
      svc = await backend.start({ config: { mode: 'standalone' } });
      ids['{provider}'] = (await create(svc, '/usage-data-providers', TEMPLATES.provider())).id;
      ids['{aggregator}'] = (await create(svc, '/aggregator-settings', TEMPLATES.aggregator())).id;
      ids['{report}'] = (await create(svc, '/counter-reports', report(ids['{provider}'], '2023-12'))).id;
    });
    after(async () => {
      await svc.close();
    });

    const fill = (text: string) =>
      text.replace(/\{provider\}|\{aggregator\}|\{report\}/g, (p) => ids[p as Placeholder]);

    async function send(r: Request): Promise<void> {
      const url = fill(r.endpoint.path.replace('{id}', r.id)) + r.query;
      const headers: Record<string, string> = {};
      let payload: string | undefined;
      if (r.endpoint.body && r.body.kind === 'json') {
        payload = fill(JSON.stringify(r.body.value) ?? 'null');
        headers['content-type'] = 'application/json';
      } else if (r.endpoint.body && r.body.kind === 'raw') {
        payload = r.body.text;
        headers['content-type'] = r.body.contentType;
      }
      const tenant = r.endpoint.oddTenant ? r.tenant : 'diku';
      const what = describeRequest(r, url);
      let res;
      try {
        res = await call(svc, r.endpoint.method, url, { tenant, headers, rawBody: payload });
      } catch (err) {
        assert.fail(`${what}: no answer (${(err as Error).message})`);
      }
      const type = res.headers.get('content-type') ?? '';
      if (res.status >= 500) {
        const prescribed = r.endpoint.path.startsWith('/erm-usage-harvester/start') && res.status === 500;
        assert.ok(
          prescribed && FOLIO_500.test(res.text),
          `${what} → ${res.status} ${res.text.slice(0, 300)}`,
        );
      }
      if (res.status === 400) assert.match(type, /^text\/plain/, `${what} → 400 as ${type}`);
      if (res.status === 422) {
        assert.match(type, /^application\/json/, `${what} → 422 as ${type}`);
        assert.ok(
          res.json.errors.length > 0 && res.json.errors.every((e: { message: string }) => e.message),
          what,
        );
      }
    }

    async function assertUsable(): Promise<void> {
      const health = await call(svc, 'GET', '/admin/health', { tenant: null });
      assert.equal(health.status, 200, `health after the run: ${health.text}`);
      const created = await create(svc, '/usage-data-providers', udp(`usable ${Date.now()}`));
      const read = await call(svc, 'GET', `/usage-data-providers/${created.id}`);
      assert.equal(read.status, 200);
      const jobs = await call(svc, 'GET', '/erm-usage-harvester/jobs?limit=1');
      assert.equal(jobs.status, 200, jobs.text);
    }

    it(`answers ${RUNS} generated requests without a 5xx, and the database stays usable`, async () => {
      let count = 0;
      await fc.assert(
        fc.asyncProperty(request, async (r) => {
          await send(r);
          if (++count % 50 === 0) await assertUsable();
        }),
        {
          numRuns: RUNS,
          includeErrorInReport: true,
          ...(SEED === undefined ? {} : { seed: SEED }),
          endOnFailure: false,
        },
      );
      await assertUsable();
    });
  });
}
