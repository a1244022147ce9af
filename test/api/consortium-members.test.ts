/**
 * A consortium's members list through the real service and the mock COUNTER server's `/members`
 * (COUNTER 5.0 and 5.1 answers of test/fixtures/members/): one provider per member, kept in step on
 * later runs (new added, gone deactivated, nothing deleted), credentials inherited and encrypted.
 * PGlite and PostgreSQL.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startMockCounterServer, type MockCounterServer } from '../../mock/counter-server.ts';
import type { RunningService } from '../../src/server.ts';
import { backends, call } from '../helpers/service.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'members');
const members = (file: string): Record<string, unknown>[] =>
  JSON.parse(readFileSync(join(FIXTURES, file), 'utf8')) as Record<string, unknown>[];
const API_KEY = 'CONSORTIUM-apikey-secret-8080';

let mock: MockCounterServer;
before(async () => {
  mock = await startMockCounterServer();
});
after(async () => {
  await mock?.close();
});

function parent(label: string, type: 'cs50' | 'cs51', url: string): Record<string, unknown> {
  return {
    label,
    status: 'active',
    harvestingConfig: {
      harvestingStatus: 'active',
      harvestVia: 'sushi',
      sushiConfig: { serviceType: type, serviceUrl: url },
      reportRelease: type === 'cs51' ? '5.1' : '5',
      requestedReports: ['TR'],
      harvestingStart: '2024-01',
    },
    sushiCredentials: { customerId: 'CONS-0001', apiKey: API_KEY, requestorId: 'REQ-CONS' },
  };
}

async function membersOf(svc: RunningService, parentId: string): Promise<Record<string, any>[]> {
  const page = await svc.store.findProviders(
    'diku',
    `harvestingConfig.consortium.parentId=="${parentId}" sortby label`,
    0,
    100,
  );
  return page.records as Record<string, any>[];
}

for (const backend of backends()) {
  describe(`consortium members on ${backend.name}`, () => {
    let svc: RunningService;
    before(async () => {
      svc = await backend.start();
    });
    after(async () => {
      await svc?.close();
    });

    it('makes one provider per member of a 5.1 list, with the parent’s connection and credentials', async () => {
      const key = `ok-cons51${backend.name}`;
      mock.members.set(key, members('members-r51.json'));
      const made = await call(svc, 'POST', '/usage-data-providers', {
        body: parent('North Consortium', 'cs51', `${mock.url}/${key}`),
      });
      const id = made.json.id;
      const res = await call(svc, 'POST', `/usage-data-providers/${id}/members/sync`);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.members, 4);
      assert.deepEqual(
        res.json.created.map((c: any) => c.customerId),
        ['M-1001', 'M-1002', 'M-1003'],
      );
      assert.ok(!res.text.includes(API_KEY));
      const request = mock.requestsFor(key).find((r) => r.path === '/r51/members')!;
      assert.equal(request.query.customer_id, 'CONS-0001');
      assert.equal(request.query.api_key, API_KEY);

      const list = await membersOf(svc, id);
      assert.deepEqual(
        list.map((p) => p.label),
        [
          'Example College (North Consortium)',
          'Example Institute of Technology (North Consortium)',
          'Example University Library (North Consortium)',
        ],
      );
      const college = list.find((p) => p.sushiCredentials.customerId === 'M-1002')!;
      assert.equal(college.sushiCredentials.requestorId, 'REQ-M-1002');
      assert.equal(college.sushiCredentials.apiKey, API_KEY);
      assert.equal(college.harvestingConfig.sushiConfig.serviceUrl, `${mock.url}/${key}`);
      assert.equal(college.harvestingConfig.consortium.parentId, id);
      const answer = await call(svc, 'GET', `/usage-data-providers/${college.id}`);
      assert.equal(answer.json.sushiCredentials.apiKey, '********');

      // Nothing changed: a second run does nothing.
      const again = await call(svc, 'POST', `/usage-data-providers/${id}/members/sync`);
      assert.deepEqual([again.json.created, again.json.updated, again.json.deactivated], [[], [], []]);
      assert.equal(again.json.unchanged, 3);

      // M-1003 left, M-1004 joined: one added, one deactivated, none deleted.
      const next = members('members-r51.json').filter((m) => m.Customer_ID !== 'M-1003');
      next.push({ Customer_ID: 'M-1004', Institution_Name: 'Example Art School' });
      mock.members.set(key, next);
      const dry = await call(svc, 'POST', `/usage-data-providers/${id}/members/sync`, {
        body: { apply: false },
      });
      assert.equal(dry.json.applied, false);
      assert.deepEqual(
        dry.json.created.map((c: any) => c.customerId),
        ['M-1004'],
      );
      assert.equal((await membersOf(svc, id)).length, 3, 'a dry run changes nothing');
      const step = await call(svc, 'POST', `/usage-data-providers/${id}/members/sync`);
      assert.deepEqual(
        step.json.created.map((c: any) => c.customerId),
        ['M-1004'],
      );
      assert.deepEqual(
        step.json.deactivated.map((c: any) => c.customerId),
        ['M-1003'],
      );
      const after = await membersOf(svc, id);
      assert.equal(after.length, 4);
      const gone = after.find((p) => p.sushiCredentials.customerId === 'M-1003')!;
      assert.equal(gone.status, 'inactive');
      assert.equal(gone.harvestingConfig.harvestingStatus, 'inactive');
      assert.equal(gone.harvestingConfig.consortium.gone, true);
    });

    it('reads a 5.0 members list the same way', async () => {
      const key = `ok-cons50${backend.name}`;
      mock.members.set(key, members('members-r50.json'));
      const made = await call(svc, 'POST', '/usage-data-providers', {
        body: parent('South Consortium', 'cs50', `${mock.url}/${key}`),
      });
      const res = await call(svc, 'POST', `/usage-data-providers/${made.json.id}/members/sync`);
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(
        res.json.created.map((c: any) => c.label),
        [
          'Example University Library (South Consortium)',
          'Example College (South Consortium)',
          'Example Institute of Technology (South Consortium)',
        ],
      );
      assert.ok(mock.requestsFor(key).some((r) => r.path === '/members'));
    });

    it('answers a members list refused by the provider, or a provider without one, clearly', async () => {
      const refused = await call(svc, 'POST', '/usage-data-providers', {
        body: parent('Refusing', 'cs51', `${mock.url}/badcreds-${backend.name}`),
      });
      const res = await call(svc, 'POST', `/usage-data-providers/${refused.json.id}/members/sync`);
      assert.equal(res.status, 502, res.text);
      assert.match(res.text, /members list/);
      assert.ok(!res.text.includes(API_KEY));
      const old = parent('COUNTER 4', 'cs51', 'https://example.org/sushi');
      (old.harvestingConfig as any).sushiConfig.serviceType = 'cs41';
      (old.harvestingConfig as any).reportRelease = '4';
      (old.harvestingConfig as any).requestedReports = ['JR1'];
      const r4 = await call(svc, 'POST', '/usage-data-providers', { body: old });
      const unsupported = await call(svc, 'POST', `/usage-data-providers/${r4.json.id}/members/sync`);
      assert.equal(unsupported.status, 422);
      assert.match(unsupported.text, /Only COUNTER 5 providers/);
      const unknown = await call(
        svc,
        'POST',
        '/usage-data-providers/00000000-0000-4000-8000-000000000000/members/sync',
      );
      assert.equal(unknown.status, 404);
    });
  });
}
