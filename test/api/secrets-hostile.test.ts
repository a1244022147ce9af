/**
 * Hostile credentials through the real path: providers of the mock COUNTER server that quote the API key
 * and requestor id they received in their error body (raw inside JSON, URL- and form-encoded, inside a
 * JSON string; SOAP: XML-escaped). Keys with JSON/URL/XML-special characters, non-ASCII keys and keys of
 * one to three characters must not show in the job's errorMessage, the reports' failedReason or any log
 * line, in any form, while the rest of the provider's message stays readable.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import type { RunningService } from '../../src/server.ts';
import { startMockCounterServer, type MockCounterServer } from '../../mock/counter-server.ts';
import { call, startOn } from '../helpers/service.ts';
import { waitForJobs } from '../helpers/harvest.ts';

interface Hostile {
  label: string;
  scenario: string;
  type: 'cs51' | 'cs50' | 'cs41';
  apiKey: string;
  requestorId: string;
}

const PROVIDERS: Hostile[] = [
  { label: 'json-special', scenario: 'echo-1', type: 'cs51', apiKey: '+/ "\\=&', requestorId: `<>&'` },
  { label: 'unicode', scenario: 'echo-2', type: 'cs50', apiKey: 'ключ é😀', requestorId: 'Ж' },
  { label: 'one char', scenario: 'echo-3', type: 'cs51', apiKey: 'q', requestorId: '%"' },
  { label: 'soap', scenario: 'echo-4', type: 'cs41', apiKey: 'zz', requestorId: `<&'">` },
];

/** Every form in which a value could leak: raw, JSON-escaped once and twice, URL-, form- and XML-encoded. */
function formsOf(value: string): string[] {
  const json = JSON.stringify(value).slice(1, -1);
  const xmlNumeric = value.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const xmlNamed = value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
  return [
    ...new Set([
      value,
      json,
      JSON.stringify(json).slice(1, -1),
      encodeURIComponent(value),
      new URLSearchParams([['k', value]]).toString().slice(2),
      xmlNumeric,
      xmlNamed,
    ]),
  ];
}

/** Single ASCII letters or digits occur in every text; for them the framed checks below do the work. */
function distinctive(value: string): boolean {
  return !/^[A-Za-z0-9]$/.test(value);
}

function assertClean(text: string, where: string): void {
  for (const p of PROVIDERS)
    for (const secret of [p.apiKey, p.requestorId].filter(distinctive))
      for (const form of formsOf(secret))
        assert.ok(!text.includes(form), `${p.label}: ${JSON.stringify(form)} in ${where}: ${text}`);
}

describe('hostile credentials echoed by providers stay out of messages and logs', () => {
  let svc: RunningService;
  let mock: MockCounterServer;
  const lines: string[] = [];
  const ids = new Map<string, string>();

  before(async () => {
    mock = await startMockCounterServer();
    svc = await startOn('pglite', undefined, { logLines: lines, config: { logLevel: 'debug' } });
    for (const p of PROVIDERS) {
      const r4 = p.type === 'cs41';
      const res = await call(svc, 'POST', '/usage-data-providers', {
        body: {
          label: p.label,
          status: 'active',
          harvestingConfig: {
            harvestingStatus: 'active',
            harvestVia: 'sushi',
            sushiConfig: {
              serviceType: p.type,
              serviceUrl: `${mock.url}/${p.scenario}${r4 ? '/sushi4' : ''}`,
            },
            reportRelease: r4 ? '4' : p.type === 'cs50' ? '5' : '5.1',
            requestedReports: r4 ? ['JR1'] : ['TR'],
            harvestingStart: '2022-01',
            harvestingEnd: '2022-02',
          },
          sushiCredentials: { customerId: 'c1', apiKey: p.apiKey, requestorId: p.requestorId },
        },
      });
      assert.equal(res.status, 201, res.text);
      ids.set(p.label, res.json.id as string);
    }
    assert.equal((await call(svc, 'GET', '/erm-usage-harvester/start')).status, 200);
    await waitForJobs(svc, 120_000);
  });
  after(async () => {
    await svc?.close();
    await mock?.close();
  });

  it('the providers received the keys as they are (the test can fail)', () => {
    for (const p of PROVIDERS.filter((x) => x.type !== 'cs41')) {
      const got = mock.requestsFor(p.scenario).map((r) => [r.query.api_key, r.query.requestor_id]);
      assert.ok(got.length > 0, p.label);
      assert.deepEqual(got[0], [p.apiKey, p.requestorId], p.label);
    }
    const soap = mock.requestsFor('echo-4');
    assert.ok(soap.length > 0 && soap[0].body?.includes('&lt;&amp;'), 'the SOAP request carries the id');
  });

  it("each echoing frame of the provider's body is redacted, and the rest stays readable", async () => {
    for (const p of PROVIDERS) {
      const reports = (
        await call(svc, 'GET', `/counter-reports?query=providerId=="${ids.get(p.label)}"&limit=100`)
      ).json.counterReports as { yearMonth: string; failedReason?: string }[];
      assert.deepEqual(
        reports.map((r) => r.yearMonth).sort(),
        ['2022-01', '2022-02'],
        `${p.label}: both months recorded as failed`,
      );
      for (const r of reports) {
        const reason = r.failedReason ?? '';
        if (p.type === 'cs41') {
          assert.match(reason, /Data=Requestor \*\*\* \/ customer c1 not authorized/, reason);
        } else {
          assert.ok(reason.startsWith('HTTP 401: Unauthorized - {'), reason);
          assert.ok(reason.includes('api_key *** is not valid for requestor_id ***'), reason);
          assert.ok(reason.includes('"Echo_Encoded":"*** *** ***"'), reason);
          assert.ok(reason.includes('"Echo_Json":"{\\"received\\":[\\"***\\",\\"***\\"]}"'), reason);
        }
        assertClean(reason, `failedReason of ${p.label}`);
      }
    }
  });

  it('the job messages say why and leak nothing', async () => {
    const jobs = (await call(svc, 'GET', '/erm-usage-harvester/jobs?limit=100')).json.jobInfos as {
      providerId?: string;
      errorMessage?: string;
    }[];
    for (const p of PROVIDERS) {
      const job = jobs.find((j) => j.providerId === ids.get(p.label));
      const message = job?.errorMessage ?? '';
      assert.match(message, /^CredentialsRejected: /, `${p.label}: ${message}`);
      if (p.type !== 'cs41') assert.ok(message.includes('api_key *** is not valid'), message);
      assertClean(message, `errorMessage of ${p.label}`);
    }
  });

  it('every log line is valid JSON and clean, at debug level', () => {
    assert.ok(lines.length > 10, 'the service logged');
    for (const line of lines) {
      assert.doesNotThrow(() => JSON.parse(line), line);
      assertClean(line, 'the log');
      assert.ok(!/api_key q\b|\\"q\\"/.test(line), `the one-character key in ${line}`);
    }
  });
});
