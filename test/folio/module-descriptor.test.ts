/**
 * The FOLIO module descriptor (folio-contract §2.0, §2.11): interfaces, permissions, requirements, system
 * user, launch descriptor; every path it declares is served by the service in FOLIO mode, and every route
 * the service registers is declared or on an explicit list below, so the two cannot drift apart.
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { registeredRoutes } from '../../src/api/app.ts';
import type { RunningService } from '../../src/server.ts';
import { call, startOn } from '../helpers/service.ts';

const ROOT = new URL('../../', import.meta.url);
const text = readFileSync(new URL('ModuleDescriptor.json', ROOT), 'utf8');
const pkg = JSON.parse(readFileSync(new URL('package.json', ROOT), 'utf8'));

interface Handler {
  methods: string[];
  pathPattern: string;
  permissionsRequired?: string[];
  modulePermissions?: string[];
  unit?: string;
  delay?: string;
}
interface Interface {
  id: string;
  version: string;
  interfaceType?: string;
  handlers: Handler[];
}
interface PermissionSet {
  permissionName: string;
  displayName?: string;
  description?: string;
  subPermissions?: string[];
  replaces?: string[];
}

/** folio-contract §2.0: method, path, permission. */
const ENDPOINTS: [string, string, string][] = [
  ['GET', '/erm-usage-harvester/start', 'ermusageharvester.start-all.get'],
  ['GET', '/erm-usage-harvester/start/{id}', 'ermusageharvester.start-single.get'],
  ['GET', '/erm-usage-harvester/impl', 'ermusageharvester.impl.get'],
  ['GET', '/erm-usage-harvester/jobs', 'ermusageharvester.jobs.get'],
  ['POST', '/erm-usage-harvester/jobs/purgefinished', 'ermusageharvester.jobs.purge-finished.post'],
  ['POST', '/erm-usage-harvester/jobs/purgestale', 'ermusageharvester.jobs.purge-stale.post'],
  ['GET', '/erm-usage-harvester/periodic', 'ermusageharvester.periodic.get'],
  ['POST', '/erm-usage-harvester/periodic', 'ermusageharvester.periodic.post'],
  ['DELETE', '/erm-usage-harvester/periodic', 'ermusageharvester.periodic.delete'],
];
const NINE = ENDPOINTS.map((e) => e[2]);

/** The harvester's own additions to FOLIO's API (interface erm-usage-harvester-extensions 1.0). */
const EXTENSIONS: [string, string, string][] = [
  ['GET', '/erm-usage-harvester/jobs/{id}', 'ermusageharvester.jobs.item.get'],
  ['POST', '/erm-usage-harvester/start/{id}/again', 'ermusageharvester.start-single-again.post'],
  ['GET', '/erm-usage-harvester/providers/{id}/check', 'ermusageharvester.providers.check.get'],
  ['GET', '/erm-usage-harvester/counter-reports/changes', 'ermusageharvester.counter-reports.changes.get'],
  [
    'GET',
    '/erm-usage-harvester/counter-reports/{id}/changes',
    'ermusageharvester.counter-reports.changes.get',
  ],
  ['GET', '/erm-usage-harvester/diagnostics', 'ermusageharvester.diagnostics.get'],
];
const EXTENSION_PERMISSIONS = [...new Set(EXTENSIONS.map((e) => e[2]))];

/**
 * Routes Okapi never routes to a module: the service's own infrastructure (Okapi and Kubernetes call
 * /admin/health directly; the rest are for people and Prometheus on the service's own port).
 */
const NOT_ROUTED_BY_OKAPI = [
  'GET /',
  'GET /admin/health',
  'GET /metrics',
  'GET /openapi.json',
  'GET /ui',
  'GET /ui/*',
  'GET /docs',
  'GET /docs/json',
  'GET /docs/yaml',
  'GET /docs/static/*',
  'GET /docs/static/index.html',
  'GET /docs/static/swagger-initializer.js',
];

/**
 * Routes only the standalone service registers: the stand-in for mod-erm-usage (which serves these paths
 * itself in FOLIO, folio-contract §4) and the harvester's additions that work on the standalone store
 * (usage figures, COUNTER registry, consortium members, key rotation). Never declared: in FOLIO, Okapi
 * would route them to mod-erm-usage or to nothing.
 */
