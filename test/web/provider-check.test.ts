/**
 * The provider page's "Check provider" button (Chromium through playwright-core): the check asks the
 * mock COUNTER provider and shows reachable, credentials, reports offered (and the configured ones it
 * does not offer), release detected; rejected credentials are shown as such, never the secrets.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import type { RunningService } from '../../src/server.ts';
import { startMockCounterServer, type MockCounterServer } from '../../mock/counter-server.ts';
import { startOn } from '../helpers/service.ts';
import { chromiumMissing, create, openUi, providerRecord, type UiBrowser } from '../helpers/browser.ts';

describe('web UI: check a provider', { skip: chromiumMissing() }, () => {
  let svc: RunningService;
  let mock: MockCounterServer;
  let ui: UiBrowser;
  const ids: Record<string, string> = {};

  const record = (label: string, key: string) => {
    const base = providerRecord(label);
    return {
      ...base,
      harvestingConfig: {
        ...base.harvestingConfig,
        sushiConfig: { serviceType: 'cs51', serviceUrl: `${mock.url}/${key}` },
        requestedReports: ['TR', 'PR'],
      },
    };
  };

  before(async () => {
    mock = await startMockCounterServer();
    svc = await startOn('pglite', undefined);
    ids.offers = await create(svc, '/usage-data-providers', record('Offers Press', 'offers:PR-w'));
    ids.bad = await create(svc, '/usage-data-providers', record('Locked Books', 'badcreds-w'));
    ui = await openUi(svc, 'erm-ui-check-');
  });
  after(async () => {
    await ui?.close();
    await svc?.close();
    await mock?.close();
  });

  const value = (name: string) => ui.page.locator(`.provider-check [data-check="${name}"]`);

  it('shows what the provider offers and which configured report it does not', async (t) => {
    const { page } = ui;
    await page.goto(`${svc.url}/ui/#/providers/${ids.offers}`);
    await page.getByRole('heading', { name: /Offers Press/ }).waitFor();
    await page.getByRole('button', { name: 'Check provider' }).click();
    await page.getByText('The provider answers.').waitFor();
    assert.equal(await value('Reachable').textContent(), 'yes');
    assert.equal(await value('Credentials accepted').textContent(), 'yes');
    assert.equal(await value('Reports offered').textContent(), 'PR');
    assert.equal(await value('Not offered (skipped)').textContent(), 'TR');
    assert.match((await value('Release detected').textContent()) ?? '', /^5\.1 /);
    await ui.shot('check-ok', t);
  });

  it('shows rejected credentials without the secrets', async (t) => {
    const { page } = ui;
    await page.goto(`${svc.url}/ui/#/providers/${ids.bad}`);
    await page.getByRole('heading', { name: /Locked Books/ }).waitFor();
    await page.getByRole('button', { name: 'Check provider' }).click();
    await page.getByText('The provider needs attention.').waitFor();
    assert.equal(await value('Credentials accepted').textContent(), 'no');
    const text = (await page.locator('.provider-check').textContent()) ?? '';
    assert.match(text, /credentials rejected/);
    assert.ok(!text.includes('req-secret') && !text.includes('key-secret'), text);
    await ui.shot('check-rejected', t);
    assert.deepEqual(ui.problems(), []);
    assert.deepEqual(ui.outside, []);
  });
});
