/**
 * The Jobs page shows each provider job's months report after a real harvest through the mock COUNTER
 * server: stored, empty, failed by code, skipped and deferred, zeros left out, each part explained by
 * its title; a tenant job shows none.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import type { RunningService } from '../../src/server.ts';
import { startMockCounterServer, type MockCounterServer } from '../../mock/counter-server.ts';
import { startOn } from '../helpers/service.ts';
import { addProvider, waitForJobs } from '../helpers/harvest.ts';
import { chromiumMissing, openUi, type UiBrowser } from '../helpers/browser.ts';

const skip = chromiumMissing();

describe('web UI: the months report of provider jobs', { skip }, () => {
  let svc: RunningService;
  let mock: MockCounterServer;
  let ui: UiBrowser;

  before(async () => {
    mock = await startMockCounterServer();
    svc = await startOn('pglite', undefined);
    const providers: [string, string[]][] = [
      ['ok-ui', ['PR']],
      ['nousage-ui', ['PR']],
      ['notready-ui', ['TR']],
      ['busy:1-ui', ['PR']],
    ];
    for (const [key, reports] of providers)
      await addProvider(svc, {
        label: `Press ${key}`,
        serviceUrl: `${mock.url}/${key}`,
        release: '5.1',
        reports,
        start: '2022-01',
        end: '2022-02',
      });
    await svc.jobs.startTenantJob('diku');
    await waitForJobs(svc, 120_000);
    ui = await openUi(svc, 'erm-ui-job-report-');
  });
  after(async () => {
    await ui?.close();
    await svc?.close();
    await mock?.close();
  });

  it('shows stored, empty, failed by code and deferred months per provider job', async (t) => {
    const { page } = ui;
    await page.goto(`${svc.url}/ui/#/jobs`);
    const row = (label: string) => page.locator('#jobs-table tbody tr', { hasText: label });
    await row('Press ok-ui').waitFor();
    const months = async (label: string) =>
      ((await row(label).locator('td.job-report').textContent()) ?? '').trim();
    assert.equal(await months('Press ok-ui'), '2 stored');
    assert.equal(await months('Press nousage-ui'), '0 stored2 empty');
    assert.equal(await months('Press notready-ui'), '0 stored2 failed (3031: 2)');
    assert.equal(await months('Press busy:1-ui'), '2 stored1 deferred');
    // The separators are drawn by CSS; each part says what it counts.
    const failed = row('Press notready-ui').locator('[data-part="failed"]');
    assert.equal(
      await failed.getAttribute('title'),
      'months that failed, by COUNTER exception code or HTTP status',
    );
    const separator = await row('Press busy:1-ui')
      .locator('[data-part="deferred"]')
      .evaluate((el) => getComputedStyle(el, '::before').content);
    assert.equal(separator, '" · "');
    const tenantRow = page.locator('#jobs-table tbody tr', { hasText: 'all providers' });
    assert.equal(((await tenantRow.locator('td.job-report').textContent()) ?? '').trim(), '');
    await ui.shot('jobs-report', t);
  });
});
