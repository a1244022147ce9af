/**
 * The CLI's management commands end to end: the real service on PGlite and on PostgreSQL on a real
 * port, the mock COUNTER server for a harvest, the CLI as a child process (`providers update|enable|disable`,
 * `aggregators add|list|update|delete`, `schedule get|set|delete`, `jobs` filters and labels).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HarvesterClient } from '../../src/index.ts';
import type { RunningService } from '../../src/server.ts';
import { startMockCounterServer, type MockCounterServer } from '../../mock/counter-server.ts';
import { backends } from '../helpers/service.ts';
import { runCli } from '../helpers/run-cli.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let svc: RunningService;
let client: HarvesterClient;
/** With a token, so that stored credentials can be read back revealed (they are masked otherwise). */
const TOKEN = 'manage-test-token';

/** A client command against the test service (`--url` after the command name). */
const cli = (...args: string[]) => runCli([...args, '--url', svc.url, '--token', TOKEN]);
/** Commands whose own --url is not the service's take it before the command name. */
const cliBefore = (...args: string[]) => runCli(['--url', svc.url, '--token', TOKEN, ...args]);

async function addProvider(label: string, url = 'https://sushi.example.org/r51'): Promise<string> {
  const res = await cliBefore(
    ...['providers', 'add', '--label', label, '--url', url, '--customer-id', 'cust-1'],
    ...['--api-key', 'key-secret', '--requestor-id', 'req-secret', '--start', '2022-01', '--end', '2022-03'],
  );
  assert.equal(res.code, 0, res.stderr);
  return res.stdout.trim();
}

