/**
 * The month matrix in a real browser: one grid per report with years as rows (ten years fit a laptop
 * screen), the states of stored months (an empty report without 3030 is shown as a month without
 * usage once its items are counted; `itemCount` is used when a record carries it), the month dialog
 * (details, report header, download of the stored JSON, delete with confirmation) and "harvest again"
 * (delete, then the provider's job against the mock COUNTER server stores the month anew).
 */
import { strict as assert } from 'node:assert';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type { RunningService } from '../../src/server.ts';
import { call, startOn } from '../helpers/service.ts';
import { startMockCounterServer, type MockCounterServer } from '../../mock/counter-server.ts';
import { chromiumMissing, create, openUi, providerRecord, type UiBrowser } from '../helpers/browser.ts';

const skip = chromiumMissing();

const HEADER = {
  Report_Name: 'Title Report',
  Report_ID: 'TR',
  Release: '5.1',
  Institution_Name: 'Matrix University',
  Created: '2025-04-02T10:00:00Z',
};
const item = (title: string) => ({ Title: title, Platform: 'P', Attribute_Performance: [] });

describe('web UI: month matrix', { skip }, () => {
  let svc: RunningService;
  let mock: MockCounterServer;
  let ui: UiBrowser;
  let providerId = '';
  const records: Record<string, string> = {};

  before(async () => {
    mock = await startMockCounterServer();
    svc = await startOn('pglite', undefined);
    providerId = await create(
      svc,
      '/usage-data-providers',
      providerRecord('Matrix Provider', {
        harvestingConfig: {
          ...providerRecord('').harvestingConfig,
          requestedReports: ['TR', 'PR'],
          harvestingStart: '2016-01',
          harvestingEnd: '2025-12',
        },
      }),
    );
    const base = { providerId, release: '5.1', reportName: 'TR', downloadTime: '2025-04-02T10:00:00Z' };
    const months: [string, Record<string, unknown>][] = [
      ['2025-03', { report: { Report_Header: HEADER, Report_Items: [item('A'), item('B')] } }],
      ['2025-04', { report: { Report_Header: HEADER, Report_Items: [] } }],
      [
        '2025-05',
        { report: { Report_Header: HEADER, Report_Items: [] }, harvestState: { state: 'empty', code: 3030 } },
      ],
      [
        '2024-01',
        {
          failedAttempts: 1,
          failedReason:
            'Report not valid: Exception{Number=2010, Severity=ERROR, Message=Requestor Not Authorized}',
        },
      ],
      ['2023-06', { itemCount: 0 }],
      ['2023-07', { itemCount: 5 }],
    ];
    for (const [yearMonth, extra] of months)
      records[yearMonth] = await create(svc, '/counter-reports', { ...base, yearMonth, ...extra });
    ui = await openUi(svc, 'erm-ui-matrix-');
  });

  after(async () => {
    await ui?.close();
    await svc?.close();
    await mock?.close();
  });

  const cell = (report: string, month: string) =>
    ui.page.locator(`#month-matrix td[data-report="${report}"][data-month="${month}"]`);

  it('shows one grid per report with years as rows and the state of each month', async (t) => {
    const { page } = ui;
    await page.goto(`${svc.url}/ui/#/providers/${providerId}`);
    const tr = page.locator('#month-matrix table[data-report="TR"]');
    await tr.waitFor();
    const years = await tr.locator('tbody th').allTextContents();
    assert.deepEqual(years, ['2025', '2024', '2023', '2022', '2021', '2020', '2019', '2018', '2017', '2016']);
    assert.deepEqual((await tr.locator('thead th').allTextContents()).slice(1, 13), [
      'Jan',
      'Feb',
      'Mar',
      'Apr',
      'May',
      'Jun',
      'Jul',
      'Aug',
      'Sep',
      'Oct',
      'Nov',
      'Dec',
    ]);
    // Ten years fit a laptop screen (1280×800 leaves about 500 px below the provider's settings).
    const box = await tr.boundingBox();
    assert.ok(box && box.height < 480, `matrix height ${box?.height}`);

    const expected: Record<string, string> = {
      '2025-03': 'harvested',
      '2025-04': 'empty', // no items and no 3030: counted after the page loaded
      '2025-05': 'empty',
      '2024-01': 'failed',
      '2023-06': 'empty', // itemCount 0 on the record
      '2023-07': 'harvested',
      '2016-01': 'missing',
    };
    for (const [month, state] of Object.entries(expected))
      await page
        .locator(`#month-matrix td[data-report="TR"][data-month="${month}"][data-state="${state}"]`)
        .waitFor();
    assert.match(
      (await cell('TR', '2025-03').getAttribute('title')) ?? '',
      /^TR 2025-03: Harvested — 2 items$/,
    );
    assert.equal(
      await cell('TR', '2025-04').getByRole('button').getAttribute('aria-label'),
      'TR April 2025: No usage',
    );
    // Months of the TR row total per year; the failed month is not counted.
    assert.equal(await tr.locator('tbody tr').first().locator('td.year-sum').textContent(), '3');

    // Tabs: one per requested report, arrow keys move between them.
    const trTab = page.getByRole('tab', { name: 'TR' });
    assert.equal(await trTab.getAttribute('aria-selected'), 'true');
    assert.match((await trTab.textContent()) ?? '', /1 failed/);
    await trTab.focus();
    await page.keyboard.press('ArrowRight');
    const prTab = page.getByRole('tab', { name: 'PR' });
    assert.equal(await prTab.getAttribute('aria-selected'), 'true');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('role')), 'tab');
    await page.locator('#month-matrix table[data-report="PR"]').waitFor();
    assert.equal(await tr.isVisible(), false);
    await page.keyboard.press('ArrowLeft');
    await tr.waitFor();
    await ui.shot('matrix', t);
  });

  it('opens a month: details, report header and the stored JSON for download', async (t) => {
    const { page } = ui;
    const button = cell('TR', '2025-03').getByRole('button');
    await button.click();
    const dialog = page.getByRole('dialog', { name: 'TR · March 2025' });
    await dialog.getByText('Download JSON').waitFor();
    const text = (await dialog.textContent()) ?? '';
    assert.match(text, /StateHarvested/);
    assert.match(text, /Release5\.1/);
    assert.match(text, /Items2/);
    await dialog.getByText('Report header').click();
    await dialog.getByText('"Institution_Name": "Matrix University"').waitFor();
    await ui.shot('month-dialog', t);

    const downloading = page.waitForEvent('download');
    await dialog.getByRole('button', { name: 'Download JSON' }).click();
    const download = await downloading;
    assert.equal(download.suggestedFilename(), 'Matrix_Provider_TR_2025-03_r5.1.json');
    const saved = JSON.parse(await readFile(await download.path(), 'utf8'));
    const stored = (await call(svc, 'GET', `/counter-reports/${records['2025-03']}`)).json;
    assert.deepEqual(saved, stored);
    assert.equal(saved.report.Report_Items.length, 2);

    // Escape closes the dialog and the focus returns to the month.
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    assert.equal(
      await page.evaluate(() => document.activeElement?.getAttribute('aria-label')),
      'TR March 2025: Harvested',
    );

    // A failed month tells why; a missing one offers a harvest.
    await cell('TR', '2024-01').getByRole('button').click();
    const failed = page.getByRole('dialog', { name: 'TR · January 2024' });
    await failed.getByText('Requestor Not Authorized').waitFor();
    assert.match((await failed.textContent()) ?? '', /Failed attempts1/);
    await failed.getByRole('button', { name: 'Close' }).first().click();
    await cell('TR', '2016-01').getByRole('button').click();
    const missing = page.getByRole('dialog', { name: 'TR · January 2016' });
    await missing.getByText('Nothing is stored for this month.').waitFor();
    await page.keyboard.press('Escape');
    await missing.waitFor({ state: 'detached' });
  });

  it('deletes a month only after confirmation', async (t) => {
    const { page } = ui;
    await cell('TR', '2025-04').getByRole('button').click();
    const dialog = page.getByRole('dialog', { name: 'TR · April 2025' });
    await dialog.getByRole('button', { name: 'Delete month' }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete this month?' });
    assert.match(
      (await confirm.textContent()) ?? '',
      /TR report for April 2025 \(release 5\.1\) of “Matrix Provider”/,
    );
    await ui.shot('month-delete-confirm', t);
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await confirm.waitFor({ state: 'detached' });
    assert.equal((await call(svc, 'GET', `/counter-reports/${records['2025-04']}`)).status, 200);
    await dialog.getByRole('button', { name: 'Delete month' }).click();
    await confirm.getByRole('button', { name: 'Delete month' }).click();
    await page.getByText('TR 2025-04 (release 5.1) deleted.').waitFor();
    await page
      .locator('#month-matrix td[data-report="TR"][data-month="2025-04"][data-state="missing"]')
      .waitFor();
    assert.equal((await call(svc, 'GET', `/counter-reports/${records['2025-04']}`)).status, 404);
  });

  it('harvests a month again: deleted, then stored anew by the provider job', async (t) => {
    const { page } = ui;
    const id = await create(
      svc,
      '/usage-data-providers',
      providerRecord('Again Provider', {
        harvestingConfig: {
          ...providerRecord('').harvestingConfig,
          sushiConfig: { serviceType: 'cs51', serviceUrl: `${mock.url}/ok` },
          harvestingStart: '2022-01',
          harvestingEnd: '2022-01',
        },
      }),
    );
    const old = await create(svc, '/counter-reports', {
      providerId: id,
      release: '5.1',
      reportName: 'TR',
      yearMonth: '2022-01',
      downloadTime: '2023-01-01T00:00:00Z',
      report: { Report_Header: HEADER, Report_Items: [item('stale')] },
    });
    await page.goto(`${svc.url}/ui/#/providers/${id}`);
    await cell('TR', '2022-01').getByRole('button').click();
    const dialog = page.getByRole('dialog', { name: 'TR · January 2022' });
    await dialog.getByRole('button', { name: 'Harvest again' }).click();
    await page
      .getByRole('dialog', { name: 'Harvest this month again?' })
      .getByRole('button', { name: 'Harvest again' })
      .click();
    await page.getByText('TR 2022-01: harvesting again scheduled.').waitFor();
    await page.locator('.last-job', { hasText: /finished\s*success/ }).waitFor({ timeout: 60_000 });
    // Harvested again without a delete: the same record, now with the provider's (changed) data.
    const query = encodeURIComponent(`providerId=="${id}"`);
    let now = await call(svc, 'GET', `/counter-reports?query=${query}`);
    for (let i = 0; i < 100 && now.json.counterReports[0]?.report.Report_Items.length <= 1; i++) {
      await new Promise((r) => setTimeout(r, 100));
      now = await call(svc, 'GET', `/counter-reports?query=${query}`);
    }
    assert.equal(now.json.totalRecords, 1);
    const fresh = now.json.counterReports[0];
    assert.equal(fresh.id, old, 'the month is updated in place, never deleted');
    assert.ok(fresh.report.Report_Items.length > 1);
    await ui.shot('harvested-again', t);

    // Small screens: the grid keeps its twelve columns.
    await page.setViewportSize({ width: 390, height: 800 });
    await page.goto(`${svc.url}/ui/#/providers/${providerId}`);
    await page.locator('#month-matrix table[data-report="TR"]').waitFor();
    await ui.shot('matrix-narrow', t);

    assert.deepEqual(ui.outside, []);
    assert.deepEqual(ui.problems(), []);
  });
});
