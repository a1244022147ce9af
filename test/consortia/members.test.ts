import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { membersRequest, MembersError, parseMembers } from '../../src/consortia/index.ts';
import type { UsageDataProvider } from '../../src/model/records.ts';
import { startMockCounterServer, type MockCounterServer } from '../../mock/counter-server.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'members');
const fixture = (name: string): unknown => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8'));

function failure(fn: () => unknown): MembersError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof MembersError, `expected MembersError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected an error');
}

describe('reading a /members answer', () => {
  it('reads a COUNTER 5.0 list: customer and requestor ids, names, notes, institution ids', () => {
    const { members, warnings } = parseMembers(fixture('members-r50.json'));
    assert.deepEqual(warnings, []);
    assert.deepEqual(members, [
      {
        customerId: 'CONS-0001',
        name: 'North Library Consortium',
        notes: 'The consortium account itself.',
        institutionIds: [],
      },
      {
        customerId: 'M-1001',
        name: 'Example University Library',
        institutionIds: [
          { type: 'ISNI', value: '0000 0001 2345 6789' },
          { type: 'Proprietary', value: 'example:u-1001' },
        ],
      },
      {
        customerId: 'M-1002',
        requestorId: 'REQ-M-1002',
        name: 'Example College',
        notes: 'Usage of content licensed by the consortium.',
        institutionIds: [],
      },
      {
        customerId: 'M-1003',
        name: 'Example Institute of Technology',
        institutionIds: [{ type: 'ISIL', value: 'DE-9999' }],
      },
    ]);
  });

  it('reads a COUNTER 5.1 list (Institution_Name, identifiers by type) into the same members', () => {
    const r50 = parseMembers(fixture('members-r50.json')).members;
    const { members, warnings } = parseMembers(fixture('members-r51.json'));
    assert.deepEqual(warnings, []);
    const essentials = (list: typeof members) =>
      list.map((m) => [m.customerId, m.requestorId, m.name, m.notes]);
    assert.deepEqual(essentials(members), essentials(r50));
    assert.deepEqual(members[1].institutionIds, [
      { type: 'ISNI', value: '0000000123456789' },
      { type: 'Proprietary', value: 'example:u-1001' },
    ]);
    assert.deepEqual(members[3].institutionIds, [
      { type: 'ISIL', value: 'DE-9999' },
      { type: 'ROR', value: '05abcde12' },
    ]);
  });

  it('takes the answer as text too, with or without a byte order mark', () => {
    const text = readFileSync(join(FIXTURES, 'members-r51.json'), 'utf8');
    assert.equal(parseMembers(`\uFEFF${text}`).members.length, 4);
  });

  it('is tolerant of key spelling, numeric ids and missing names, and says what it repaired or left out', () => {
    const { members, warnings } = parseMembers([
      { customer_id: 42, institution_name: 'Lower Case Library' },
      { Customer_ID: 'M-2', Requestor_ID: '' },
      { Customer_ID: '42', Name: 'Repeated' },
      { Name: 'No id' },
      'not an object',
    ]);
    assert.deepEqual(
      members.map((m) => [m.customerId, m.name, m.requestorId]),
      [
        ['42', 'Lower Case Library', undefined],
        ['M-2', 'M-2', undefined],
      ],
    );
    assert.deepEqual(warnings, [
      'item 2 (Customer_ID M-2) has no name; its customer id is used',
      'item 3 repeats Customer_ID 42; left out',
      'item 4 has no Customer_ID; left out',
      'item 5 is not an object; left out',
    ]);
  });

  it('turns an exception answer into an error with the exception, keeping credentials out of the message', () => {
    const e = failure(() => parseMembers(fixture('exception-2010-r51.json')));
    assert.equal(e.code, 'MEMBERS_EXCEPTION');
    assert.equal(e.exceptions[0].code, 2010);
    assert.match(e.message, /exception 2010 \(Requestor is Not Authorized to Access Usage for Institution\)/);

    const echoing = { Code: 2020, Message: 'API key KEY-secret-4711 is invalid' };
    const redacted = failure(() => parseMembers([echoing], { secrets: ['KEY-secret-4711'] }));
    assert.equal(redacted.code, 'MEMBERS_EXCEPTION');
    assert.ok(!redacted.message.includes('KEY-secret-4711'), redacted.message);
  });

  it('refuses answers that are not a members list', () => {
    assert.equal(failure(() => parseMembers('<html>login</html>')).code, 'MEMBERS_INVALID');
    assert.equal(failure(() => parseMembers({ Report_Header: {} })).code, 'MEMBERS_INVALID');
  });
});

describe('the /members request', () => {
  const provider = (type: string, url: string): UsageDataProvider => ({
    id: 'p1',
    label: 'Consortium',
    harvestingConfig: { harvestingStatus: 'active', sushiConfig: { serviceType: type, serviceUrl: url } },
    sushiCredentials: { customerId: 'CONS 1', requestorId: 'REQ-1', apiKey: 'KEY|1', platform: 'ejo' },
  });

  it('uses the base URL of the release and sends the credentials that are set', () => {
    const r51 = membersRequest(provider('cs51', 'https://sushi.example.org/counter/'));
    assert.equal(
      r51.url,
      'https://sushi.example.org/counter/r51/members?customer_id=CONS%201&requestor_id=REQ-1&api_key=KEY%7C1&platform=ejo',
    );
    assert.deepEqual(r51.secrets, ['KEY|1', 'REQ-1']);
    const r50 = membersRequest(provider('cs50', 'https://sushi.example.org/counter/r5/reports/'));
    assert.match(r50.url, /^https:\/\/sushi\.example\.org\/counter\/r5\/members\?customer_id=/);
  });

  it('exists only for COUNTER 5 providers', () => {
    assert.equal(
      failure(() => membersRequest(provider('NSS', 'https://nss.example/'))).code,
      'MEMBERS_UNSUPPORTED',
    );
    assert.equal(failure(() => membersRequest(provider('cs51', 'not a url'))).code, 'MEMBERS_UNSUPPORTED');
  });
});

describe('members from the mock COUNTER server', () => {
  let mock: MockCounterServer;
  before(async () => {
    mock = await startMockCounterServer();
  });
  after(() => mock.close());

  const provider = (key: string, type: 'cs50' | 'cs51'): UsageDataProvider => ({
    id: 'p1',
    label: 'Consortium',
    harvestingConfig: {
      harvestingStatus: 'active',
      sushiConfig: { serviceType: type, serviceUrl: `${mock.url}/${key}` },
    },
    sushiCredentials: { customerId: 'cust1', requestorId: 'req1' },
  });

  for (const type of ['cs50', 'cs51'] as const) {
    it(`reads the ${type} answer`, async () => {
      const response = await request(membersRequest(provider('ok', type)).url);
      const { members } = parseMembers(await response.body.text());
      assert.deepEqual(
        members.map((m) => [m.customerId, m.name]),
        [['cust1', 'Mock Institution']],
      );
    });
  }

  it('reports refused credentials as the exception', async () => {
    const response = await request(membersRequest(provider('badcreds', 'cs51')).url);
    assert.equal(response.statusCode, 401);
    const body = JSON.parse(await response.body.text());
    const e = failure(() => parseMembers(body));
    assert.equal(e.exceptions[0].code, 2010);
  });
});
