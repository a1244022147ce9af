/** Tests of the mock COUNTER server: every scenario, the `ok` cut, the huge stream, in-flight counting, R4. */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { SaxesParser } from 'saxes';
import { sumUsage } from '../helpers/counter.ts';
import {
  counter4Items,
  hugeReportPlan,
  MOCK_REPORT_IDS,
  okExpectedSums,
  startMockCounterServer,
  type MockCounterServer,
} from '../../mock/counter-server.ts';
import { hugeItem } from '../../mock/huge.ts';
import { loadSample } from '../../mock/samples.ts';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text: string;
  /** Set when the connection failed before the response ended. */
  error?: Error;
}

/** One HTTP request with node:http (no redirects followed, errors mid-body reported, not thrown). */
function send(
  url: string,
  options: { method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: options.method ?? 'GET', headers: options.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        const done = (error?: Error): void => {
          const body = Buffer.concat(chunks);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            text: body.toString('utf8'),
            error,
          });
        };
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => done());
        res.on('error', (error) => done(error));
        res.on('aborted', () => done(new Error('aborted')));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

function json(answer: Answer): any {
  return JSON.parse(answer.text);
}

const Q = 'customer_id=cust1&requestor_id=req1';

function reportUrl(
  server: MockCounterServer,
  key: string,
  release: '5' | '5.1',
  id: string,
  begin: string,
  end: string,
): string {
  const prefix = release === '5.1' ? '/r51' : '';
  return `${server.url}/${key}${prefix}/reports/${id}?${Q}&begin_date=${begin}&end_date=${end}`;
}

/** month → metric → count as plain objects, for deepEqual. */
function plain(sums: Map<string, Map<string, number>>): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const [month, metrics] of [...sums].sort(([a], [b]) => a.localeCompare(b))) {
    out[month] = Object.fromEntries([...metrics].sort(([a], [b]) => a.localeCompare(b)));
  }
  return out;
}

function headerCodes(body: any): number[] {
  return (body.Report_Header?.Exceptions ?? []).map((e: any) => Number(e.Code));
}

function headerDates(header: any): [string, string] {
  const filters = header.Report_Filters;
  if (Array.isArray(filters)) {
    return [
      filters.find((f: any) => f.Name === 'Begin_Date').Value,
      filters.find((f: any) => f.Name === 'End_Date').Value,
    ];
  }
  return [filters.Begin_Date, filters.End_Date];
}

