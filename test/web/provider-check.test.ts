/**
 * The provider page's "Check provider" button (Chromium through playwright-core): the check asks the
 * mock COUNTER provider and shows reachable, credentials, reports offered (and the configured ones it
 * does not offer), release detected; rejected credentials are shown as such, never the secrets. And its
 * "Consortium members" card: "Sync members" shows what would change, does it when confirmed, lists the
 * member providers and says the outcome; a refused members list is an error notice without secrets.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
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
    const members = readFileSync(
      join(import.meta.dirname, '..', 'fixtures', 'members', 'members-r51.json'),
      'utf8',
    );
    mock.members.set('ok-cons-w', JSON.parse(members) as unknown[]);
    ids.consortium = await create(svc, '/usage-data-providers', {
      ...record('North Consortium', 'ok-cons-w'),
      sushiCredentials: { customerId: 'CONS-0001', requestorId: 'req-secret', apiKey: 'key-secret' },
    });
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

  it('syncs a consortium’s members from the provider page and says what it did', async (t) => {
    const { page } = ui;
    await page.goto(`${svc.url}/ui/#/providers/${ids.consortium}`);
    await page.getByRole('heading', { name: 'Consortium members' }).waitFor();
    await page.locator('#members-list', { hasText: 'No member providers yet.' }).waitFor();
    await page.locator('#members-sync').click();
    const dialog = page.locator('#confirm-dialog');
    await dialog.getByText('4 members listed: 3 to be added.').waitFor();
    await ui.shot('members-preview', t);
    await dialog.getByRole('button', { name: 'Sync members' }).click();
    const notice = page.locator('.notice-success');
    await notice.getByText('Members synced: 4 members listed: 3 added.').waitFor();
    await page.locator('#members-list li').nth(2).waitFor();
    assert.deepEqual(await page.locator('#members-list li a').allTextContents(), [
      'Example College (North Consortium)',
      'Example Institute of Technology (North Consortium)',
      'Example University Library (North Consortium)',
    ]);
    await ui.shot('members-synced', t);

    await page.locator('#members-sync').click();
    await notice.getByText('Members in step: 4 members listed: 3 unchanged.').waitFor();
    assert.equal(await dialog.count(), 0, 'nothing to confirm');

    await page.locator('#members-list li a').first().click();
    await page.getByRole('heading', { name: /Example College/ }).waitFor();
    assert.equal(await page.locator('#members').count(), 0, 'a member has no members card');
  });

  it('shows a refused members list as an error, without the secrets', async (t) => {
    const { page } = ui;
    await page.goto(`${svc.url}/ui/#/providers/${ids.bad}`);
    await page.getByRole('heading', { name: 'Consortium members' }).waitFor();
    await page.locator('#members-sync').click();
    const error = page.locator('.notice-error', { hasText: 'Members not synced:' });
    await error.waitFor();
    const text = (await error.textContent()) ?? '';
    assert.ok(!text.includes('req-secret') && !text.includes('key-secret'), text);
    await ui.shot('members-refused', t);
    assert.deepEqual(ui.problems(), []);
    assert.deepEqual(ui.outside, []);
  });
});
