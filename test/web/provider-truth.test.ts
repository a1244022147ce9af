/**
 * The provider page's "Harvest again" and "Diagnostics" cards in a real browser: the diagnostics kept
 * on the provider's months are listed with their counts; "Harvest again" for a stored month starts a
 * job that asks the mock COUNTER server for that month again, without deleting the stored record.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import type { RunningService } from '../../src/server.ts';
import { call, startOn } from '../helpers/service.ts';
import { startMockCounterServer, type MockCounterServer } from '../../mock/counter-server.ts';
import { chromiumMissing, create, openUi, providerRecord, type UiBrowser } from '../helpers/browser.ts';

const skip = chromiumMissing();

describe('web UI: harvest again and diagnostics on the provider page', { skip }, () => {
  let svc: RunningService;
  let mock: MockCounterServer;
  let ui: UiBrowser;
  let providerId = '';
  let stored = '';

  before(async () => {
    mock = await startMockCounterServer();
    svc = await startOn('pglite', undefined);
    const base = providerRecord('Truth Provider');
    providerId = await create(svc, '/usage-data-providers', {
      ...base,
      harvestingConfig: {
        ...base.harvestingConfig,
        sushiConfig: { serviceType: 'cs51', serviceUrl: `${mock.url}/ok-ui` },
        requestedReports: ['PR'],
        harvestingStart: '2022-01',
        harvestingEnd: '2022-01',
      },
    });
    stored = await create(svc, '/counter-reports', {
      providerId,
      release: '5.1',
      reportName: 'PR',
      yearMonth: '2022-01',
      downloadTime: '2023-01-01T00:00:00Z',
      itemCount: 2,
      usageTotals: { Searches_Platform: 7 },
      diagnostics: [{ code: 'metric_not_allowed', message: 'Total_Item_Requests in DR', count: 3 }],
      report: { Report_Header: { Report_ID: 'PR', Release: '5.1' }, Report_Items: [] },
    });
    ui = await openUi(svc, 'erm-ui-truth-');
  });

  after(async () => {
    await ui?.close();
    await svc?.close();
    await mock?.close();
  });

  it('lists the diagnostics and harvests a stored month again without deleting it', async () => {
    const { page } = ui;
    await page.goto(`${svc.url}/ui/#/providers/${providerId}`);
    const codes = page.locator('#diagnostic-codes');
    await codes.waitFor();
    assert.deepEqual(await codes.locator('tbody td').allTextContents(), ['metric_not_allowed', '3', '1']);
    await page.getByText('1 of 1 stored months have diagnostics').waitFor();

    await page.locator('#again-from').fill('2022-01');
    await page.locator('#again-to').fill('2022-01');
    await page.locator('#again-reports').fill('PR');
    await page.locator('#again-form').getByRole('button', { name: 'Harvest again' }).click();
    await page.getByText(/Harvesting again scheduled for tenant: diku, providerId: .*, 2022-01 PR/).waitFor();
    await page.locator('.last-job', { hasText: /finished\s*success/ }).waitFor({ timeout: 60_000 });
    const asked = mock.requestsFor('ok-ui').filter((r) => r.reportId);
    assert.equal(asked.length, 1);
    assert.equal(asked[0].query.begin_date, '2022-01-01');
    const now = await call(svc, 'GET', `/counter-reports/${stored}`);
    assert.equal(now.status, 200, 'the same record, not deleted');
    assert.ok(now.json.itemCount > 0);
  });
});
