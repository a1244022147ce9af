/**
 * The usage pages in a real browser: a provider's page uploads a COUNTER file (refused without the
 * overwrite choice when its months exist, stored with it), then shows the chart of a metric per month,
 * the totals table and the top items, as the usage API gives them; download buttons point at the
 * export URLs of the chosen report or view and range; the tenant's page ranks items across providers;
 * the month matrix tells uploaded months with usage from a month stored with no usage, and the month
 * dialog shows the month's totals, its source and its download buttons.
 */
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunningService } from '../../src/server.ts';
import { call, startOn } from '../helpers/service.ts';
import { chromiumMissing, create, openUi, providerRecord, type UiBrowser } from '../helpers/browser.ts';
import { FIXTURES } from '../helpers/sushi.ts';

const skip = chromiumMissing();
const TSV = join(FIXTURES, 'r51', 'TR_sample_r51.tsv');

describe('web UI: usage pages and upload', { skip }, () => {
  let svc: RunningService;
  let ui: UiBrowser;
  let providerId = '';

  before(async () => {
    svc = await startOn('pglite', undefined);
    providerId = await create(
      svc,
      '/usage-data-providers',
      providerRecord('Usage Provider', {
        harvestingConfig: {
          ...providerRecord('').harvestingConfig,
          harvestingStart: '2021-01',
          harvestingEnd: '2022-12',
        },
      }),
    );
    // A month stored with no usage (an empty report without 3030).
    await create(svc, '/counter-reports', {
      providerId,
      release: '5.1',
      reportName: 'TR',
      yearMonth: '2021-12',
      downloadTime: '2023-01-02T10:00:00Z',
      itemCount: 0,
      usageTotals: {},
      report: { Report_Header: { Report_ID: 'TR', Release: '5.1' }, Report_Items: [] },
    });
    ui = await openUi(svc, 'erm-ui-usage-');
  });

  after(async () => {
    await ui?.close();
    await svc?.close();
  });

  it('uploads a file with the overwrite choice, then shows chart, totals and top items', async (t) => {
    const { page } = ui;
    await page.goto(`${svc.url}/ui/#/usage/${providerId}`);
    await page.getByText('No usage stored yet.').waitFor();
    await page.locator('#usage-title a', { hasText: 'Usage Provider' }).waitFor();

    await page.setInputFiles('#upload-file', TSV);
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.locator('#upload-form .notice', { hasText: 'TR_sample_r51.tsv: 12 months stored.' }).waitFor();

    // The chart: one bar per month of the range, values as the API totals.
    await page.locator('#usage-chart svg').waitFor();
    // The numbers reloaded after the upload; its notice stays.
    assert.equal(
      await page.locator('#upload-form .notice').textContent(),
      'TR_sample_r51.tsv: 12 months stored.',
    );
    const api = await call(
      svc,
      'GET',
      `/usage/totals?providerId=${providerId}&report=TR&from=2022-01&to=2022-12`,
    );
    const bars = page.locator('#usage-chart rect.bar');
    assert.equal(await bars.count(), 12);
    assert.equal(await page.locator('#usage-metric').inputValue(), 'Total_Item_Requests');
    assert.equal(
      Number(await bars.first().getAttribute('data-value')),
      api.json.months[0].totals.Total_Item_Requests,
    );
    // The totals table: 12 months and a total row, all metrics.
    const rows = page.locator('#usage-totals-table tbody tr');
    assert.equal(await rows.count(), 13);
    const headers = await page.locator('#usage-totals-table thead th').allTextContents();
    assert.deepEqual(headers.slice(1), api.json.metrics);
    // Top items, highest first.
    const top = page.locator('#usage-top-table tbody tr');
    assert.ok((await top.count()) > 0);
    const counts = (await page.locator('#usage-top-table tbody td.num').allTextContents()).map((c) =>
      Number(c.replace(/,/g, '')),
    );
    assert.deepEqual(
      counts,
      [...counts].sort((a, b) => b - a),
    );

    // Another metric redraws the chart.
    await page.selectOption('#usage-metric', 'Unique_Item_Requests');
    await page.locator('#usage-chart h2', { hasText: 'Unique_Item_Requests per month' }).waitFor();
    assert.equal(
      Number(await page.locator('#usage-chart rect.bar').first().getAttribute('data-value')),
      api.json.months[0].totals.Unique_Item_Requests,
    );
    await ui.shot('usage-provider', t);

    // Again without overwrite: refused, naming the months; with overwrite: stored.
    await page.setInputFiles('#upload-file', TSV);
    await page.getByRole('button', { name: 'Upload' }).click();
    await page
      .locator('#upload-form .notice', { hasText: /Report already existing for months: 2022-01, 2022-02/ })
      .waitFor();
    await page.check('#upload-overwrite');
    await page.setInputFiles('#upload-file', TSV);
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.locator('#upload-form .notice', { hasText: '12 months stored.' }).waitFor();
    assert.deepEqual(ui.problems(), []);
  });

  it('download buttons point at the export of the chosen report or view and range', async () => {
    const { page } = ui;
    await page.goto(`${svc.url}/ui/#/usage/${providerId}?report=TR&from=2022-03&to=2022-05`);
    const tsv = page.locator('#usage-downloads button[data-format="tsv"]');
    await tsv.waitFor();
    assert.equal(
      await tsv.getAttribute('data-href'),
      `/counter-reports/export/provider/${providerId}/report/TR/version/5.1/from/2022-03/to/2022-05?format=tsv`,
    );
    assert.deepEqual(await page.locator('#usage-downloads button').allTextContents(), [
      'TSV',
      'CSV',
      'XLSX',
      'JSON',
    ]);
    await page.selectOption('#usage-download-report', 'TR_J1');
    assert.equal(
      await page.locator('#usage-downloads button[data-format="xlsx"]').getAttribute('data-href'),
      `/counter-reports/export/provider/${providerId}/report/TR_J1/version/5.1/from/2022-03/to/2022-05?format=xlsx`,
    );
    assert.equal(await page.locator('#usage-chart rect.bar').count(), 3);
  });

  it('the tenant page ranks items across providers', async () => {
    const { page } = ui;
    await page.goto(`${svc.url}/ui/#/usage`);
    await page.locator('#usage-top-table').waitFor();
    assert.equal(await page.locator('h1#usage-title').textContent(), 'Usage of all providers');
    assert.ok(
      (await page.locator('#usage-top-table thead th').allTextContents()).includes('Provider'),
      'a provider column',
    );
    assert.equal(await page.locator('#usage-upload').count(), 0);
  });

  it('the matrix tells months with usage from a month with none; the dialog shows totals and downloads', async () => {
    const { page } = ui;
    await page.goto(`${svc.url}/ui/#/providers/${providerId}`);
    await page.locator('#usage-link').waitFor();
    const cell = (month: string) => page.locator(`#month-matrix td[data-report="TR"][data-month="${month}"]`);
    await page.locator('#month-matrix td[data-month="2022-01"][data-state="harvested"]').waitFor();
    assert.equal(await cell('2021-12').getAttribute('data-state'), 'empty');
    await cell('2022-01').getByRole('button').click();
    const dialog = page.locator('#month-dialog');
    await dialog.locator('#month-usage').waitFor();
    assert.match((await dialog.textContent()) ?? '', /uploaded file TR_sample_r51\.tsv/);
    const id = await cell('2022-01').getAttribute('data-id');
    assert.equal(
      await dialog.locator('button[data-format="csv"]').getAttribute('data-href'),
      `/counter-reports/export/${id}?format=csv`,
    );
    assert.match((await dialog.locator('#month-usage').textContent()) ?? '', /Total_Item_Requests/);
    assert.deepEqual(ui.problems(), []);
  });
});
