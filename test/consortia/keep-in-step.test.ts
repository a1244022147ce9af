import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  consortiumLinkOf,
  keepMembersInStep,
  parseMembers,
  type ConsortiumMember,
  type KeepInStepResult,
} from '../../src/consortia/index.ts';
import type { UsageDataProvider } from '../../src/model/records.ts';
import { checkProvider } from '../../src/erm/record-checks.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'members');
const membersOf = (file: string): ConsortiumMember[] =>
  parseMembers(JSON.parse(readFileSync(join(FIXTURES, file), 'utf8'))).members;
const r50 = () => membersOf('members-r50.json');
const r51 = () => membersOf('members-r51.json');

const PARENT_ID = '0c0c0c0c-0000-4000-8000-000000000001';

function parent(): UsageDataProvider {
  return {
    id: PARENT_ID,
    label: 'North Consortium at EJO',
    status: 'active',
    harvestingConfig: {
      harvestingStatus: 'active',
      harvestVia: 'sushi',
      sushiConfig: { serviceType: 'cs51', serviceUrl: 'https://sushi.example-journals.org/counter/r51' },
      reportRelease: '5.1',
      requestedReports: ['TR', 'PR'],
      harvestingStart: '2025-01',
      registry: { platformId: 'pl-1', serviceId: 'sv-1', release: '5.1', requires: { customerId: true } },
    },
    sushiCredentials: {
      customerId: 'CONS-0001',
      requestorId: 'REQ-CONS',
      apiKey: 'KEY-CONS',
      platform: 'ejo',
    },
  };
}

let nextId = 1;
/** Stores the created records, as the caller would: they get ids. */
function stored(result: KeepInStepResult): UsageDataProvider[] {
  return result.create.map((p) => ({
    ...p,
    id: `1d1d1d1d-0000-4000-8000-${String(nextId++).padStart(12, '0')}`,
  }));
}

function byCustomer(providers: UsageDataProvider[], customerId: string): UsageDataProvider {
  return providers.find((p) => consortiumLinkOf(p)?.customerId === customerId)!;
}

function replace(
  providers: UsageDataProvider[],
  updates: { provider: UsageDataProvider }[],
): UsageDataProvider[] {
  const byId = new Map(updates.map((u) => [u.provider.id, u.provider]));
  return providers.map((p) => byId.get(p.id) ?? p);
}

