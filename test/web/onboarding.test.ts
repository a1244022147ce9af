/**
 * The web UI's onboarding in a real browser: the add-provider form started from a COUNTER Registry
 * search (the recorded registry of mock/registry-server.ts, reached through the service), and a
 * consortium's members listed as a group under it in the providers list.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { startRegistryServer, type RegistryServer } from '../../mock/registry-server.ts';
import type { RunningService } from '../../src/server.ts';
import { chromiumMissing, create, openUi, providerRecord, type UiBrowser } from '../helpers/browser.ts';
import { call, startOn } from '../helpers/service.ts';

const skip = chromiumMissing();
const EJO = '9763ab6e-b65f-472e-950e-2f17d5cec18f';

describe('web UI: COUNTER Registry and consortia', { skip }, () => {
  let registry: RegistryServer;
  let svc: RunningService;
  let ui: UiBrowser;

  before(async () => {
    registry = await startRegistryServer();
    svc = await startOn('pglite', undefined, { config: { registryUrl: registry.url } });
    ui = await openUi(svc, 'erm-ui-onboarding-');
  });
  after(async () => {
    await ui?.close();
    await svc?.close();
    await registry?.close();
  });

  it('fills the add-provider form from a registry platform and stores the registry link', async (t) => {
    const { page } = ui;
    await page.goto(`${svc.url}/ui/#/providers`);
    await page.getByRole('button', { name: 'Add provider' }).click();
    await page.getByLabel('Search the COUNTER Registry').fill('journals online');
    await page.getByLabel('Search the COUNTER Registry').press('Enter');
    const choice = page.getByRole('button', { name: 'Example Journals Online (EJO) — COUNTER 5, 5.1' });
    await choice.click();
    await page
      .locator('#udp-registry-message', {
        hasText: 'Credentials it needs: Customer ID, Requestor ID, API key.',
      })
      .waitFor();
    assert.equal(await page.getByLabel('Label', { exact: true }).inputValue(), 'Example Journals Online');
    assert.equal(await page.getByLabel('Service type').inputValue(), 'cs51');
    assert.equal(
      await page.getByLabel('Service URL').inputValue(),
      'https://sushi.example-journals.org/counter/r51',
    );
    await page.getByLabel('Customer ID').fill('c-ui');
    await page.getByLabel('Requestor ID').fill('r-ui-secret');
    await page.getByLabel('API key').fill('k-ui-secret');
    await page.getByLabel('Harvesting start').fill('2024-01');
    await ui.shot('registry-filled', t);
    await page.getByRole('button', { name: 'Create provider' }).click();
    await page.getByText('Provider “Example Journals Online” added.').waitFor();

    const list = await call(svc, 'GET', '/usage-data-providers');
    const p = list.json.usageDataProviders[0];
    assert.equal(p.harvestingConfig.registry.platformId, EJO);
    assert.deepEqual(p.harvestingConfig.registry.requires, {
      customerId: true,
      requestorId: true,
      apiKey: true,
      platform: false,
    });
    assert.equal(p.harvestingConfig.reportRelease, '5.1');
    assert.match(p.notes, /administration portal/);
    assert.equal(p.sushiCredentials.apiKey, '********');

    // A search that finds nothing says so.
    await page.getByRole('button', { name: 'Add provider' }).click();
    await page.getByLabel('Search the COUNTER Registry').fill('zzz nothing');
    await page.getByRole('button', { name: 'Search registry' }).click();
    await page
      .locator('#udp-registry-message', { hasText: 'No platform of the COUNTER Registry matches' })
      .waitFor();
    assert.deepEqual(ui.outside, [], 'the page talks to the service only');
    assert.deepEqual(ui.problems(), []);
  });

  it('lists a consortium’s members under it', async (t) => {
    const parentId = await create(svc, '/usage-data-providers', providerRecord('North Consortium'));
    const member = (name: string, customerId: string, gone = false) =>
      providerRecord(`${name} (North Consortium)`, {
        harvestingConfig: {
          ...providerRecord('').harvestingConfig,
          consortium: { parentId, customerId, name, ...(gone ? { gone: true } : {}) },
        },
      });
    await create(svc, '/usage-data-providers', member('Example College', 'M-2'));
    await create(svc, '/usage-data-providers', member('Art School', 'M-1', true));
    await create(svc, '/usage-data-providers', providerRecord('Alpha Press'));
    const { page } = ui;
    await page.goto(`${svc.url}/ui/#/providers`);
    await page.reload();
    await page
      .waitForFunction(() => document.querySelectorAll('#providers-table tbody tr').length === 5, undefined, {
        timeout: 30_000,
      })
      .catch(async (err: unknown) => {
        t.diagnostic(`problems: ${ui.problems().join('; ')}`);
        t.diagnostic(`page: ${(await page.textContent('main')) ?? ''}`);
        throw err;
      });
    const rows = await page.$$eval('#providers-table tbody tr', (trs) =>
      trs.map((tr) => ({
        label: tr.querySelector('th a')?.textContent,
        member: tr.classList.contains('member-row'),
        sub: [...tr.querySelectorAll('th .sub')].map((s) => s.textContent).join(' | '),
      })),
    );
    assert.deepEqual(rows, [
      { label: 'Alpha Press', member: false, sub: '' },
      { label: 'Example Journals Online', member: false, sub: 'Example Scholarly Publishing Ltd' },
      { label: 'North Consortium', member: false, sub: 'Consortium: 2 members' },
      {
        label: 'Art School (North Consortium)',
        member: true,
        sub: 'Member of North Consortium · no longer listed',
      },
      { label: 'Example College (North Consortium)', member: true, sub: 'Member of North Consortium' },
    ]);
    await ui.shot('consortium-group', t);
  });
});