describe('mock COUNTER server', () => {
  let server: MockCounterServer;
  before(async () => {
    server = await startMockCounterServer();
  });
  after(async () => {
    await server.close();
  });

  describe('ok: the official samples cut to the requested months', () => {
    it('serves an R5.1 TR for 2022-01..03 with the sample sums of those months', async () => {
      const answer = await send(reportUrl(server, 'ok', '5.1', 'tr', '2022-01-01', '2022-03-31'));
      assert.equal(answer.status, 200);
      assert.match(String(answer.headers['content-type']), /application\/json/);
      const body = json(answer);
      assert.deepEqual(headerDates(body.Report_Header), ['2022-01-01', '2022-03-31']);
      assert.equal(body.Report_Header.Report_ID, 'TR');
      const served = sumUsage(body.Report_Items);
      const sample = sumUsage(loadSample('5.1', 'tr').Report_Items);
      assert.deepEqual([...served.keys()].sort(), ['2022-01', '2022-02', '2022-03']);
      for (const month of ['2022-01', '2022-02', '2022-03'])
        assert.deepEqual(served.get(month), sample.get(month));
      assert.deepEqual(plain(served), plain(okExpectedSums('5.1', 'tr', '2022-01', '2022-03')));
    });

    it('relabels R5.1 months outside the sample cyclically (2023-11..2024-02 ← 2022-11, 12, 01, 02)', async () => {
      const body = json(await send(reportUrl(server, 'ok', '5.1', 'ir', '2023-11', '2024-02')));
      assert.deepEqual(headerDates(body.Report_Header), ['2023-11-01', '2024-02-29']);
      const served = sumUsage(body.Report_Items);
      const sample = sumUsage(loadSample('5.1', 'ir').Report_Items);
      assert.deepEqual(served.get('2023-11'), sample.get('2022-11'));
      assert.deepEqual(served.get('2023-12'), sample.get('2022-12'));
      assert.deepEqual(served.get('2024-01'), sample.get('2022-01'));
      assert.deepEqual(served.get('2024-02'), sample.get('2022-02'));
      assert.equal(served.size, 4);
      assert.deepEqual(plain(served), plain(okExpectedSums('5.1', 'ir', '2023-11', '2024-02')));
    });

    it('serves an R5.0 DR for 2016-02..05: 02 and 03 verbatim, 04 ← 01, 05 ← 02, with full-date periods', async () => {
      const body = json(await send(reportUrl(server, 'ok', '5', 'dr', '2016-02', '2016-05')));
      assert.deepEqual(headerDates(body.Report_Header), ['2016-02-01', '2016-05-31']);
      const served = sumUsage(body.Report_Items);
      const sample = sumUsage(loadSample('5', 'dr').Report_Items);
      assert.deepEqual(served.get('2016-02'), sample.get('2016-02'));
      assert.deepEqual(served.get('2016-03'), sample.get('2016-03'));
      assert.deepEqual(served.get('2016-04'), sample.get('2016-01'));
      assert.deepEqual(served.get('2016-05'), sample.get('2016-02'));
      assert.deepEqual(plain(served), plain(okExpectedSums('5', 'dr', '2016-02', '2016-05')));
      const periods = body.Report_Items.flatMap((item: any) => item.Performance.map((p: any) => p.Period));
      assert.ok(periods.some((p: any) => p.Begin_Date === '2016-04-01' && p.End_Date === '2016-04-30'));
    });

    it('keeps only the requested month of an R5.0 TR and drops items without usage in it', async () => {
      const body = json(await send(reportUrl(server, 'ok', '5', 'tr', '2016-01', '2016-01')));
      const sample = loadSample('5', 'tr');
      assert.ok(body.Report_Items.length > 0);
      assert.ok(body.Report_Items.length <= sample.Report_Items.length);
      for (const item of body.Report_Items) {
        assert.ok(item.Performance.length > 0);
        for (const p of item.Performance) assert.equal(p.Period.Begin_Date, '2016-01-01');
      }
    });

    for (const release of ['5', '5.1'] as const) {
      it(`answers all 16 report ids of release ${release}, case-insensitively`, async () => {
        for (const id of MOCK_REPORT_IDS) {
          const begin = release === '5.1' ? '2022-01' : '2016-01';
          const end = release === '5.1' ? '2022-12' : '2016-03';
          const answer = await send(reportUrl(server, 'ok', release, id.toUpperCase(), begin, end));
          assert.equal(answer.status, 200, id);
          const body = json(answer);
          assert.equal(body.Report_Header.Report_ID, id.toUpperCase());
          assert.equal(body.Report_Header.Release, release);
          assert.deepEqual(
            body.Report_Items,
            loadSample(release, id).Report_Items,
            `${id} over the sample's range is verbatim`,
          );
        }
      });
    }

    it('answers an unknown report id with 404 and exception 3000', async () => {
      const answer = await send(reportUrl(server, 'ok', '5.1', 'xy_99', '2022-01', '2022-01'));
      assert.equal(answer.status, 404);
      assert.equal(json(answer).Code, 3000);
    });

    it('answers bad requests with 400 and a COUNTER exception, and unknown paths with 404', async () => {
      const missing = await send(`${server.url}/ok/r51/reports/tr?begin_date=2022-01&end_date=2022-01`);
      assert.equal(missing.status, 400);
      assert.equal(json(missing).Code, 1030);
      const reversed = await send(reportUrl(server, 'ok', '5.1', 'tr', '2022-05', '2022-01'));
      assert.equal(reversed.status, 400);
      assert.equal(json(reversed).Code, 3020);
      const badDate = await send(reportUrl(server, 'ok', '5', 'tr', '2022-02-30', '2022-03'));
      assert.equal(json(badDate).Code, 3020);
      const unknownScenario = await send(reportUrl(server, 'nosuchthing', '5.1', 'tr', '2022-01', '2022-01'));
      assert.equal(unknownScenario.status, 400);
      assert.equal(json(unknownScenario).Code, 1030);
      const unknownPath = await send(`${server.url}/ok/r51/whatever`);
      assert.equal(unknownPath.status, 404);
      assert.equal(json(unknownPath).Code, 3000);
      const post = await send(reportUrl(server, 'ok', '5.1', 'tr', '2022-01', '2022-01'), {
        method: 'POST',
        body: '{',
      });
      assert.equal(post.status, 400);
      const root = await send(`${server.url}/%E0%A4%A/r51/status`);
      assert.equal(root.status, 400);
    });
  });

  describe('status, members and report list', () => {
    it('serves /r51/status, /r51/members and /r51/reports with the availability window', async () => {
      const status = json(await send(`${server.url}/ok/r51/status`));
      assert.equal(status[0].Service_Active, true);
      assert.equal(status[0].Registry_Record, '');
      const members = json(await send(`${server.url}/ok/r51/members?${Q}`));
      assert.deepEqual(members[0].Customer_ID, 'cust1');
      assert.equal(members[0].Institution_Name, 'Mock Institution');
      const list = json(await send(`${server.url}/ok/r51/reports?${Q}`));
      assert.equal(list.length, 16);
      const tr = list.find((r: any) => r.Report_ID === 'TR');
      assert.equal(tr.Release, '5.1');
      assert.equal(tr.Path, '/r51/reports/tr');
      assert.equal(tr.First_Month_Available, '2018-01');
      assert.match(tr.Last_Month_Available, /^\d{4}-\d{2}$/);
    });

    it('serves /status, /members and /reports for R5.0', async () => {
      assert.equal('Registry_URL' in json(await send(`${server.url}/ok/status`))[0], true);
      assert.equal(json(await send(`${server.url}/ok/members?${Q}`))[0].Name, 'Mock Institution');
      const list = json(await send(`${server.url}/ok/reports?${Q}`));
      assert.equal(list.length, 16);
      assert.equal(list[0].Release, '5');
      assert.equal('First_Month_Available' in list[0], false);
    });
  });

  describe('deferral scenarios', () => {
    it('queued:2 answers 202 with 1011 in the header twice per report and dates, then the report', async () => {
      const url = reportUrl(server, 'queued:2-a', '5.1', 'tr', '2022-01', '2022-01');
      for (let i = 0; i < 2; i++) {
        const answer = await send(url);
        assert.equal(answer.status, 202);
        const body = json(answer);
        assert.deepEqual(headerCodes(body), [1011]);
        assert.equal('Report_Items' in body, false);
      }
      const other = await send(reportUrl(server, 'queued:2-a', '5.1', 'tr', '2022-02', '2022-02'));
      assert.equal(other.status, 202, 'other dates have their own count');
      const done = await send(url);
      assert.equal(done.status, 200);
      assert.ok(json(done).Report_Items.length > 0);
      assert.equal(server.requestsFor('queued:2-a').length, 4);
    });

    it('busy:1 answers 503 with a naked 1010 once per endpoint, then ok; busy200 with 200', async () => {
      const first = await send(reportUrl(server, 'busy:1', '5.1', 'pr', '2022-01', '2022-01'));
      assert.equal(first.status, 503);
      assert.equal(json(first).Code, 1010);
      assert.equal('Severity' in json(first), false, 'R5.1 exceptions carry no Severity');
      assert.equal((await send(reportUrl(server, 'busy:1', '5.1', 'dr', '2022-01', '2022-01'))).status, 200);
      const naked = await send(reportUrl(server, 'busy200:1', '5', 'pr', '2016-01', '2016-01'));
      assert.equal(naked.status, 200);
      assert.equal(json(naked).Code, 1010);
      assert.equal(json(naked).Severity, 'Fatal');
      assert.equal((await send(reportUrl(server, 'busy200:1', '5', 'pr', '2016-01', '2016-01'))).status, 200);
    });

    it('unavailable:1 answers 503 with 1000 and reports Service_Active false until then', async () => {
      assert.equal(json(await send(`${server.url}/unavailable:1/r51/status`))[0].Service_Active, false);
      const first = await send(reportUrl(server, 'unavailable:1', '5.1', 'pr', '2022-01', '2022-01'));
      assert.equal(first.status, 503);
      assert.equal(json(first).Code, 1000);
      assert.equal(json(await send(`${server.url}/unavailable:1/r51/status`))[0].Service_Active, true);
      assert.equal(
        (await send(reportUrl(server, 'unavailable:1', '5.1', 'pr', '2022-01', '2022-01'))).status,
        200,
      );
    });

    it('ratelimit:2:3 answers 429 with Retry-After 3 and 1020 twice, then ok', async () => {
      for (let i = 0; i < 2; i++) {
        const answer = await send(reportUrl(server, 'ratelimit:2:3', '5.1', 'pr', '2022-01', '2022-01'));
        assert.equal(answer.status, 429);
        assert.equal(answer.headers['retry-after'], '3');
        assert.equal(json(answer).Code, 1020);
        assert.ok(json(answer).Data);
      }
      assert.equal(
        (await send(reportUrl(server, 'ratelimit:2:3', '5.1', 'pr', '2022-01', '2022-01'))).status,
        200,
      );
      const defaultWait = await send(reportUrl(server, 'ratelimit', '5.1', 'pr', '2022-01', '2022-01'));
      assert.equal(defaultWait.headers['retry-after'], '1');
    });

    it('ratelimit1020:1 answers 200 with 1020 in the header, then ok', async () => {
      const answer = await send(reportUrl(server, 'ratelimit1020:1', '5', 'tr', '2016-01', '2016-01'));
      assert.equal(answer.status, 200);
      assert.deepEqual(headerCodes(json(answer)), [1020]);
      assert.deepEqual(json(answer).Report_Items, []);
      const next = json(await send(reportUrl(server, 'ratelimit1020:1', '5', 'tr', '2016-01', '2016-01')));
      assert.deepEqual(headerCodes(next), []);
    });
  });

  describe('data states', () => {
    const cases: [string, number[], boolean][] = [
      ['nousage', [3030], false],
      ['empty', [], false],
      ['notready', [3031], false],
      ['nolonger', [3032], false],
      ['partial', [3040], true],
      ['warning', [3050, 3062], true],
    ];
    for (const [scenario, codes, hasData] of cases) {
      for (const release of ['5', '5.1'] as const) {
        it(`${scenario} (R${release}) answers 200 with [${codes.join(', ')}] in the header${hasData ? ' and data' : ', no items'}`, async () => {
          const [begin, end] = release === '5.1' ? ['2022-01', '2022-02'] : ['2016-01', '2016-02'];
          const answer = await send(reportUrl(server, scenario, release, 'tr', begin, end));
          assert.equal(answer.status, 200);
          const body = json(answer);
          assert.deepEqual(headerCodes(body), codes);
          assert.equal(body.Report_Items.length > 0, hasData);
          assert.deepEqual(headerDates(body.Report_Header), [
            `${begin}-01`,
            release === '5.1' ? '2022-02-28' : '2016-02-29',
          ]);
          if (codes.length > 0 && scenario !== 'nousage')
            assert.ok(body.Report_Header.Exceptions.every((e: any) => e.Data));
          if (release === '5.1')
            assert.ok(body.Report_Header.Exceptions?.every((e: any) => !('Severity' in e)) ?? true);
          if (hasData)
            assert.deepEqual(
              plain(sumUsage(body.Report_Items)),
              plain(okExpectedSums(release, 'tr', begin, end)),
            );
        });
      }
    }

    it('notready names the requested months in Data', async () => {
      const body = json(await send(reportUrl(server, 'notready', '5.1', 'tr', '2022-01', '2022-02')));
      assert.match(body.Report_Header.Exceptions[0].Data, /2022-01, 2022-02/);
    });
  });

  describe('credentials and exception placements', () => {
    it('badcreds: 401 + 2010; badcreds:2020: 200 + naked string code; badcreds:403: 403 + array of 2000', async () => {
      const plainFailure = await send(reportUrl(server, 'badcreds', '5.1', 'tr', '2022-01', '2022-01'));
      assert.equal(plainFailure.status, 401);
      assert.equal(json(plainFailure).Code, 2010);
      const string = await send(reportUrl(server, 'badcreds:2020', '5.1', 'tr', '2022-01', '2022-01'));
      assert.equal(string.status, 200);
      assert.deepEqual(json(string), { Code: '2020', Severity: 'Error', Message: 'api_key Invalid' });
      const array = await send(reportUrl(server, 'badcreds:403', '5.1', 'tr', '2022-01', '2022-01'));
      assert.equal(array.status, 403);
      assert.equal(json(array)[0].Code, 2000);
      assert.equal((await send(`${server.url}/badcreds/r51/members?${Q}`)).status, 401);
      assert.equal((await send(`${server.url}/badcreds/r51/reports?${Q}`)).status, 401);
      assert.equal((await send(`${server.url}/badcreds/r51/status`)).status, 200);
    });

    it('echo quotes the received credentials raw, URL- and form-encoded and inside a JSON string', async () => {
      const key = 'k+/ "&';
      const url = `${reportUrl(server, 'echo:400', '5.1', 'tr', '2022-01', '2022-01')}&api_key=${encodeURIComponent(key)}&requestor_id=r1`;
      const answer = await send(url);
      assert.equal(answer.status, 400);
      const body = json(answer);
      assert.equal(body.Code, 2020);
      assert.equal(body.Data, `api_key ${key} is not valid for requestor_id r1`);
      assert.equal(body.Echo_Encoded, `${encodeURIComponent(key)} k%2B%2F+%22%26 r1`);
      assert.deepEqual(JSON.parse(body.Echo_Json as string), { received: [key, 'r1'] });
    });

    it('naked, lowercase, array, stringjson and severitynum put the exception where they say', async () => {
      const get = async (key: string): Promise<Answer> =>
        send(reportUrl(server, key, '5.1', 'tr', '2022-01', '2022-01'));
      const naked = json(await get('naked'));
      assert.equal(naked.Code, 3030);
      assert.equal(naked.Message, 'No Usage Available for Requested Dates');
      const lower = json(await get('lowercase'));
      assert.equal(lower.code, 3030);
      assert.equal('Code' in lower, false);
      assert.ok(lower.message);
      const array = json(await get('array'));
      assert.ok(Array.isArray(array));
      assert.deepEqual(
        array.map((e: any) => e.Code),
        [3030, 3060],
      );
      const stringAnswer = await get('stringjson');
      const outer = json(stringAnswer);
      assert.equal(typeof outer, 'string');
      assert.equal(JSON.parse(outer).Code, 3030);
      assert.equal(json(await get('severitynum')).Severity, 4);
      const custom = await get('naked:1011:202');
      assert.equal(custom.status, 202);
      assert.equal(json(custom).Code, 1011);
      assert.equal(json(custom).Message, 'Report Queued for Processing');
    });
  });

  describe('non-COUNTER and broken bodies', () => {
    it('html and text answer 200 with a login page and a plain text message', async () => {
      const html = await send(reportUrl(server, 'html', '5.1', 'tr', '2022-01', '2022-01'));
      assert.equal(html.status, 200);
      assert.match(String(html.headers['content-type']), /text\/html/);
      assert.match(html.text, /<form/);
      const text = await send(reportUrl(server, 'text', '5.1', 'tr', '2022-01', '2022-01'));
      assert.match(String(text.headers['content-type']), /text\/plain/);
      assert.equal(text.text, 'Service temporarily unavailable');
    });

    it('truncated ends the response cleanly after half of the ok body', async () => {
      const whole = await send(reportUrl(server, 'ok', '5.1', 'tr', '2022-01', '2022-02'));
      const cut = await send(reportUrl(server, 'truncated', '5.1', 'tr', '2022-01', '2022-02'));
      assert.equal(cut.status, 200);
      assert.equal(cut.error, undefined);
      assert.equal(cut.body.length, Math.floor(whole.body.length / 2));
      assert.ok(whole.body.subarray(0, cut.body.length).equals(cut.body));
      assert.throws(() => JSON.parse(cut.text));
    });

    it('reset destroys the socket in the middle of the body', async () => {
      const outcome = await send(reportUrl(server, 'reset', '5.1', 'tr', '2022-01', '2022-02')).catch(
        (error: Error) => error,
      );
      if (outcome instanceof Error) return;
      assert.ok(outcome.error, 'the response must not end normally');
      assert.ok(outcome.body.length < Number(outcome.headers['content-length']));
      const record = server.requestsFor('reset').at(-1);
      assert.equal(record?.aborted, true);
    });

    it('slow:600 drips the ok body over about 600 ms', async () => {
      const started = Date.now();
      const answer = await send(reportUrl(server, 'slow:600', '5.1', 'pr', '2022-01', '2022-03'));
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 500, `took ${elapsed} ms`);
      assert.deepEqual(
        plain(sumUsage(json(answer).Report_Items)),
        plain(okExpectedSums('5.1', 'pr', '2022-01', '2022-03')),
      );
    });

    it('garbage sends random bytes as JSON, null sends null', async () => {
      const garbage = await send(reportUrl(server, 'garbage', '5.1', 'tr', '2022-01', '2022-01'));
      assert.match(String(garbage.headers['content-type']), /application\/json/);
      assert.equal(garbage.body.length, 2048);
      assert.throws(() => JSON.parse(garbage.text));
      const nullAnswer = await send(reportUrl(server, 'null', '5.1', 'tr', '2022-01', '2022-01'));
      assert.equal(nullAnswer.text, 'null');
    });
  });

  describe('redirect and api key', () => {
    it('redirect answers 302 to the same path and query on ok with the same tag', async () => {
      const answer = await send(reportUrl(server, 'redirect-9', '5.1', 'tr', '2022-01', '2022-01'));
      assert.equal(answer.status, 302);
      const location = String(answer.headers.location);
      assert.ok(location.startsWith(`${server.url}/ok-9/r51/reports/tr?`), location);
      assert.equal((await send(location)).status, 200);
    });

    it('with apiKey set, requests without the key get 401 + 2020; status stays public', async () => {
      const keyed = await startMockCounterServer({ apiKey: 'k1' });
      try {
        const without = await send(reportUrl(keyed, 'ok', '5.1', 'tr', '2022-01', '2022-01'));
        assert.equal(without.status, 401);
        assert.equal(json(without).Code, 2020);
        const withKey = await send(`${reportUrl(keyed, 'ok', '5.1', 'tr', '2022-01', '2022-01')}&api_key=k1`);
        assert.equal(withKey.status, 200);
        assert.equal((await send(`${keyed.url}/ok/r51/status`)).status, 200);
        assert.equal((await send(`${keyed.url}/ok/r51/members?${Q}`)).status, 401);
        const nss = await send(
          `${keyed.url}/ok/nss?APIKey=wrong&Report=JR1&BeginDate=2018-01-01&EndDate=2018-01-31`,
        );
        assert.match(nss.text, /<s:Number>2020<\/s:Number>/);
      } finally {
        await keyed.close();
      }
    });
  });

  describe('recording and in-flight counting', () => {
    it('records scenario, release, path, report id, query, times and status', async () => {
      server.reset();
      await send(reportUrl(server, 'ok-17', '5.1', 'TR_J1', '2022-01', '2022-01'));
      await send(`${server.url}/ok-17/reports/pr?${Q}&begin_date=2016-01&end_date=2016-01`);
      const [first, second] = server.requests;
      assert.equal(server.requests.length, 2);
      assert.equal(first.scenario, 'ok-17');
      assert.equal(first.scenarioName, 'ok');
      assert.equal(first.tag, '17');
      assert.equal(first.release, '5.1');
      assert.equal(first.path, '/r51/reports/TR_J1');
      assert.equal(first.reportId, 'tr_j1');
      assert.equal(first.query.customer_id, 'cust1');
      assert.equal(first.query.begin_date, '2022-01');
      assert.equal(first.status, 200);
      assert.ok(first.finishedAt !== undefined && first.finishedAt >= first.startedAt);
      assert.equal(second.release, '5');
      assert.ok(second.startedAt >= (first.finishedAt ?? Infinity));
      assert.equal(server.requestsFor('ok').length, 2);
      assert.equal(server.requestsFor('ok-1').length, 0, 'ok-1 is not a prefix of ok-17');
      assert.equal(server.maxInFlight(), 1);
      server.reset();
      assert.equal(server.requests.length, 0);
    });

    it('counts two concurrent requests as 2 in flight, per endpoint 1', async () => {
      const slowServer = await startMockCounterServer({ latencyMs: 150 });
      try {
        await Promise.all([
          send(reportUrl(slowServer, 'ok-1', '5.1', 'pr', '2022-01', '2022-01')),
          send(reportUrl(slowServer, 'ok-2', '5.1', 'pr', '2022-01', '2022-01')),
        ]);
        assert.equal(slowServer.maxInFlight(), 2);
        assert.equal(slowServer.maxInFlight('ok'), 2);
        assert.equal(slowServer.maxInFlight('ok-1'), 1);
        assert.equal(slowServer.maxInFlight('ok-2'), 1);
        slowServer.reset();
        await send(reportUrl(slowServer, 'ok-1', '5.1', 'pr', '2022-01', '2022-01'));
        await send(reportUrl(slowServer, 'ok-1', '5.1', 'pr', '2022-01', '2022-01'));
        assert.equal(slowServer.maxInFlight('ok-1'), 1, 'sequential requests never overlap');
        const [a, b] = slowServer.requests;
        assert.ok(a.finishedAt! - a.startedAt >= 140, 'latency applies');
        assert.ok(b.startedAt >= a.finishedAt!);
        await Promise.all([
          send(reportUrl(slowServer, 'ok-1', '5.1', 'pr', '2022-01', '2022-01')),
          send(reportUrl(slowServer, 'ok-1', '5.1', 'pr', '2022-02', '2022-02')),
        ]);
        assert.equal(slowServer.maxInFlight('ok-1'), 2, 'two at once on one endpoint is visible');
      } finally {
        await slowServer.close();
      }
    });
  });

  describe('huge', () => {
    for (const release of ['5', '5.1'] as const) {
      it(`streams an R${release} TR of the promised size with the computed sums`, async () => {
        const answer = await send(reportUrl(server, 'huge:2', release, 'tr', '2022-01', '2022-03'));
        const plan = hugeReportPlan({ release, begin: '2022-01', end: '2022-03', bytes: 2 * 1024 * 1024 });
        assert.equal(answer.status, 200);
        assert.equal(answer.body.length, plan.totalBytes);
        assert.equal(Number(answer.headers['content-length']), plan.totalBytes);
        assert.ok(plan.totalBytes <= 2 * 1024 * 1024 && plan.totalBytes > 2 * 1024 * 1024 - 2000);
        const body = json(answer);
        assert.equal(body.Report_Items.length, plan.itemCount);
        assert.deepEqual(plain(sumUsage(body.Report_Items)), plain(plan.sums));
      });
    }

    it('streams 200 MiB without the RSS growing by more than ~100 MB', async () => {
      const bytes = 200 * 1024 * 1024;
      const big = await startMockCounterServer({ hugeReportBytes: bytes });
      try {
        globalThis.gc?.();
        const before = process.memoryUsage().rss;
        let received = 0;
        let peak = before;
        const status = await new Promise<number>((resolve, reject) => {
          const req = httpRequest(
            reportUrl(big, 'huge', '5.1', 'tr', '2022-01', '2022-12'),
            { agent: false },
            (res) => {
              res.on('data', (chunk: Buffer) => {
                received += chunk.length;
                if (received % (16 * 1024 * 1024) < chunk.length)
                  peak = Math.max(peak, process.memoryUsage().rss);
              });
              res.on('end', () => resolve(res.statusCode ?? 0));
              res.on('error', reject);
            },
          );
          req.on('error', reject);
          req.end();
        });
        peak = Math.max(peak, process.memoryUsage().rss);
        const plan = hugeReportPlan({ release: '5.1', begin: '2022-01', end: '2022-12', bytes });
        assert.equal(status, 200);
        assert.equal(received, plan.totalBytes);
        assert.ok(received > bytes - 4096);
        const growth = (peak - before) / 1024 / 1024;
        assert.ok(growth < 100, `RSS grew by ${growth.toFixed(1)} MB`);
      } finally {
        await big.close();
      }
    });

    it('renders items as canonical JSON of one fixed length', () => {
      for (const release of ['5', '5.1'] as const) {
        const months = ['2021-11', '2021-12', '2022-01'];
        const lengths = new Set<number>();
        for (const i of [0, 1, 7, 999, 123456]) {
          const text = hugeItem(release, i, months);
          assert.equal(JSON.stringify(JSON.parse(text)), text);
          lengths.add(text.length);
        }
        assert.equal(lengths.size, 1);
      }
    });

    it('serves other report ids of a huge endpoint as ok', async () => {
      const body = json(await send(reportUrl(server, 'huge', '5.1', 'pr', '2022-01', '2022-01')));
      assert.equal(body.Report_Header.Report_ID, 'PR');
    });
  });

  describe('COUNTER 4 SOAP and NSS', () => {
    const envelope = (name: string, begin: string, end: string): string =>
      `<?xml version="1.0" encoding="UTF-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">
  <soap:Body>
    <sc:ReportRequest xmlns:sc="http://www.niso.org/schemas/sushi/counter" xmlns="http://www.niso.org/schemas/sushi">
      <Requestor><ID>reqId1</ID><Name></Name><Email></Email></Requestor>
      <CustomerReference><ID>custId1</ID></CustomerReference>
      <ReportDefinition Name="${name}" Release="4">
        <Filters><UsageDateRange><Begin>${begin}</Begin><End>${end}</End></UsageDateRange></Filters>
      </ReportDefinition>
    </sc:ReportRequest>
  </soap:Body>
</soap:Envelope>`;

    const soap = (key: string, name = 'JR1', begin = '2018-01-01', end = '2018-02-28'): Promise<Answer> =>
      send(`${server.url}/${key}/sushi4`, {
        method: 'POST',
        body: envelope(name, begin, end),
        headers: { 'Content-Type': 'text/xml; charset=UTF-8', SOAPAction: '"SushiService:GetReportIn"' },
      });

    /** Parses with namespaces; returns element names (ns + local), period begins, exception numbers, counts. */
    function readXml(text: string): {
      elements: Set<string>;
      periods: string[];
      exceptions: string[];
      counts: Map<string, number>;
    } {
      const parser = new SaxesParser({ xmlns: true });
      const elements = new Set<string>();
      const periods: string[] = [];
      const exceptions: string[] = [];
      const counts = new Map<string, number>();
      const stack: string[] = [];
      let text_ = '';
      let metric = '';
      parser.on('opentag', (tag) => {
        elements.add(`{${tag.uri}}${tag.local}`);
        stack.push(tag.local);
        text_ = '';
      });
      parser.on('text', (t) => (text_ += t));
      parser.on('closetag', () => {
        const local = stack.pop();
        const parent = stack.at(-1);
        if (local === 'Begin' && parent === 'Period') periods.push(text_);
        if (local === 'Number' && parent === 'Exception') exceptions.push(text_);
        if (local === 'MetricType') metric = text_;
        if (local === 'Count') {
          const month = periods.at(-1)!.slice(0, 7);
          counts.set(`${month} ${metric}`, (counts.get(`${month} ${metric}`) ?? 0) + Number(text_));
        }
        text_ = '';
      });
      parser.write(text).close();
      return { elements, periods, exceptions, counts };
    }

    it('answers a SOAP ReportRequest with a JR1 ReportResponse for each requested month', async () => {
      const answer = await soap('ok');
      assert.equal(answer.status, 200);
      assert.match(String(answer.headers['content-type']), /text\/xml/);
      const xml = readXml(answer.text);
      assert.ok(xml.elements.has('{http://schemas.xmlsoap.org/soap/envelope/}Envelope'));
      assert.ok(xml.elements.has('{http://www.niso.org/schemas/sushi/counter}ReportResponse'));
      assert.ok(xml.elements.has('{http://www.niso.org/schemas/counter}Report'));
      assert.ok(xml.elements.has('{http://www.niso.org/schemas/counter}ReportItems'));
      assert.deepEqual([...new Set(xml.periods)].sort(), ['2018-01-01', '2018-02-01']);
      const items = counter4Items('JR1', ['2018-01', '2018-02']);
      let expectedTotal = 0;
      for (const item of items)
        for (const p of item.performance.filter((x) => x.month === '2018-02'))
          expectedTotal += p.counts.find(([m]) => m === 'ft_total')![1];
      assert.equal(xml.counts.get('2018-02 ft_total'), expectedTotal);
      assert.match(answer.text, /<s:ID>reqId1<\/s:ID>/);
      assert.match(answer.text, /<c:ID>custId1<\/c:ID>/);
      const record = server.requestsFor('ok').at(-1)!;
      assert.equal(record.release, '4');
      assert.equal(record.reportId, 'JR1');
      assert.equal(record.headers.soapaction, '"SushiService:GetReportIn"');
      assert.match(record.body ?? '', /ReportRequest/);
    });

    it('r4error carries a SUSHI exception; r4fault is a 500 SOAP fault with testheaderkey', async () => {
      const error = await soap('r4error:3031');
      assert.equal(error.status, 200);
      const xml = readXml(error.text);
      assert.deepEqual(xml.exceptions, ['3031']);
      assert.equal(xml.elements.has('{http://www.niso.org/schemas/counter}Report'), false);
      assert.match(error.text, /<s:Severity>Error<\/s:Severity>/);
      assert.deepEqual(readXml((await soap('r4error')).text).exceptions, ['3030']);
      const fault = await soap('r4fault');
      assert.equal(fault.status, 500);
      assert.equal(fault.headers.testheaderkey, 'TestHeaderValue');
      assert.ok(readXml(fault.text).elements.has('{http://schemas.xmlsoap.org/soap/envelope/}Fault'));
    });

    it('redirect answers a SOAP POST with 302 to the ok endpoint', async () => {
      const answer = await soap('redirect-4');
      assert.equal(answer.status, 302);
      assert.equal(answer.headers.location, `${server.url}/ok-4/sushi4`);
    });

    it('answers malformed SOAP with 400 and a fault, without crashing', async () => {
      const answer = await send(`${server.url}/ok/sushi4`, { method: 'POST', body: '<not-xml' });
      assert.equal(answer.status, 400);
      assert.match(answer.text, /Fault/);
      assert.equal((await soap('ok')).status, 200);
    });

    it('NSS ok answers the ReportResponse without envelope, nssfail with 4 × 1030', async () => {
      const query =
        'APIKey=abc&RequestorID=def&CustomerID=ghi&Report=JR1&Release=4&BeginDate=2016-03-01&EndDate=2016-03-31&Platform=ACM%20Digital&Format=xml';
      const ok = await send(`${server.url}/ok/nss?${query}`);
      const xml = readXml(ok.text);
      assert.equal(xml.elements.has('{http://schemas.xmlsoap.org/soap/envelope/}Envelope'), false);
      assert.ok(xml.elements.has('{http://www.niso.org/schemas/sushi/counter}ReportResponse'));
      assert.deepEqual([...new Set(xml.periods)], ['2016-03-01']);
      const record = server.requestsFor('ok').at(-1)!;
      assert.equal(record.release, 'nss');
      assert.equal(record.query.Platform, 'ACM Digital');
      const fail = await send(`${server.url}/nssfail/nss?${query}`);
      assert.deepEqual(readXml(fail.text).exceptions, ['1030', '1030', '1030', '1030']);
      assert.match(fail.text, /Insufficient Information to process Request/);
      assert.match(fail.text, /Parameter: RequestorID/);
    });
  });
});
