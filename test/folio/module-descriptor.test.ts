/**
 * The FOLIO module descriptor (folio-contract §2.0, §2.11): interfaces, permissions, requirements, system
 * user, launch descriptor; and every path it declares is served by the service.
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
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

  it('provides erm-usage-harvester 2.1 with every folio-contract §2.0 handler and its permission', () => {
    const api = provided('erm-usage-harvester');
    assert.equal(api.version, '2.1');
    assert.equal(api.interfaceType, undefined);
    assert.deepEqual(handlerPairs(api), ENDPOINTS.map(([m, p]) => `${m} ${p}`).sort());
    for (const [method, path, perm] of ENDPOINTS) {
      const h = api.handlers.find((x) => x.pathPattern === path && x.methods.includes(method))!;
      assert.deepEqual(h.permissionsRequired, [perm], `${method} ${path}`);
    }
  });

  it('start and start/{id} carry the module permissions the harvest needs downstream', () => {
    const api = provided('erm-usage-harvester');
    for (const h of api.handlers) {
      const expected = h.pathPattern.startsWith('/erm-usage-harvester/start')
        ? HARVEST_MODULE_PERMISSIONS
        : [];
      assert.deepEqual(sorted(h.modulePermissions), sorted(expected), h.pathPattern);
    }
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
    assert.equal(md.provides.length, 3);
  });

  it('requires mod-erm-usage interfaces and optionally mod-settings, exactly as folio-contract §2.11', () => {
    assert.deepEqual(md.requires, [
      { id: 'usage-data-providers', version: '3.0' },
      { id: 'aggregator-settings', version: '2.0' },
      { id: 'counter-reports', version: '4.0 5.0' },
    ]);
    assert.deepEqual(md.optional, [{ id: 'settings', version: '1.2' }]);
  });

  it('permission sets: the nine, ermusageharvester.all, the settings scope, and the replaced names', () => {
    for (const name of NINE) {
      const p = permission(name);
      assert.ok(p.displayName, `${name} has a display name`);
      assert.equal(p.subPermissions, undefined);
    }
    assert.deepEqual(sorted(permission('ermusageharvester.all').subPermissions), sorted(NINE));
    permission('mod-settings.global.read.mod-erm-usage-harvester.manage');
    permission('mod-settings.global.write.mod-erm-usage-harvester.manage');
    assert.equal(permissionSets.length, 12);

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

  describe('every declared path is served', () => {
    let svc: RunningService;
    before(async () => {
      svc = await startOn('pglite', undefined, { config: { runWorkers: false } });
    });
    after(async () => {
      await svc.close();
    });

    it('answers each handler with something other than 404 `No route`', async () => {
      const pairs = (md.provides as Interface[]).flatMap((i) =>
        i.handlers.flatMap((h) => h.methods.map((m) => [m, h.pathPattern] as const)),
      );
      assert.equal(pairs.length, 13);
      for (const [method, pattern] of pairs) {
        const path = pattern.replace(/\{[^}]+\}/g, randomUUID());
        const body = method === 'POST' && pattern === '/erm-usage-harvester/periodic' ? {} : undefined;
        const res = await call(svc, method, path, { body });
        const noRoute = res.status === 404 && res.text.startsWith('No route');
        assert.ok(!noRoute, `${method} ${pattern}: ${res.status} ${res.text}`);
        assert.ok(res.status < 500, `${method} ${pattern}: ${res.status} ${res.text}`);
      }
      const missing = await call(svc, 'GET', '/erm-usage-harvester/not-declared');
      assert.equal(missing.status, 404);
      assert.match(missing.text, /^No route/, 'the check can tell a missing route');
    });
  });
});
