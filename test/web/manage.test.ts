/**
 * The web UI's management features in a real browser against a real service: the providers list's facets
 * (each narrowing the list, kept in the location), aggregator settings (add, edit with a secret kept,
 * choose in a provider, delete after confirmation), editing a provider (persisted through the API,
 * untouched credentials sent back as the API gave them, the API's 422 shown next to the fields),
 * deactivating and activating, and deleting with a confirmation that Cancel keeps.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import type { RunningService } from '../../src/server.ts';
import { call, startOn } from '../helpers/service.ts';
import { chromiumMissing, create, openUi, providerRecord, type UiBrowser } from '../helpers/browser.ts';

const skip = chromiumMissing();

describe('web UI: providers, facets and aggregators', { skip }, () => {
  let svc: RunningService;
  let ui: UiBrowser;
  const ids: Record<string, string> = {};
  let aggregatorId = '';

  before(async () => {
    svc = await startOn('pglite', undefined);
    ids.alpha = await create(svc, '/usage-data-providers', providerRecord('Alpha Press'));
    ids.beta = await create(
      svc,
      '/usage-data-providers',
      providerRecord('Beta Books', {
        harvestingConfig: {
          ...providerRecord('').harvestingConfig,
          harvestingStatus: 'inactive',
          requestedReports: ['PR'],
        },
      }),
    );
    ids.gamma = await create(
      svc,
      '/usage-data-providers',
      providerRecord('Gamma Journals', {
        harvestingConfig: { ...providerRecord('').harvestingConfig, requestedReports: ['TR', 'DR'] },
      }),
    );
    const month = { release: '5.1', reportName: 'TR', downloadTime: '2024-01-01T00:00:00Z' };
    await create(svc, '/counter-reports', {
      ...month,
      providerId: ids.alpha,
      yearMonth: '2021-02',
      failedAttempts: 1,
      failedReason:
        'Report not valid: Exception{Number=2010, Severity=ERROR, Message=Requestor Not Authorized}',
    });
    await create(svc, '/counter-reports', {
      ...month,
      providerId: ids.gamma,
      yearMonth: '2021-03',
      failedAttempts: 1,
      failedReason: 'Report not valid: [{"Code":3031,"Severity":"Warning","Message":"Usage Not Ready"}]',
    });
    for (const yearMonth of ['2021-01', '2021-02'])
      await create(svc, '/counter-reports', {
        ...month,
        reportName: 'PR',
        providerId: ids.beta,
        yearMonth,
        report: { Report_Header: {}, Report_Items: [] },
      });
    ui = await openUi(svc, 'erm-ui-manage-');
  });

  after(async () => {
    await ui?.close();
    await svc?.close();
  });

  /** The labels of the rows of the providers table, once it shows exactly `expected`. */
  async function expectRows(expected: string[]) {
    const { page } = ui;
    await page.waitForFunction(
      (want) => {
        const rows = [...document.querySelectorAll('#providers-table tbody th a')].map((a) => a.textContent);
        return JSON.stringify(rows) === JSON.stringify(want);
      },
      expected,
      { timeout: 30_000 },
    );
  }

  const facet = (group: string, value: string) =>
    ui.page.locator(`[data-facet="${group}"] .facet-value[data-value="${value}"]`);

  it('each facet narrows the list, values combine with the search and live in the location', async (t) => {
    const { page } = ui;
    await page.goto(`${svc.url}/ui/#/providers`);
    await expectRows(['Alpha Press', 'Beta Books', 'Gamma Journals']);

    // Harvesting status, with counts per value.
    await facet('harvesting', 'active').locator('.facet-count', { hasText: '2' }).waitFor();
    await facet('harvesting', 'inactive').locator('.facet-count', { hasText: '1' }).waitFor();
    await facet('harvesting', 'inactive').getByRole('checkbox').check();
    await expectRows(['Beta Books']);
    assert.match(page.url(), /#\/providers\?harvesting=inactive$/);
    await facet('harvesting', 'inactive').getByRole('checkbox').uncheck();
    await expectRows(['Alpha Press', 'Beta Books', 'Gamma Journals']);

    // Error codes (OR within a facet), named after their COUNTER exception.
    await facet('code', '2010').getByRole('checkbox').check();
    await expectRows(['Alpha Press']);
    assert.equal(
      await facet('code', '2010').locator('label').getAttribute('title'),
      'Requestor is Not Authorized to Access Usage for Institution',
    );
    await facet('code', '3031').getByRole('checkbox').check();
    await expectRows(['Alpha Press', 'Gamma Journals']);
    await shot('facets', t);
    await facet('code', '2010').getByRole('checkbox').uncheck();
    await facet('code', '3031').getByRole('checkbox').uncheck();

    // Report types: only requested ones are offered; TR does not match a longer name.
    await facet('report', 'PR').getByRole('checkbox').check();
    await expectRows(['Beta Books']);
    await facet('report', 'PR').getByRole('checkbox').uncheck();
    await facet('report', 'DR').getByRole('checkbox').check();
    await expectRows(['Gamma Journals']);
    await facet('report', 'DR').getByRole('checkbox').uncheck();
    await facet('report', 'IR').waitFor({ state: 'hidden' });

    // Facets AND the search box.
    await facet('report', 'TR').getByRole('checkbox').check();
    await expectRows(['Alpha Press', 'Gamma Journals']);
    await page.getByLabel('Search providers').fill('gam');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await expectRows(['Gamma Journals']);
    assert.match(page.url(), /\?q=gam&report=TR$/);
    await page.getByRole('button', { name: 'Reset all' }).click();
    await expectRows(['Alpha Press', 'Beta Books', 'Gamma Journals']);

    // A link with filters opens the filtered list.
    await page.goto(`${svc.url}/ui/#/providers?code=2010`);
    await page.reload();
    await expectRows(['Alpha Press']);
    assert.equal(await facet('code', '2010').getByRole('checkbox').isChecked(), true);
  });

  async function shot(name: string, t: { diagnostic(msg: string): void }) {
    await ui.shot(name, t);
  }

  it('adds, edits (secret kept) and lists aggregator settings', async (t) => {
    const { page } = ui;
    await page.goto(`${svc.url}/ui/#/providers`);
    await page.getByRole('link', { name: 'Aggregators' }).click();
    await page.getByText('No aggregator settings yet').waitFor();
    await page.getByRole('link', { name: 'Add aggregator' }).click();
    await page.getByLabel('Label', { exact: true }).fill('NSS Test');
    await page.getByLabel('Service type').selectOption('NSS');
    await page.getByLabel('apiKey value').fill('agg-key-secret');
    await page.getByLabel('customerId value').fill('c-1');
    await page.getByLabel('reportRelease value').fill('4');
    // Client-side check, shown next to the field.
    await page.getByRole('button', { name: 'Create aggregator' }).click();
    await page.locator('#agg-url-error', { hasText: 'Enter the service URL.' }).waitFor();
    assert.equal(await page.getAttribute('#agg-url', 'aria-invalid'), 'true');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'agg-url');
    await shot('aggregator-form', t);
    await page.getByLabel('Service URL').fill('https://nss.example.org/sushi');
    await page.getByRole('button', { name: 'Create aggregator' }).click();
    await page.getByText('Aggregator “NSS Test” added.').waitFor();
    const row = page.locator('#aggregators-table tbody tr', { hasText: 'NSS Test' });
    await row.waitFor();
    const list = await call(svc, 'GET', '/aggregator-settings');
    const stored = list.json.aggregatorSettings[0];
    aggregatorId = stored.id;
    assert.equal(stored.serviceType, 'NSS');
    // Answers mask credentials; the store (as the engine reads it) has them.
    assert.equal(stored.aggregatorConfig.apiKey, '********');
    assert.deepEqual((await svc.store.getAggregator('diku', aggregatorId)).aggregatorConfig, {
      apiKey: 'agg-key-secret',
      customerId: 'c-1',
      reportRelease: '4',
    });
    assert.equal(stored.accountConfig.configType, 'Manual');

    // Edit: the secret is not in the page; left empty it is kept; a value that is not a string (set
    // through the API) keeps its type.
    const withNumber = { ...stored, aggregatorConfig: { ...stored.aggregatorConfig, pageSize: 100 } };
    assert.equal(
      (await call(svc, 'PUT', `/aggregator-settings/${aggregatorId}`, { body: withNumber })).status,
      204,
    );
    await row.getByRole('link', { name: 'NSS Test', exact: true }).click();
    await page.locator('#aggregator-form').waitFor();
    assert.equal(await page.getByLabel('apiKey value').inputValue(), '');
    assert.doesNotMatch(await page.content(), /agg-key-secret/);
    await page.getByLabel('Label', { exact: true }).fill('NSS Main');
    await page.getByLabel('customerId value').fill('c-2');
    await page.getByRole('button', { name: 'Save aggregator' }).click();
    await page.getByText('Aggregator “NSS Main” saved.').waitFor();
    const edited = (await call(svc, 'GET', `/aggregator-settings/${aggregatorId}`)).json;
    assert.equal(edited.label, 'NSS Main');
    assert.deepEqual((await svc.store.getAggregator('diku', aggregatorId)).aggregatorConfig, {
      apiKey: 'agg-key-secret',
      customerId: 'c-2',
      reportRelease: '4',
      pageSize: 100,
    });
    await shot('aggregators', t);
  });

  it('edits a provider: changes persist, untouched credentials are kept, 422s show at the fields', async (t) => {
    const { page } = ui;
    await page.goto(`${svc.url}/ui/#/providers/${ids.gamma}`);
    await page.getByRole('link', { name: 'Edit' }).click();
    await page.waitForURL(/\/edit$/);
    await page.locator('#edit-provider').waitFor();
    assert.equal(await page.getByLabel('Label', { exact: true }).inputValue(), 'Gamma Journals');
    assert.equal(await page.getByLabel('API key').inputValue(), '');
    assert.equal(await page.getByLabel('Requestor ID').inputValue(), '');
    assert.equal(await page.getByLabel('Customer ID').inputValue(), 'cust');
    assert.doesNotMatch(await page.content(), /key-secret|req-secret/);
    await page.getByLabel('Label', { exact: true }).fill('Gamma Journals Online');
    await page.getByLabel('Description').fill('Journals of Gamma');
    await page.getByLabel('Service URL').fill('https://sushi.gamma.example.org/r51');
    await page.locator('#udp-reports').getByRole('checkbox', { name: 'DR', exact: true }).uncheck();
    await page.locator('#udp-reports').getByRole('checkbox', { name: 'PR', exact: true }).check();
    await page.getByLabel('Harvesting end').fill('2021-12');
    await page.getByLabel('Requestor ID').fill('new-req');
    await page.getByLabel('Requestor name').fill('Ann Example');
    await page.getByLabel('Requestor e-mail').fill('ann@example.org');
    await shot('provider-edit', t);
    await page.getByRole('button', { name: 'Save provider' }).click();
    await page.getByText('Provider “Gamma Journals Online” saved.').waitFor();
    await page.locator('#provider-title', { hasText: 'Gamma Journals Online' }).waitFor();
    const saved = (await call(svc, 'GET', `/usage-data-providers/${ids.gamma}`)).json;
    assert.equal(saved.description, 'Journals of Gamma');
    assert.equal(saved.harvestingConfig.sushiConfig.serviceUrl, 'https://sushi.gamma.example.org/r51');
    assert.deepEqual(saved.harvestingConfig.requestedReports, ['PR', 'TR']);
    assert.equal(saved.harvestingConfig.harvestingEnd, '2021-12');
    assert.equal(saved.harvestingConfig.harvestingStart, '2021-01');
    assert.deepEqual((await svc.store.getProvider('diku', ids.gamma)).sushiCredentials, {
      customerId: 'cust',
      requestorId: 'new-req',
      apiKey: 'key-secret',
      requestorName: 'Ann Example',
      requestorMail: 'ann@example.org',
    });

    // The service's 422 (an inactive provider with active harvesting) is shown at both fields.
    await page.getByRole('link', { name: 'Edit' }).click();
    await page.getByLabel('Provider status').selectOption('inactive');
    assert.equal(await page.getByLabel('Harvesting status').inputValue(), 'inactive');
    await page.getByLabel('Harvesting status').selectOption('active');
    await page.getByRole('button', { name: 'Save provider' }).click();
    await page.locator('#udp-status-error', { hasText: 'cannot be combined' }).waitFor();
    await page.locator('#udp-harvesting-status-error', { hasText: 'cannot be combined' }).waitFor();
    assert.equal(await page.getAttribute('#udp-status', 'aria-invalid'), 'true');
    assert.match((await page.getAttribute('#udp-status', 'aria-describedby')) ?? '', /udp-status-error/);
    await page.locator('#edit-provider-error', { hasText: 'Please check the marked fields.' }).waitFor();
    await shot('provider-edit-422', t);
    assert.equal((await call(svc, 'GET', `/usage-data-providers/${ids.gamma}`)).json.status, 'active');

    // "Remove the stored value" removes a credential.
    await page.getByLabel('Provider status').selectOption('active');
    await page.locator('#udp-apikey-remove').check();
    await page.getByRole('button', { name: 'Save provider' }).click();
    await page.getByText('Provider “Gamma Journals Online” saved.').waitFor();
    await page.locator('#provider-title', { hasText: 'Gamma Journals Online' }).waitFor();
    const removed = (await call(svc, 'GET', `/usage-data-providers/${ids.gamma}`)).json;
    assert.equal(removed.sushiCredentials.apiKey, undefined);
    assert.equal(removed.sushiCredentials.requestorId, '********');
    assert.equal((await svc.store.getProvider('diku', ids.gamma)).sushiCredentials?.requestorId, 'new-req');

    // When the API answers with masks, untouched fields send the masks back (the service keeps the
    // stored values); a changed field sends the new value.
    await page.route(
      `**/usage-data-providers/${ids.gamma}`,
      async (route) => {
        if (route.request().method() !== 'GET') return route.fallback();
        const res = await route.fetch();
        const body = await res.json();
        body.sushiCredentials = { ...body.sushiCredentials, requestorId: '********', customerId: '****' };
        await route.fulfill({ response: res, json: body });
      },
      { times: 1 },
    );
    await page.route(`**/usage-data-providers/${ids.gamma}`, (route) =>
      route.request().method() === 'PUT' ? route.fulfill({ status: 204 }) : route.fallback(),
    );
    await page.getByRole('link', { name: 'Edit' }).click();
    await page.locator('#edit-provider').waitFor();
    assert.equal(await page.getByLabel('Customer ID').inputValue(), '');
    assert.equal(await page.getByLabel('Customer ID').getAttribute('type'), 'password');
    await page.getByLabel('API key').fill('brand-new-key');
    const put = page.waitForRequest((req) => req.method() === 'PUT');
    await page.getByRole('button', { name: 'Save provider' }).click();
    const sent = (await put).postDataJSON();
    assert.deepEqual(sent.sushiCredentials, {
      customerId: '****',
      requestorId: '********',
      apiKey: 'brand-new-key',
      requestorName: 'Ann Example',
      requestorMail: 'ann@example.org',
    });
    // The form goes back to the provider page once the save is answered; wait for it, or that late
    // navigation could land on top of the next test's page.
    await page.waitForURL(new RegExp(`#/providers/${ids.gamma}$`));
    await page.unroute(`**/usage-data-providers/${ids.gamma}`);
  });

  it('chooses an aggregator in a provider and filters by it', async (t) => {
    const { page } = ui;
    await page.goto(`${svc.url}/ui/#/providers/${ids.alpha}/edit`);
    await page.locator('#edit-provider').waitFor();
    assert.equal(await page.locator('#udp-aggregator').isVisible(), false);
    await page.locator('#udp-via-aggregator').check();
    await page.locator('#udp-aggregator').selectOption(aggregatorId);
    await page.getByLabel('Provider code at the aggregator').fill('ALPHA');
    await page.getByLabel('Report release (aggregator)').selectOption('4');
    // Release 4 offers the COUNTER 4 reports; TR stays ticked (it was requested) until unticked.
    await page.locator('#udp-reports').getByRole('checkbox', { name: 'JR1', exact: true }).check();
    await page.locator('#udp-reports').getByRole('checkbox', { name: 'TR', exact: true }).uncheck();
    await shot('provider-aggregator', t);
    await page.getByRole('button', { name: 'Save provider' }).click();
    await page.getByText('Provider “Alpha Press” saved.').waitFor();
    const saved = (await call(svc, 'GET', `/usage-data-providers/${ids.alpha}`)).json;
    assert.equal(saved.harvestingConfig.harvestVia, 'aggregator');
    assert.deepEqual(saved.harvestingConfig.aggregator, {
      id: aggregatorId,
      name: 'NSS Main',
      vendorCode: 'ALPHA',
    });
    assert.equal(saved.harvestingConfig.reportRelease, '4');
    assert.deepEqual(saved.harvestingConfig.requestedReports, ['JR1']);
    await page.getByRole('link', { name: 'NSS Main' }).waitFor();

    await page.goto(`${svc.url}/ui/#/providers`);
    await facet('aggregator', aggregatorId).locator('.facet-count', { hasText: '1' }).waitFor();
    await facet('aggregator', aggregatorId).getByRole('checkbox').check();
    await expectRows(['Alpha Press']);
  });

  it('deactivates and activates a provider', async () => {
    const { page } = ui;
    await page.goto(`${svc.url}/ui/#/providers/${ids.gamma}`);
    await page.getByRole('button', { name: 'Deactivate' }).click();
    await page.getByText('Provider “Gamma Journals Online” deactivated.').waitFor();
    let p = (await call(svc, 'GET', `/usage-data-providers/${ids.gamma}`)).json;
    assert.equal(p.status, 'inactive');
    assert.equal(p.harvestingConfig.harvestingStatus, 'inactive');
    assert.equal((await svc.store.getProvider('diku', ids.gamma)).sushiCredentials?.requestorId, 'new-req');
    await page.getByRole('button', { name: 'Activate' }).click();
    await page.getByText('Provider “Gamma Journals Online” activated.').waitFor();
    p = (await call(svc, 'GET', `/usage-data-providers/${ids.gamma}`)).json;
    assert.equal(p.status, 'active');
    assert.equal(p.harvestingConfig.harvestingStatus, 'active');
    await page.getByRole('button', { name: 'Deactivate' }).waitFor();
  });

  it('deletes a provider and its counter reports only after confirmation', async (t) => {
    const { page } = ui;
    await page.goto(`${svc.url}/ui/#/providers/${ids.beta}`);
    await page.getByRole('button', { name: 'Delete' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete provider?' });
    await dialog.waitFor();
    assert.match(
      (await dialog.textContent()) ?? '',
      /Delete “Beta Books” and its 2 stored counter reports\?/,
    );
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Cancel');
    await shot('provider-delete-confirm', t);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Delete');
    await page.getByRole('button', { name: 'Delete' }).click();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    assert.equal((await call(svc, 'GET', `/usage-data-providers/${ids.beta}`)).status, 200);

    await page.getByRole('button', { name: 'Delete' }).click();
    await dialog.getByRole('button', { name: 'Delete provider' }).click();
    await page.waitForURL(/#\/providers$/);
    await page.getByText('Provider “Beta Books” and its counter reports deleted.').waitFor();
    assert.equal((await call(svc, 'GET', `/usage-data-providers/${ids.beta}`)).status, 404);
    const left = await call(
      svc,
      'GET',
      `/counter-reports?query=${encodeURIComponent(`providerId=="${ids.beta}"`)}`,
    );
    assert.equal(left.json.totalRecords, 0);
  });

  it('deletes an aggregator after a confirmation naming its providers', async (t) => {
    const { page } = ui;
    await page.goto(`${svc.url}/ui/#/aggregators`);
    const row = page.locator('#aggregators-table tbody tr', { hasText: 'NSS Main' });
    await row.locator('td', { hasText: /^1$/ }).waitFor();
    await row.getByRole('button', { name: 'Delete NSS Main' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete aggregator settings?' });
    assert.match((await dialog.textContent()) ?? '', /1 provider is harvested through it/);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    assert.equal((await call(svc, 'GET', `/aggregator-settings/${aggregatorId}`)).status, 200);
    await row.getByRole('button', { name: 'Delete NSS Main' }).click();
    await dialog.getByRole('button', { name: 'Delete aggregator' }).click();
    await page.getByText('Aggregator “NSS Main” deleted.').waitFor();
    await page.getByText('No aggregator settings yet').waitFor();
    assert.equal((await call(svc, 'GET', `/aggregator-settings/${aggregatorId}`)).status, 404);

    // Small screens: the facets fold into a "Filters" disclosure above the list.
    await page.setViewportSize({ width: 390, height: 800 });
    await page.goto(`${svc.url}/ui/#/providers`);
    await expectRows(['Alpha Press', 'Gamma Journals Online']);
    await page.getByText('Filters', { exact: true }).first().click();
    await facet('harvesting', 'active').waitFor();
    await shot('providers-narrow', t);
    await page.setViewportSize({ width: 1280, height: 900 });

    assert.deepEqual(ui.outside, []);
    assert.deepEqual(ui.problems(), []);
  });
});