describe('member providers from the members list', () => {
  it("creates one provider per member (not the consortium itself) that harvests with the parent's connection", () => {
    const result = keepMembersInStep(parent(), r51(), []);
    assert.deepEqual([result.update, result.deactivate, result.unchanged, result.warnings], [[], [], [], []]);
    assert.deepEqual(
      result.create.map((p) => p.label),
      [
        'Example University Library (North Consortium at EJO)',
        'Example College (North Consortium at EJO)',
        'Example Institute of Technology (North Consortium at EJO)',
      ],
    );
    const college = result.create[1];
    assert.deepEqual(college, {
      label: 'Example College (North Consortium at EJO)',
      status: 'active',
      harvestingConfig: {
        harvestingStatus: 'active',
        requestedReports: ['TR', 'PR'],
        harvestingStart: '2025-01',
        consortium: { parentId: PARENT_ID, customerId: 'M-1002', name: 'Example College' },
        harvestVia: 'sushi',
        sushiConfig: { serviceType: 'cs51', serviceUrl: 'https://sushi.example-journals.org/counter/r51' },
        reportRelease: '5.1',
        registry: parent().harvestingConfig!.registry,
      },
      sushiCredentials: {
        customerId: 'M-1002',
        requestorId: 'REQ-M-1002',
        apiKey: 'KEY-CONS',
        platform: 'ejo',
      },
      notes: 'Usage of content licensed by the consortium.',
    });
    assert.equal(
      result.create[0].sushiCredentials!.requestorId,
      'REQ-CONS',
      "the parent's requestor id by default",
    );
    for (const p of result.create) checkProvider(p);
  });

  it('gives the same providers for a 5.0 and a 5.1 answer of the same consortium', () => {
    assert.deepEqual(
      keepMembersInStep(parent(), r50(), []).create,
      keepMembersInStep(parent(), r51(), []).create,
    );
  });

  it('changes nothing when the list is as before', () => {
    const current = stored(keepMembersInStep(parent(), r51(), []));
    const again = keepMembersInStep(parent(), r51(), current);
    assert.deepEqual([again.create, again.update, again.deactivate], [[], [], []]);
    assert.equal(again.unchanged.length, 3);
  });

  it('creates a provider for a member that was added', () => {
    const current = stored(keepMembersInStep(parent(), r51(), []));
    const added = [...r51(), { customerId: 'M-1004', name: 'New Member Academy', institutionIds: [] }];
    const result = keepMembersInStep(parent(), added, current);
    assert.deepEqual(
      result.create.map((p) => p.sushiCredentials!.customerId),
      ['M-1004'],
    );
    assert.deepEqual([result.update, result.deactivate], [[], []]);
  });

  it('deactivates (never deletes) the provider of a member that is gone, once, and reactivates it when it is back', () => {
    let current = stored(keepMembersInStep(parent(), r51(), []));
    const without = r51().filter((m) => m.customerId !== 'M-1003');
    const gone = keepMembersInStep(parent(), without, current);
    assert.equal(gone.deactivate.length, 1);
    const deactivated = gone.deactivate[0].provider;
    assert.equal(deactivated.id, byCustomer(current, 'M-1003').id);
    assert.equal(deactivated.status, 'inactive');
    assert.equal(deactivated.harvestingConfig!.harvestingStatus, 'inactive');
    assert.equal(consortiumLinkOf(deactivated)!.gone, true);
    assert.equal(deactivated.sushiCredentials!.customerId, 'M-1003', 'kept as it was');
    checkProvider(deactivated);
    current = replace(current, gone.deactivate);

    const stillGone = keepMembersInStep(parent(), without, current);
    assert.deepEqual([stillGone.deactivate, stillGone.update, stillGone.create], [[], [], []]);

    const back = keepMembersInStep(parent(), r51(), current);
    assert.equal(back.update.length, 1);
    const reactivated = back.update[0];
    assert.equal(reactivated.provider.status, 'active');
    assert.equal(reactivated.provider.harvestingConfig!.harvestingStatus, 'active');
    assert.equal(consortiumLinkOf(reactivated.provider)!.gone, undefined);
    assert.deepEqual(reactivated.changes, ['status', 'harvestingConfig.harvestingStatus']);
  });

  it('follows a renamed member, relabelling only a label that was never edited', () => {
    let current = stored(keepMembersInStep(parent(), r51(), []));
    const edited = byCustomer(current, 'M-1002');
    current = current.map((p) => (p.id === edited.id ? { ...p, label: 'College (our name)' } : p));
    const renamed = r51().map((m) =>
      m.customerId === 'M-1001' || m.customerId === 'M-1002' ? { ...m, name: `${m.name} (renamed)` } : m,
    );
    const result = keepMembersInStep(parent(), renamed, current);
    const labels = result.update.map((u) => [
      u.provider.label,
      consortiumLinkOf(u.provider)!.name,
      u.changes,
    ]);
    assert.deepEqual(labels, [
      [
        'Example University Library (renamed) (North Consortium at EJO)',
        'Example University Library (renamed)',
        ['label', 'harvestingConfig.consortium.name'],
      ],
      ['College (our name)', 'Example College (renamed)', ['harvestingConfig.consortium.name']],
    ]);
  });

  it("passes changes of the parent's connection on to every member; a member's own requestor id stays", () => {
    const current = stored(keepMembersInStep(parent(), r51(), []));
    const changed = parent();
    changed.sushiCredentials!.apiKey = 'KEY-NEW';
    changed.sushiCredentials!.requestorId = 'REQ-NEW';
    changed.harvestingConfig!.sushiConfig!.serviceUrl = 'https://counter.example-journals.org/r51';
    changed.harvestingConfig!.requestedReports = ['TR'];
    const result = keepMembersInStep(changed, r51(), current);
    assert.equal(result.update.length, 3);
    const college = result.update.find((u) => u.provider.sushiCredentials!.customerId === 'M-1002')!;
    assert.deepEqual(college.changes, ['harvestingConfig.sushiConfig', 'sushiCredentials.apiKey']);
    assert.equal(college.provider.sushiCredentials!.requestorId, 'REQ-M-1002');
    const university = result.update.find((u) => u.provider.sushiCredentials!.customerId === 'M-1001')!;
    assert.deepEqual(university.changes, [
      'harvestingConfig.sushiConfig',
      'sushiCredentials.requestorId',
      'sushiCredentials.apiKey',
    ]);
    assert.equal(university.provider.sushiCredentials!.apiKey, 'KEY-NEW');
    assert.equal(
      university.provider.harvestingConfig!.sushiConfig!.serviceUrl,
      'https://counter.example-journals.org/r51',
    );
    assert.deepEqual(
      university.provider.harvestingConfig!.requestedReports,
      ['TR', 'PR'],
      "the member's report choice stays",
    );

    const ownIdDropped = r51().map((m) => (m.customerId === 'M-1002' ? { ...m, requestorId: undefined } : m));
    const dropped = keepMembersInStep(parent(), ownIdDropped, current);
    assert.deepEqual(
      dropped.update.map((u) => [u.provider.sushiCredentials!.requestorId, u.changes]),
      [['REQ-CONS', ['sushiCredentials.requestorId']]],
    );
  });

  it('leaves a member provider deactivated by hand inactive', () => {
    const current = stored(keepMembersInStep(parent(), r51(), [])).map((p) =>
      consortiumLinkOf(p)!.customerId === 'M-1001'
        ? {
            ...p,
            status: 'inactive',
            harvestingConfig: { ...p.harvestingConfig, harvestingStatus: 'inactive' },
          }
        : p,
    );
    const result = keepMembersInStep(parent(), r51(), current);
    assert.deepEqual([result.create, result.update, result.deactivate], [[], [], []]);
  });

  it('deactivates nothing when the list names no member besides the consortium itself', () => {
    const current = stored(keepMembersInStep(parent(), r51(), []));
    for (const members of [[], r51().filter((m) => m.customerId === 'CONS-0001')]) {
      const result = keepMembersInStep(parent(), members, current);
      assert.deepEqual([result.create, result.update, result.deactivate], [[], [], []]);
      assert.equal(result.unchanged.length, 3);
      assert.match(result.warnings[0], /names no member besides North Consortium at EJO itself/);
    }
  });

  it("ignores other parents' members and warns about two providers for one member", () => {
    const current = stored(keepMembersInStep(parent(), r51(), []));
    const other = {
      ...current[0],
      id: 'other-parent-member',
      harvestingConfig: {
        ...current[0].harvestingConfig,
        consortium: { parentId: 'someone-else', customerId: 'M-9', name: 'x' },
      },
    };
    const twin = { ...current[1], id: 'twin' };
    const result = keepMembersInStep(parent(), r51(), [...current, other, twin]);
    assert.deepEqual([result.create, result.update, result.deactivate], [[], [], []]);
    assert.deepEqual(result.warnings, [
      `providers ${current[1].id} and twin are both member M-1002; only the first is kept in step`,
    ]);
  });
});