const STANDALONE_ONLY_PREFIXES = [
  '/usage-data-providers',
  '/aggregator-settings',
  '/counter-reports',
  '/usage/',
  '/registry/',
  '/admin/credentials/',
];

/** `METHOD /path` with every path parameter written `{}` (Fastify `:id`, Okapi `{id}`). */
const routeKey = (method: string, path: string): string =>
  `${method} ${path.replace(/\{[^}]+\}/g, '{}').replace(/:[^/]+/g, '{}')}`;
const standaloneOnly = (key: string): boolean =>
  STANDALONE_ONLY_PREFIXES.some((p) => key.split(' ')[1].startsWith(p));

const HARVEST_MODULE_PERMISSIONS = [
  'usagedataproviders.collection.get',
  'usagedataproviders.item.get',
  'usagedataproviders.item.put',
  'aggregatorsettings.collection.get',
  'aggregatorsettings.item.get',
  'counterreports.collection.get',
  'counterreports.item.get',
  'counterreports.item.post',
  'counterreports.item.put',
  'counterreports.item.delete',
  'mod-settings.entries.collection.get',
  'mod-settings.global.read.mod-erm-usage-harvester.manage',
];
const SETTINGS_READ = [
  'mod-settings.entries.collection.get',
  'mod-settings.global.read.mod-erm-usage-harvester.manage',
];

const sorted = (xs: readonly string[] | undefined): string[] => [...(xs ?? [])].sort();

