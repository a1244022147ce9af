/** The mock's rate-limiting providers (mock/pace.ts) and report-list answers (mock/offers.ts). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startMockCounterServer, type MockCounterServer } from '../../mock/counter-server.ts';

const QUERY = '?customer_id=c&begin_date=2022-01-01&end_date=2022-01-31';

describe('mock: rate limits and report lists', () => {
  let server: MockCounterServer;
  const get = (path: string) => fetch(`${server.url}/${path}`);

  before(async () => {
    server = await startMockCounterServer();
  });
  after(async () => {
    await server.close();
  });

  it('alternate: 429 + 1020 + Retry-After, then data, in turn; the record says until when', async () => {
    const first = await get(`alternate:2-t/r51/reports/pr${QUERY}`);
    assert.equal(first.status, 429);
    assert.equal(first.headers.get('retry-after'), '2');
    assert.equal((await first.json()).Code, 1020);
    assert.equal((await get(`alternate:2-t/r51/reports/pr${QUERY}`)).status, 200);
    assert.equal((await get(`alternate:2-t/r51/reports/pr${QUERY}`)).status, 429);
    const [limited] = server.requestsFor('alternate:2-t');
    assert.ok(Math.abs(limited.notBefore! - limited.startedAt - 2000) < 50);
    const dated = await get(`alternate:1:date-t/r51/reports/pr${QUERY}`);
    const at = Date.parse(dated.headers.get('retry-after') ?? '');
    assert.ok(at >= Date.now() && at <= Date.now() + 2000, 'an HTTP date about a second ahead');
    assert.equal(server.requestsFor('alternate:1:date-t')[0].notBefore, at);
  });

  it('bucket: N requests, then 429 with the seconds to the next token; with 1020: a 200 header exception', async () => {
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await get(`bucket:2:60-t/r51/reports/tr${QUERY}`)).status);
    assert.deepEqual(statuses, [200, 200, 429]);
    const limited = await get(`bucket:2:60-t/reports/tr${QUERY}`);
    assert.ok(Number(limited.headers.get('retry-after')) >= 29, 'a token every 30 s');
    await get(`bucket:1:60:1020-t/r51/reports/tr${QUERY}`);
    const header = await get(`bucket:1:60:1020-t/r51/reports/tr${QUERY}`);
    assert.equal(header.status, 200);
    assert.equal(header.headers.get('retry-after'), null);
    assert.equal((await header.json()).Report_Header.Exceptions[0].Code, 1020);
  });

  it('only429: always 429; status and report list answer normally', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await get(`only429:0-t/r51/reports/dr${QUERY}`)).status, 429);
    assert.equal((await get('only429-t/r51/reports?customer_id=c')).status, 200);
  });

  it('offers: the list names only the given reports; others are 404 + 3000', async () => {
    const list = await (await get('offers:pr:TR_J1-t/r51/reports?customer_id=c')).json();
    assert.deepEqual(
      list.map((r: { Report_ID: string }) => r.Report_ID),
      ['PR', 'TR_J1'],
    );
    const other = await get(`offers:pr-t/r51/reports/tr${QUERY}`);
    assert.equal(other.status, 404);
    assert.equal((await other.json()).Code, 3000);
    assert.equal((await get(`offers:pr-t/r51/reports/pr${QUERY}`)).status, 200);
  });

  it('nolist: /reports and /status are 404 + 3000; reports are served', async () => {
    assert.equal((await get('nolist-t/r51/reports?customer_id=c')).status, 404);
    assert.equal((await get('nolist-t/r51/status')).status, 404);
    assert.equal((await get(`nolist-t/r51/reports/pr${QUERY}`)).status, 200);
  });
});
