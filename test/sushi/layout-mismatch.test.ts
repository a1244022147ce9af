/**
 * A provider configured for one release that answers in the other layout: through the real cs51 and
 * cs50 endpoints (HTTP on 127.0.0.1), the answer's usage arrives in the months, the data names the
 * release it is in, and an answer whose items no layout can read is a failure whose reason says so.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { MonthStream, SplitReport } from '../../src/counter/index.ts';
import { cs50 } from '../../src/sushi/cs50.ts';
import { cs51 } from '../../src/sushi/cs51.ts';
import { closeDispatchers } from '../../src/sushi/transport.ts';
import type { ServiceImplementation } from '../../src/sushi/types.ts';
import { header50, monthSums, sumUsage } from '../helpers/counter.ts';
import { assertFailure, fixture, provider, reply, startStub, TRANSPORT } from '../helpers/sushi.ts';

after(closeDispatchers);

async function fetchFrom(impl: ServiceImplementation, type: string, body: string, reportName: string) {
  const stub = await startStub((_req, res) => reply(res, 200, body, { 'content-type': 'application/json' }));
  try {
    const endpoint = impl.create(provider(type, `${stub.url}/sushi`), undefined, TRANSPORT, {});
    return await endpoint.fetchReport({ reportName, beginDate: '2016-01-01', endDate: '2016-03-31' });
  } finally {
    await stub.close();
  }
}

async function monthsOf(data: SplitReport): Promise<MonthStream[]> {
  const list: MonthStream[] = [];
  for await (const month of data.monthStreams()) list.push(month);
  return list;
}

void describe('layout mismatch through the endpoints', () => {
  void it('cs51 (configured 5.1) answered with a 5.0 TR: every month carries the usage of the answer', async () => {
    const text = fixture('r50/Sample-TR.json');
    const result = await fetchFrom(cs51, 'cs51', text, 'TR');
    assert.equal(result.kind, 'data', JSON.stringify(result));
    if (result.kind !== 'data') return;
    const data = result.data as SplitReport;
    assert.equal(data.release, '5.1');
    assert.equal(data.detectedRelease, '5');
    assert.equal(data.releaseDiffers, true);
    const sums = sumUsage(JSON.parse(text));
    const months = await monthsOf(data);
    assert.deepEqual(
      months.map((m) => m.yearMonth),
      ['2016-01', '2016-02', '2016-03'],
    );
    for (const month of months) {
      assert.ok(month.itemCount > 0, month.yearMonth);
      assert.deepEqual(
        Object.fromEntries(Object.entries(month.totals).sort(([a], [b]) => a.localeCompare(b))),
        monthSums(sums, month.yearMonth),
      );
      assert.ok(month.diagnostics.some((d) => d.code === 'release_differs'));
    }
  });

  void it('cs50 (configured 5) answered with a 5.1 TR: the same', async () => {
    const text = fixture('r51/TR_sample_r51.json');
    const result = await fetchFrom(cs50, 'cs50', text, 'TR');
    assert.equal(result.kind, 'data');
    if (result.kind !== 'data') return;
    const data = result.data as SplitReport;
    assert.equal(data.detectedRelease, '5.1');
    const months = await monthsOf(data);
    assert.equal(months.length, 12);
    for (const month of months) assert.ok(month.itemCount > 0 && Object.keys(month.totals).length > 0);
  });

  void it('items no layout can read: a failure whose reason names the mismatch, no months stored', async () => {
    const body = JSON.stringify({
      Report_Header: header50('TR', '2016-01-01', '2016-03-31'),
      Report_Items: [{ Title: 'A', Stats: { Requests: { '2016-01': 4 } } }],
    });
    const failure = assertFailure(await fetchFrom(cs51, 'cs51', body, 'TR'));
    assert.equal(failure.cause, 'invalid');
    assert.match(
      failure.reason,
      /^Report not valid: configured release 5\.1 \(the header says "5"\), but the items use neither layout: item 0 has members Title, Stats/,
    );
  });
});