describe('ModuleDescriptor.json', () => {
  const md = JSON.parse(text);
  const provided = (id: string): Interface => {
    const found = (md.provides as Interface[]).filter((i) => i.id === id);
    assert.equal(found.length, 1, `exactly one provided interface ${id}`);
    return found[0];
  };
  const handlerPairs = (i: Interface): string[] =>
    i.handlers.flatMap((h) => h.methods.map((m) => `${m} ${h.pathPattern}`)).sort();
  const permissionSets = md.permissionSets as PermissionSet[];
  const permission = (name: string): PermissionSet => {
    const found = permissionSets.filter((p) => p.permissionName === name);
    assert.equal(found.length, 1, `exactly one permission set ${name}`);
    return found[0];
  };

  it('is a JSON object with an `${artifactId}-${version}` id matching package.json', () => {
    assert.equal(typeof md, 'object');
    assert.match(md.id, /^[a-z][a-z0-9-]*-\d+\.\d+\.\d+$/);
    assert.equal(md.id, `mod-erm-usage-harvester-ts-${pkg.version}`);
    assert.equal(typeof md.name, 'string');
    assert.ok(md.name.length > 0);
  });

  const interfaces: [string, string, [string, string, string][], string][] = [
    ['erm-usage-harvester', '2.1', ENDPOINTS, 'every folio-contract §2.0 handler'],
    ['erm-usage-harvester-extensions', '1.0', EXTENSIONS, 'the harvester additions'],
  ];
  for (const [id, version, endpoints, what] of interfaces)
    it(`provides ${id} ${version} with ${what}, each with its permission`, () => {
      const api = provided(id);
      assert.equal(api.version, version);
      assert.equal(api.interfaceType, undefined);
      assert.deepEqual(handlerPairs(api), endpoints.map(([m, p]) => `${m} ${p}`).sort());
      for (const [method, path, perm] of endpoints) {
        const h = api.handlers.find((x) => x.pathPattern === path && x.methods.includes(method))!;
        assert.deepEqual(h.permissionsRequired, [perm], `${method} ${path}`);
      }
    });

  it('handlers that harvest or read mod-erm-usage carry the module permissions they need downstream', () => {
    const downstream: Record<string, string[]> = {
      '/erm-usage-harvester/start': HARVEST_MODULE_PERMISSIONS,
      '/erm-usage-harvester/start/{id}': HARVEST_MODULE_PERMISSIONS,
      '/erm-usage-harvester/start/{id}/again': HARVEST_MODULE_PERMISSIONS,
      '/erm-usage-harvester/providers/{id}/check': [
        'usagedataproviders.item.get',
        'aggregatorsettings.item.get',
      ],
      '/erm-usage-harvester/diagnostics': ['counterreports.collection.get'],
    };
    for (const id of ['erm-usage-harvester', 'erm-usage-harvester-extensions'])
      for (const h of provided(id).handlers)
        assert.deepEqual(sorted(h.modulePermissions), sorted(downstream[h.pathPattern] ?? []), h.pathPattern);
  });

  it('provides _tenant 2.0 and _timer 1.0 (cleanup every 30 minutes) as system interfaces', () => {
    const tenant = provided('_tenant');
    assert.equal(tenant.version, '2.0');
    assert.equal(tenant.interfaceType, 'system');
    assert.deepEqual(handlerPairs(tenant), ['DELETE /_/tenant/{id}', 'GET /_/tenant/{id}', 'POST /_/tenant']);

    const timer = provided('_timer');
    assert.equal(timer.version, '1.0');
    assert.equal(timer.interfaceType, 'system');
    assert.equal(timer.handlers.length, 1);
    const [h] = timer.handlers;
    assert.deepEqual(h.methods, ['POST']);
    assert.equal(h.pathPattern, '/erm-usage-harvester/jobs/cleanup');
    assert.equal(h.unit, 'minute');
    assert.equal(h.delay, '30');
    assert.deepEqual(sorted(h.modulePermissions), sorted(SETTINGS_READ));
    assert.equal(h.permissionsRequired, undefined);
    assert.equal(md.provides.length, 4);
  });

  it('requires mod-erm-usage interfaces and optionally mod-settings, exactly as folio-contract §2.11', () => {
    assert.deepEqual(md.requires, [
      { id: 'usage-data-providers', version: '3.0' },
      { id: 'aggregator-settings', version: '2.0' },
      { id: 'counter-reports', version: '4.0 5.0' },
    ]);
    assert.deepEqual(md.optional, [{ id: 'settings', version: '1.2' }]);
  });

  it('permission sets: the nine, the additions, ermusageharvester.all, the settings scope, and the replaced names', () => {
    for (const name of [...NINE, ...EXTENSION_PERMISSIONS]) {
      const p = permission(name);
      assert.ok(p.displayName, `${name} has a display name`);
      assert.equal(p.subPermissions, undefined);
    }
    assert.deepEqual(
      sorted(permission('ermusageharvester.all').subPermissions),
      sorted([...NINE, ...EXTENSION_PERMISSIONS]),
    );
    permission('mod-settings.global.read.mod-erm-usage-harvester.manage');
    permission('mod-settings.global.write.mod-erm-usage-harvester.manage');
    assert.equal(permissionSets.length, 12 + EXTENSION_PERMISSIONS.length);

    const replaces = Object.fromEntries(
      permissionSets.filter((p) => p.replaces).map((p) => [p.permissionName, p.replaces]),
    );
    assert.deepEqual(replaces, {
      'ermusageharvester.start-all.get': ['ermusageharvester.start'],
      'ermusageharvester.start-single.get': ['ermusageharvester.start.single'],
      'ermusageharvester.jobs.purge-finished.post': ['ermusageharvester.jobs.purge'],
      'ermusageharvester.jobs.purge-stale.post': ['ermusageharvester.jobs.purge'],
    });
    const required = (md.provides as Interface[]).flatMap((i) =>
      i.handlers.flatMap((h) => h.permissionsRequired ?? []),
    );
    const defined = new Set(permissionSets.map((p) => p.permissionName));
    for (const name of required) assert.ok(defined.has(name), `${name} is defined`);
  });

  it('declares the Eureka system user used for periodic harvesting', () => {
    assert.deepEqual(md.metadata, {
      user: { type: 'system', permissions: ['ermusageharvester.start-all.get'] },
    });
  });

  it('has a launch descriptor: image, port 8081, FOLIO-mode environment', () => {
    const ld = md.launchDescriptor;
    assert.equal(typeof ld.dockerImage, 'string');
    assert.ok(ld.dockerImage.length > 0);
    assert.deepEqual(ld.dockerArgs.HostConfig.PortBindings, { '8081/tcp': [{ HostPort: '%p' }] });
    const env = Object.fromEntries(
      (ld.env as { name: string; value: string }[]).map((e) => [e.name, e.value]),
    );
    assert.equal(env.PORT, '8081');
    assert.equal(env.HOST, '0.0.0.0');
    assert.ok(env.OKAPI_URL, 'OKAPI_URL');
    assert.ok(env.DATABASE_URL, 'DATABASE_URL');
    assert.equal(env.HARVESTER_MODE, 'folio');
  });

  describe('every declared path is served in FOLIO mode; every route is declared or listed', () => {
    let svc: RunningService;
    let standalone: RunningService;
    const declared = (): Set<string> =>
      new Set(
        (md.provides as Interface[]).flatMap((i) =>
          i.handlers.flatMap((h) => h.methods.map((m) => routeKey(m, h.pathPattern))),
        ),
      );
    const keysOf = (s: RunningService): string[] =>
      registeredRoutes(s.app).map((r) => routeKey(r.method, r.url));
    before(async () => {
      svc = await startOn('pglite', undefined, {
        config: { runWorkers: false, mode: 'folio', okapiUrl: 'http://127.0.0.1:9' },
      });
      standalone = await startOn('pglite', undefined, { config: { runWorkers: false } });
    });
    after(async () => {
      await svc.close();
      await standalone.close();
    });

    it('FOLIO mode: each route the service registers is declared, or one Okapi never routes', () => {
      const keys = keysOf(svc);
      assert.ok(keys.length > 20, 'the routes are collected');
      const known = declared();
      const infra = new Set(NOT_ROUTED_BY_OKAPI.map((k) => routeKey(k.split(' ')[0], k.split(' ')[1])));
      const undeclared = keys.filter((k) => !known.has(k) && !infra.has(k));
      assert.deepEqual(undeclared, [], 'declare these in ModuleDescriptor.json');
      assert.deepEqual(keys.filter(standaloneOnly), [], 'no standalone-only route in FOLIO mode');
      const served = new Set(keys);
      assert.deepEqual(
        [...known].filter((k) => !served.has(k)),
        [],
        'every declared handler is registered in FOLIO mode',
      );
    });

    it('standalone: each further route is on the standalone-only list, and none of those is declared', () => {
      const folio = new Set(keysOf(svc));
      const extra = keysOf(standalone).filter((k) => !folio.has(k));
      assert.ok(extra.length > 20, 'the store and the additions are registered standalone');
      assert.deepEqual(
        extra.filter((k) => !standaloneOnly(k)),
        [],
        'a route only standalone registers must be on STANDALONE_ONLY_PREFIXES (or be registered in FOLIO mode and declared)',
      );
      const known = declared();
      assert.deepEqual(
        [...known].filter(standaloneOnly),
        [],
        'mod-erm-usage serves these in FOLIO: never declared',
      );
    });

    it('answers each handler with something other than 404 `No route`', async () => {
      const pairs = (md.provides as Interface[]).flatMap((i) =>
        i.handlers.flatMap((h) => h.methods.map((m) => [m, h.pathPattern] as const)),
      );
      assert.equal(pairs.length, 13 + EXTENSIONS.length);
      // Answered by the standalone service (the same harvester routes; no mod-erm-usage to ask here).
      for (const [method, pattern] of pairs) {
        const path = pattern.replace(/\{[^}]+\}/g, randomUUID());
        const body = method === 'POST' && pattern === '/erm-usage-harvester/periodic' ? {} : undefined;
        const res = await call(standalone, method, path, { body });
        const noRoute = res.status === 404 && res.text.startsWith('No route');
        assert.ok(!noRoute, `${method} ${pattern}: ${res.status} ${res.text}`);
        assert.ok(res.status < 500, `${method} ${pattern}: ${res.status} ${res.text}`);
      }
      const missing = await call(standalone, 'GET', '/erm-usage-harvester/not-declared');
      assert.equal(missing.status, 404);
      assert.match(missing.text, /^No route/, 'the check can tell a missing route');
    });
  });
});
