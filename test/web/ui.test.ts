/**
 * The web UI: its files over real HTTP (content types, the `/` and `/ui` redirects, open without token or
 * tenant while the API still needs them), and a real browser (Debian's Chromium through playwright-core)
 * adding a provider through the form, harvesting it from the mock COUNTER server, following the job on
 * the Jobs page and reading the month matrix. Screenshots go to a temporary folder (printed as test
 * diagnostics) so the look can be checked by eye.
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { RunningService } from '../../src/server.ts';
import { TENANT_MISSING } from '../../src/api/app.ts';
import { call, startOn } from '../helpers/service.ts';
import { startMockCounterServer, type MockCounterServer } from '../../mock/counter-server.ts';
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/browser.ts';

async function get(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { redirect: 'manual', headers });
  return {
    status: res.status,
    type: res.headers.get('content-type') ?? '',
    headers: res.headers,
    text: await res.text(),
  };
}

describe('web UI files over HTTP', () => {
  let svc: RunningService;
  before(async () => {
    svc = await startOn('pglite', undefined);
  });
  after(async () => {
    await svc.close();
  });

  it('serves index.html, the modules and the stylesheet under /ui/ with their content types', async () => {
    const index = await get(`${svc.url}/ui/`);
    assert.equal(index.status, 200);
    assert.match(index.type, /^text\/html/);
    assert.match(index.text, /<script type="module" src="app.js"><\/script>/);
    assert.match(index.text, /<link rel="stylesheet" href="styles.css"/);
    assert.match(index.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    assert.equal((await get(`${svc.url}/ui/index.html`)).status, 200);
    for (const file of [
      'app.js',
      'api.js',
      'dom.js',
      'providers.js',
      'provider.js',
      'jobs.js',
      'schedule.js',
      'months.js',
      'provider-truth.js',
      'forms.js',
      'provider-form.js',
      'matrix.js',
      'aggregators.js',
    ]) {
      const res = await get(`${svc.url}/ui/${file}`);
      assert.equal(res.status, 200, file);
      assert.match(res.type, /^(application|text)\/javascript/, file);
    }
    const css = await get(`${svc.url}/ui/styles.css`);
    assert.equal(css.status, 200);
    assert.match(css.type, /^text\/css/);
    assert.equal((await get(`${svc.url}/ui/missing.js`)).status, 404);
  });

  it('no file references anything outside the service (no CDN, no external fonts)', async () => {
    for (const file of [
      '',
      'styles.css',
      'app.js',
      'api.js',
      'providers.js',
      'provider.js',
      'jobs.js',
      'schedule.js',
      'months.js',
      'provider-truth.js',
      'forms.js',
      'provider-form.js',
      'matrix.js',
      'aggregators.js',
    ]) {
      const { text } = await get(`${svc.url}/ui/${file}`);
      assert.doesNotMatch(text, /https?:\/\/(?!sushi\.example\.org)/, file || 'index.html');
      assert.doesNotMatch(text, /@import|url\(/, file || 'index.html');
    }
  });

  it('redirects / and /ui to /ui/', async () => {
    const root = await get(`${svc.url}/`);
    assert.equal(root.status, 302);
    assert.equal(root.headers.get('location'), '/ui/');
    const ui = await get(`${svc.url}/ui`);
    assert.equal(ui.status, 302);
    assert.equal(ui.headers.get('location'), '/ui/');
  });

  it('keeps the UI routes out of the API documentation', async () => {
    const { text } = await get(`${svc.url}/openapi.json`);
    const paths = Object.keys((JSON.parse(text) as { paths: Record<string, unknown> }).paths);
    assert.ok(paths.includes('/erm-usage-harvester/start'));
    assert.deepEqual(
      paths.filter((p) => p === '/' || p.startsWith('/ui')),
      [],
    );
  });

  it('the files need no tenant, the API calls still do', async () => {
    assert.equal((await get(`${svc.url}/ui/app.js`)).status, 200);
    const api = await call(svc, 'GET', '/usage-data-providers', { tenant: null });
    assert.equal(api.status, 400);
    assert.equal(api.text, TENANT_MISSING);
    assert.equal((await call(svc, 'GET', '/usage-data-providers')).status, 200);
  });

  it('does not serve files outside web/', async () => {
    for (const p of ['/ui/../package.json', '/ui/..%2fpackage.json', '/ui/%2e%2e/src/server.ts']) {
      const res = await get(`${svc.url}${p}`);
      assert.notEqual(res.status, 200, p);
      assert.doesNotMatch(res.text, /"name": "erm-usage-harvester"|startService/, p);
    }
  });

  it('with a token configured, the files stay open and the API asks for the token', async () => {
    const secured = await startOn('pglite', undefined, { config: { token: 's3cret' } });
    try {
      assert.equal((await get(`${secured.url}/ui/`)).status, 200);
      assert.equal((await get(`${secured.url}/ui/styles.css`)).status, 200);
      assert.equal((await call(secured, 'GET', '/usage-data-providers')).status, 401);
      const ok = await call(secured, 'GET', '/usage-data-providers', {
        headers: { 'x-okapi-token': 's3cret' },
      });
      assert.equal(ok.status, 200);
    } finally {
      await secured.close();
    }
  });
});

describe('web UI in a browser', () => {
  let svc: RunningService | undefined;
  let mock: MockCounterServer | undefined;
  let browser: Browser | undefined;
  const shots = mkdtempSync(path.join(tmpdir(), 'erm-ui-'));

  after(async () => {
    await browser?.close();
    await svc?.close();
    await mock?.close();
  });

  async function shot(page: Page, name: string, t: { diagnostic(msg: string): void }) {
    const file = path.join(shots, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    t.diagnostic(`screenshot: ${file}`);
  }

  it('adds a provider, harvests it, follows the job and shows harvested months', async (t) => {
    if (!existsSync(CHROMIUM)) {
      t.skip(`${CHROMIUM} is not installed (apt-get install chromium): browser test skipped`);
      return;
    }
    const { chromium } = await import('playwright-core');
    mock = await startMockCounterServer();
    svc = await startOn('pglite', undefined);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);

    // Nothing but the service itself may be contacted, and no script may fail.
    const outside: string[] = [];
    const problems: string[] = [];
    page.on('request', (req) => {
      const url = req.url();
      if (!url.startsWith(svc!.url) && !url.startsWith('data:')) outside.push(url);
    });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
    });
    page.on('dialog', (dialog) => void dialog.accept());

    await page.goto(`${svc.url}/`);
    await page.waitForURL(/\/ui\/#\/providers$/);
    assert.equal(await page.inputValue('#tenant'), 'diku');
    await page.getByText('No providers yet').waitFor();

    // The form shows the service's 422 message next to it (answer forced once: the form itself
    // always sends a valid record).
    await page.getByRole('button', { name: 'Add provider' }).click();
    await page.route(
      '**/usage-data-providers',
      (route) =>
        void route.fulfill({
          status: 422,
          contentType: 'application/json',
          body: JSON.stringify({ errors: [{ message: 'label must be unique (forced)' }], total_records: 1 }),
        }),
      { times: 1 },
    );
    await page.getByLabel('Label').fill('Mock Provider Springer');
    await page.getByLabel('Service type').selectOption('cs51');
    assert.equal(await page.textContent('#udp-release'), '5.1');
    await page.getByLabel('Service URL').fill(`${mock.url}/ok`);
    const tr = page.locator('#add-provider').getByRole('checkbox', { name: 'TR', exact: true });
    await tr.waitFor();
    if (!(await tr.isChecked())) await tr.check();
    await page.getByLabel('Customer ID').fill('cust-1');
    await page.getByLabel('Requestor ID').fill('requestor-secret-1');
    await page.getByLabel('API key').fill('apikey-secret-1');
    await page.getByLabel('Platform').fill('mockplatform');
    await page.getByLabel('Harvesting start').fill('2022-01');
    await page.getByLabel('Harvesting end').fill('2022-02');
    await page.getByRole('button', { name: 'Create provider' }).click();
    await page.locator('#add-provider-error', { hasText: 'label must be unique (forced)' }).waitFor();
    await shot(page, '0-add-provider-422', t);

    // The real POST.
    await page.getByRole('button', { name: 'Create provider' }).click();
    await page.getByText('Provider “Mock Provider Springer” added.').waitFor();
    const row = page.locator('#providers-table tbody tr', { hasText: 'Mock Provider Springer' });
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', /cs51 · 127\.0\.0\.1:\d+/);
    const stored = await call(svc, 'GET', '/usage-data-providers');
    const udp = stored.json.usageDataProviders[0];
    assert.deepEqual(udp.harvestingConfig.requestedReports, ['TR']);
    assert.equal(udp.harvestingConfig.reportRelease, '5.1');
    assert.equal(udp.harvestingConfig.harvestingStart, '2022-01');
    assert.equal(udp.sushiCredentials.apiKey, '********');
    assert.equal((await svc.store.getProvider('diku', udp.id)).sushiCredentials?.apiKey, 'apikey-secret-1');

    // Search: prefix words over label/description/aggregator name.
    await page.getByLabel('Search providers').fill('spring');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await row.waitFor();
    await page.getByLabel('Search providers').fill('nomatch');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.getByText('No provider matches “nomatch”.').waitFor();
    await page.getByLabel('Search providers').fill('');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await row.waitFor();

    // Harvest: the server's message is shown.
    await row.getByRole('button', { name: 'Harvest Mock Provider Springer' }).click();
    await page.getByText(`Harvesting scheduled for tenant: diku, providerId: ${udp.id}`).waitFor();
    await shot(page, '1-providers', t);

    // Jobs page: the job finishes (auto-refresh) with the provider's label.
    await page.getByRole('link', { name: 'Jobs' }).click();
    const job = page.locator('#jobs-table tbody tr[data-state="finished"]', {
      hasText: 'Mock Provider Springer',
    });
    await job.waitFor({ timeout: 60_000 });
    assert.match((await job.textContent()) ?? '', /provider.*finished.*success/);
    await shot(page, '2-jobs', t);

    // Provider detail: both months of TR harvested, credentials never shown.
    await job.getByRole('link', { name: 'Mock Provider Springer' }).click();
    for (const month of ['2022-01', '2022-02']) {
      await page
        .locator(`#month-matrix td[data-report="TR"][data-month="${month}"][data-state="harvested"]`)
        .waitFor();
    }
    // Years as rows: one year (2022), twelve month columns, the two months of the window clickable.
    assert.deepEqual(await page.locator('#month-matrix table[data-report="TR"] tbody th').allTextContents(), [
      '2022',
    ]);
    assert.equal(
      await page.locator('#month-matrix table[data-report="TR"] td.cell:not(.cell-out)').count(),
      2,
    );
    await page.getByText('Last harvest job:').waitFor();
    const html = await page.content();
    assert.doesNotMatch(html, /apikey-secret-1|requestor-secret-1/);
    await shot(page, '3-provider', t);

    // Every month state, from stored records (failed months explain themselves on focus).
    const sampler = await call(svc, 'POST', '/usage-data-providers', {
      body: {
        label: 'State sampler',
        status: 'active',
        harvestingConfig: {
          harvestingStatus: 'active',
          harvestVia: 'sushi',
          sushiConfig: { serviceType: 'cs51', serviceUrl: 'https://sushi.example.org/r51' },
          reportRelease: '5.1',
          requestedReports: ['TR', 'PR'],
          harvestingStart: '2021-01',
          harvestingEnd: '2021-06',
        },
        sushiCredentials: { customerId: 'c', apiKey: 'apikey-secret-2' },
      },
    });
    assert.equal(sampler.status, 201);
    const base = { providerId: sampler.json.id, release: '5.1', downloadTime: '2024-01-01T00:00:00Z' };
    const failedReason =
      'Report not valid: Exception{Number=2010, Severity=ERROR, Message=Requestor Not Authorized}';
    const records = [
      { reportName: 'TR', yearMonth: '2021-01', report: { Report_Header: {} } },
      {
        reportName: 'TR',
        yearMonth: '2021-02',
        report: { Report_Header: {} },
        harvestState: { state: 'partial', code: 3040 },
      },
      {
        reportName: 'TR',
        yearMonth: '2021-03',
        report: { Report_Header: {} },
        harvestState: { state: 'empty', code: 3030 },
      },
      {
        reportName: 'TR',
        yearMonth: '2021-04',
        failedAttempts: 1,
        failedReason: 'Report not valid: 3031',
        harvestState: { state: 'not_ready', code: 3031 },
      },
      { reportName: 'TR', yearMonth: '2021-05', failedAttempts: 2, failedReason },
      { reportName: 'PR', yearMonth: '2021-01', report: { Report_Header: {} } },
    ];
    for (const r of records)
      assert.equal((await call(svc, 'POST', '/counter-reports', { body: { ...base, ...r } })).status, 201);
    await page.goto(`${svc.url}/ui/#/providers/${sampler.json.id}`);
    const expected: Record<string, string> = {
      '2021-01': 'harvested',
      '2021-02': 'partial',
      '2021-03': 'empty',
      '2021-04': 'not-ready',
      '2021-05': 'failed',
      '2021-06': 'missing',
    };
    for (const [month, state] of Object.entries(expected)) {
      await page
        .locator(`#month-matrix td[data-report="TR"][data-month="${month}"][data-state="${state}"]`)
        .waitFor();
    }
    assert.equal(await page.locator('#month-matrix td[data-report="PR"][data-state="missing"]').count(), 5);
    const failedCell = page.locator('#month-matrix td[data-report="TR"][data-month="2021-05"]');
    assert.equal(await failedCell.getAttribute('title'), `TR 2021-05: Failed — ${failedReason}`);
    await failedCell.getByRole('button').click();
    await page.getByRole('dialog', { name: 'TR · May 2021' }).getByText('Requestor Not Authorized').waitFor();
    await page.keyboard.press('Escape');
    assert.doesNotMatch(await page.content(), /apikey-secret-2/);
    await shot(page, '3b-states', t);

    // Periodic schedule: none, set, shown, deleted.
    await page.getByRole('link', { name: 'Schedule' }).click();
    await page.getByText('No periodic harvest is scheduled.').waitFor();
    await page.getByLabel('First start (your local time)').fill('2030-01-01T08:00');
    await page.getByLabel('Repeat').selectOption('weekly');
    await page.getByRole('button', { name: 'Save schedule' }).click();
    await page.getByText(/Schedule saved: weekly/).waitFor();
    await page.locator('#periodic-current', { hasText: 'weekly' }).waitFor();
    const periodic = await call(svc, 'GET', '/erm-usage-harvester/periodic');
    assert.equal(periodic.status, 200);
    assert.equal(periodic.json.periodicInterval, 'weekly');
    await shot(page, '4-schedule', t);
    await page.getByRole('button', { name: 'Delete schedule' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete schedule' }).click();
    await page.getByText('Schedule deleted.').waitFor();
    assert.equal((await call(svc, 'GET', '/erm-usage-harvester/periodic')).status, 404);

    // A small screen: the header wraps, the tables scroll.
    await page.setViewportSize({ width: 390, height: 800 });
    await page.goto(`${svc.url}/ui/#/providers/${udp.id}`);
    await page.locator('#month-matrix td[data-state="harvested"]').first().waitFor();
    await shot(page, '5-provider-narrow', t);
    await page.getByRole('link', { name: 'Providers' }).first().click();
    await page.locator('#providers-table tbody tr', { hasText: 'State sampler' }).waitFor();
    await shot(page, '6-providers-narrow', t);

    // A tenant that does not exist: the API's message is shown.
    await page.getByLabel('Tenant').fill('nosuchtenant');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page
      .getByText(/Tenant 'nosuchtenant' does not exist/)
      .first()
      .waitFor();
    assert.equal(
      await page.evaluate(() => localStorage.getItem('erm-usage-harvester.tenant')),
      'nosuchtenant',
    );

    assert.deepEqual(outside, [], 'requests outside the service');
    // Failed API answers (the forced 422, the periodic 404, the unknown tenant's 400s) are logged by the
    // browser as failed resources; anything else is a fault of the UI.
    assert.deepEqual(
      problems.filter(
        (p) => !/Failed to load resource: the server responded with a status of (400|404|422)/.test(p),
      ),
      [],
    );
  });
});