for (const backend of backends()) {
  describe(`cli management on ${backend.name}`, () => {
    before(async () => {
      svc = await backend.start({ config: { token: TOKEN } });
      client = new HarvesterClient({ baseUrl: svc.url, tenant: 'diku', token: TOKEN });
    });
    after(async () => {
      await client?.close();
      await svc?.close();
    });

    describe(`cli on ${backend.name}: providers update, enable, disable`, () => {
      let id: string;
      before(async () => {
        id = await addProvider('Update Press');
      });

      it('updates the given fields of a provider named by its label; credentials not given are kept', async () => {
        const res = await cliBefore(
          ...['providers', 'update', 'Update Press', '--name', 'Updated Press', '--reports', 'TR, PR'],
          ...['--start', '2021-06', '--end', '', '--customer-id', 'cust-2', '--release', '5'],
          ...['--type', 'cs50', '--url', 'https://sushi.example.org/r5'],
        );
        assert.equal(res.code, 0, res.stderr);
        assert.equal(res.stdout.trim(), `updated ${id}  Updated Press`);
        const udp = await client.getProvider(id, { reveal: true });
        assert.equal(udp.label, 'Updated Press');
        assert.deepEqual(udp.harvestingConfig.requestedReports, ['TR', 'PR']);
        assert.equal(udp.harvestingConfig.harvestingStart, '2021-06');
        assert.equal(udp.harvestingConfig.harvestingEnd, undefined);
        assert.equal(udp.harvestingConfig.reportRelease, '5');
        assert.deepEqual(udp.harvestingConfig.sushiConfig, {
          serviceType: 'cs50',
          serviceUrl: 'https://sushi.example.org/r5',
        });
        assert.equal(udp.sushiCredentials?.customerId, 'cust-2');
        assert.equal(udp.sushiCredentials?.apiKey, 'key-secret');
        assert.equal(udp.sushiCredentials?.requestorId, 'req-secret');
      });

      it('refuses bad values before calling the service, and unknown providers clearly', async () => {
        const badMonth = await cliBefore('providers', 'update', id, '--start', '2024-13');
        assert.equal(badMonth.code, 1);
        assert.match(badMonth.stderr, /--start must be a month written yyyy-MM/);
        const badRelease = await cliBefore('providers', 'update', id, '--release', '6');
        assert.equal(badRelease.code, 1);
        assert.match(badRelease.stderr, /--release must be 5.1, 5 or 4; got "6"/);
        const unknown = await cliBefore('providers', 'update', 'No Such Press', '--start', '2024-01');
        assert.equal(unknown.code, 1);
        assert.match(unknown.stderr, /no provider labelled "No Such Press"/);
        const unknownId = await cli('providers', 'disable', '00000000-0000-4000-8000-000000000000');
        assert.equal(unknownId.code, 1);
        assert.match(unknownId.stderr, /no provider with id 00000000-0000-4000-8000-000000000000/);
        assert.equal((await client.getProvider(id)).harvestingConfig.harvestingStart, '2021-06');
      });

      it('disables and enables a provider (status and harvesting status)', async () => {
        const off = await cli('providers', 'disable', 'Updated Press');
        assert.equal(off.code, 0, off.stderr);
        assert.equal(off.stdout.trim(), 'Updated Press is inactive');
        let udp = await client.getProvider(id, { reveal: true });
        assert.equal(udp.status, 'inactive');
        assert.equal(udp.harvestingConfig.harvestingStatus, 'inactive');
        const on = await cli('providers', 'enable', id);
        assert.equal(on.code, 0, on.stderr);
        udp = await client.getProvider(id, { reveal: true });
        assert.equal(udp.status, 'active');
        assert.equal(udp.harvestingConfig.harvestingStatus, 'active');
      });
    });

    describe(`cli on ${backend.name}: aggregators`, () => {
      let aggId: string;
      let providerId: string;

      it('adds an aggregator setting and prints its id', async () => {
        const res = await cliBefore(
          ...['aggregators', 'add', '--label', 'National Statistics Server'],
          ...['--url', 'https://nss.example.org/sushiservice', '--api-key', 'agg-secret'],
          ...['--requestor-id', 'agg-req', '--customer-id', '0000', '--report-release', '4'],
          ...['--config', 'extra=1'],
        );
        assert.equal(res.code, 0, res.stderr);
        aggId = res.stdout.trim();
        assert.match(aggId, UUID);
        const agg = await client.getAggregator(aggId, { reveal: true });
        assert.equal(agg.serviceType, 'NSS');
        assert.deepEqual(agg.accountConfig, { configType: 'API' });
        assert.deepEqual(agg.aggregatorConfig, {
          apiKey: 'agg-secret',
          requestorId: 'agg-req',
          customerId: '0000',
          reportRelease: '4',
          extra: '1',
        });
      });

      it('harvests a provider through it and lists it with its provider count, secrets never shown', async () => {
        providerId = await addProvider('Via Aggregator');
        const res = await cliBefore(
          ...['providers', 'update', 'Via Aggregator', '--aggregator', 'National Statistics Server'],
          ...['--vendor-code', 'VIA'],
        );
        assert.equal(res.code, 0, res.stderr);
        const udp = await client.getProvider(providerId);
        assert.equal(udp.harvestingConfig.harvestVia, 'aggregator');
        assert.equal(udp.harvestingConfig.aggregator?.id, aggId);
        assert.equal(udp.harvestingConfig.aggregator?.vendorCode, 'VIA');

        const list = await cli('aggregators', 'list');
        assert.equal(list.code, 0, list.stderr);
        const [header, row] = list.stdout.trim().split('\n');
        assert.match(header, /^ID\s+LABEL\s+TYPE\s+URL\s+ACCOUNT\s+PROVIDERS$/);
        assert.match(row, new RegExp(`^${aggId}\\s+National Statistics Server\\s+NSS\\s+\\S+\\s+API\\s+1$`));
        assert.doesNotMatch(list.stdout, /agg-secret|agg-req/);
        const json = await cli('aggregators', 'list', '--json');
        assert.equal(JSON.parse(json.stdout)[0].aggregatorConfig.apiKey, '***');
        assert.doesNotMatch(json.stdout, /agg-secret|agg-req/);

        const providers = await cli('providers', 'list');
        assert.match(providers.stdout, /Via Aggregator\s+active\s+aggregator: National Statistics Server/);
      });

      it('updates an aggregator by label, keeping what is not given', async () => {
        const res = await cliBefore(
          ...['aggregators', 'update', 'National Statistics Server', '--api-key', 'new-secret'],
          ...['--account', 'mail', '--mail', 'stats@example.org'],
        );
        assert.equal(res.code, 0, res.stderr);
        const agg = await client.getAggregator(aggId, { reveal: true });
        assert.equal(agg.aggregatorConfig?.apiKey, 'new-secret');
        assert.equal(agg.aggregatorConfig?.requestorId, 'agg-req');
        assert.equal(agg.serviceUrl, 'https://nss.example.org/sushiservice');
        assert.deepEqual(agg.accountConfig, { configType: 'Mail', configMail: 'stats@example.org' });
        const bad = await cliBefore('aggregators', 'update', aggId, '--account', 'fax');
        assert.equal(bad.code, 1);
        assert.match(bad.stderr, /--account must be one of Mail, API, Manual; got "fax"/);
      });

      it('refuses to delete an aggregator providers use; deletes it once they harvest directly', async () => {
        const refused = await cli('aggregators', 'delete', 'National Statistics Server');
        assert.equal(refused.code, 1);
        assert.match(refused.stderr, /1 provider\(s\) are harvested through "National Statistics Server"/);
        await client.getAggregator(aggId, { reveal: true });
        const direct = await cliBefore(
          'providers',
          'update',
          providerId,
          '--url',
          'https://direct.example.org',
        );
        assert.equal(direct.code, 0, direct.stderr);
        assert.equal((await client.getProvider(providerId)).harvestingConfig.harvestVia, 'sushi');
        const res = await cli('aggregators', 'delete', aggId);
        assert.equal(res.code, 0, res.stderr);
        assert.equal(res.stdout.trim(), `deleted ${aggId}  National Statistics Server`);
        assert.equal((await client.listAggregators()).totalRecords, 0);
        const gone = await cli('aggregators', 'delete', aggId);
        assert.equal(gone.code, 1);
        assert.match(gone.stderr, /no aggregator setting/);
      });
    });

    describe(`cli on ${backend.name}: schedule`, () => {
      it('gets, sets, shows and deletes the periodic harvest of the tenant', async () => {
        const none = await cli('schedule', 'get');
        assert.equal(none.code, 0, none.stderr);
        assert.equal(none.stdout.trim(), 'no periodic harvest for tenant diku');

        const set = await cli('schedule', 'set', '--start', '2031-01-01 02:30', '--interval', 'weekly');
        assert.equal(set.code, 0, set.stderr);
        assert.equal(set.stdout.trim(), 'periodic harvest of diku: weekly from 2031-01-01 02:30:00 UTC');
        const stored = await client.getPeriodic();
        assert.equal(stored?.periodicInterval, 'weekly');
        assert.equal(Date.parse(stored?.startAt ?? ''), Date.parse('2031-01-01T02:30:00Z'));

        const got = await cli('schedule', 'get');
        assert.equal(got.stdout.trim(), 'weekly from 2031-01-01 02:30:00 UTC');
        const json = await cli('schedule', 'get', '--json');
        assert.equal(JSON.parse(json.stdout).periodicInterval, 'weekly');

        const badInterval = await cli('schedule', 'set', '--start', '2031-01-01', '--interval', 'hourly');
        assert.equal(badInterval.code, 1);
        assert.match(badInterval.stderr, /Allowed choices are daily, weekly, monthly/);
        const badStart = await cli('schedule', 'set', '--start', 'tomorrow', '--interval', 'daily');
        assert.equal(badStart.code, 1);
        assert.match(
          badStart.stderr,
          /--start must be a date-time such as 2025-01-01T02:00:00Z; got "tomorrow"/,
        );

        const del = await cli('schedule', 'delete');
        assert.equal(del.stdout.trim(), 'periodic harvest of diku deleted');
        assert.equal(await client.getPeriodic(), undefined);
        const again = await cli('schedule', 'delete');
        assert.equal(again.stdout.trim(), 'no periodic harvest for tenant diku');
      });
    });

    describe(`cli on ${backend.name}: jobs filters, labels and reports`, () => {
      let mock: MockCounterServer;
      let okId: string;

      before(async () => {
        mock = await startMockCounterServer();
        for (const p of await client.listProviders({ limit: 100 }).then((r) => r.usageDataProviders))
          if (p.status === 'active') await cli('providers', 'disable', p.id ?? '');
        okId = await addProvider('Mocked Press', `${mock.url}/ok-jobs`);
        await addProvider('Refused Press', `${mock.url}/badcreds-jobs`);
        const res = await cli('harvest', '--wait', '--poll-ms', '100', '--timeout', '120');
        assert.equal(res.code, 1, res.stderr + res.stdout);
      });
      after(async () => {
        await mock?.close();
      });

      it('shows provider labels and the months report of each provider job', async () => {
        const res = await cli('jobs', '--type', 'provider');
        assert.equal(res.code, 0, res.stderr);
        const lines = res.stdout.trim().split('\n');
        assert.match(
          lines[0],
          /^ID\s+TYPE\s+PROVIDER\s+STATE\s+STARTED\s+FINISHED\s+RESULT\s+MONTHS\s+ERROR\s+NOTES$/,
        );
        const ok = lines.find((l) => l.includes('Mocked Press'));
        assert.match(ok ?? '', /provider\s+Mocked Press\s+finished.*success\s+12 stored$/);
        const refused = lines.find((l) => l.includes('Refused Press'));
        assert.match(
          refused ?? '',
          /failure\s+0 stored, \d+ failed \(2010: \d+\)(, \d+ skipped)?\s+CredentialsRejected/,
        );
        assert.doesNotMatch(res.stdout, new RegExp(okId));
      });

      it('filters by result, type, provider label and date', async () => {
        const failures = await cli('jobs', '--result', 'failure', '--since', '2020-01-01');
        assert.equal(failures.code, 0, failures.stderr);
        const rows = failures.stdout.trim().split('\n').slice(1);
        assert.ok(rows.length >= 1);
        for (const row of rows) assert.match(row, /\sfailure\s/);
        assert.ok(rows.some((r) => r.includes('Refused Press')));

        const tenantJobs = await cli('jobs', '--type', 'tenant', '--json');
        const page = JSON.parse(tenantJobs.stdout);
        assert.ok(page.jobInfos.length >= 1);
        for (const j of page.jobInfos) assert.equal(j.type, 'tenant');

        const byLabel = await cli('jobs', '--provider', 'Mocked Press', '--json');
        const mine = JSON.parse(byLabel.stdout);
        assert.equal(mine.jobInfos.length, 1);
        assert.equal(mine.jobInfos[0].providerId, okId);
        assert.deepEqual(mine.jobInfos[0].report, {
          stored: 12,
          empty: 0,
          failed: {},
          skipped: 0,
          deferred: 0,
        });

        const future = await cli('jobs', '--since', '2999-01-01');
        assert.equal(future.stdout.trim(), 'no jobs');
        const combined = await cli(
          'jobs',
          '--query',
          'type=="provider" sortby timestamp',
          '--result',
          'success',
        );
        assert.equal(combined.code, 0, combined.stderr);
        assert.ok(combined.stdout.includes('Mocked Press'));
        assert.ok(!combined.stdout.includes('Refused Press'));

        const badDate = await cli('jobs', '--since', 'yesterday');
        assert.equal(badDate.code, 1);
        assert.match(badDate.stderr, /--since must be a day \(2025-01-01\) or a date-time; got "yesterday"/);
        const badResult = await cli('jobs', '--result', 'maybe');
        assert.equal(badResult.code, 1);
        assert.match(badResult.stderr, /Allowed choices are success, failure/);
      });
    });
  });
}
