/**
 * The Jobs page's filters and the periodic schedule in a real browser: each filter (provider by label,
 * result, type, start date range) narrows the list through CQL, paging keeps the filters, the location
 * keeps them; the schedule is set, shown with its next run, saved again without losing
 * `lastTriggeredAt`, its validation messages (client, 400, 422, empty 500) appear at the fields, and
 * it is deleted only after confirmation.
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { RunningService } from '../../src/server.ts';
import { saveJobInfo, type JobInfo } from '../../src/store/sql/job-info.ts';
import { call, startOn } from '../helpers/service.ts';
import { chromiumMissing, create, openUi, providerRecord, type UiBrowser } from '../helpers/browser.ts';

const skip = chromiumMissing();

describe('web UI: job filters and the periodic schedule', { skip }, () => {
  let svc: RunningService;
  let ui: UiBrowser;
  let alpha = '';
  const NOTE = 'Not requested, the provider does not offer them (its /reports list): TR';
  let beta = '';

  /** A finished job started at `startedAt`. */
  function job(startedAt: string, fields: Partial<JobInfo>): JobInfo {
    const start = Date.parse(startedAt);
    return {
      id: randomUUID(),
      type: 'provider',
      timestamp: start,
      startedAt: new Date(start).toISOString().replace('Z', '+00:00'),
      finishedAt: new Date(start + 60_000).toISOString().replace('Z', '+00:00'),
      result: 'success',
      ...fields,
    };
  }

  before(async () => {
    svc = await startOn('pglite', undefined);
    alpha = await create(svc, '/usage-data-providers', providerRecord('Alpha Press'));
    beta = await create(svc, '/usage-data-providers', providerRecord('Beta Books'));
    const jobs: JobInfo[] = [];
    for (let day = 1; day <= 33; day++)
      jobs.push(
        job(`2024-03-${String(Math.min(day, 31)).padStart(2, '0')}T08:${String(day).padStart(2, '0')}:00Z`, {
          providerId: alpha,
        }),
      );
    jobs.push(job('2024-05-10T09:00:00Z', { providerId: beta, result: 'failure', errorMessage: 'HTTP 500' }));
    jobs.push(
      job('2024-05-31T23:30:00Z', {
        providerId: beta,
        result: 'failure',
        errorMessage: 'Timeout',
        notes: [NOTE, 'PR 2024-04..2024-04: the provider also sent 2024-03, not requested and not stored'],
      }),
    );
    jobs.push(job('2024-04-15T02:00:00Z', { type: 'tenant' }));
    jobs.push(job('2024-06-01T00:00:00Z', { type: 'periodic', result: 'failure', errorMessage: 'x' }));
    jobs.push(job('2024-02-01T00:00:00Z', { providerId: randomUUID() }));
    for (const j of jobs) await saveJobInfo(svc.ctx.db, 'diku', j);
    ui = await openUi(svc, 'erm-ui-jobs-');
  });

  after(async () => {
    await ui?.close();
    await svc?.close();
  });

  const rows = () => ui.page.locator('#jobs-table tbody tr');
  const count = (text: string | RegExp) => ui.page.locator('.count', { hasText: text }).waitFor();

  it('filters jobs by provider, result, type and start date, keeping the filters while paging', async (t) => {
    const { page } = ui;
    await page.goto(`${svc.url}/ui/#/jobs`);
    await count('1–30 of 38 jobs');
    // Labels instead of ids; a deleted provider says so.
    await rows().first().waitFor();
    assert.match((await rows().first().textContent()) ?? '', /periodic.*finished.*failure/);
    assert.equal(await page.locator('#jobs-table tbody a', { hasText: 'Alpha Press' }).count(), 26);

    await page.getByLabel('Provider').selectOption({ label: 'Beta Books' });
    await count('1–2 of 2 jobs');
    assert.deepEqual(await rows().locator('td:nth-child(2)').allTextContents(), ['Beta Books', 'Beta Books']);
    // The error and each note of the job in the last column.
    assert.deepEqual(await rows().first().locator('td:last-child div').allTextContents(), [
      'Timeout',
      NOTE,
      'PR 2024-04..2024-04: the provider also sent 2024-03, not requested and not stored',
    ]);
    assert.match(page.url(), new RegExp(`#/jobs\\?provider=${beta}$`));

    await page.getByLabel('Provider').selectOption('');
    await page.getByLabel('Result').selectOption('failure');
    await count('1–3 of 3 jobs');
    await page.getByLabel('Type').selectOption('periodic');
    await count('1–1 of 1 job');
    await shot('jobs-filtered', t);

    await page.getByRole('button', { name: 'Clear filters' }).click();
    await count('1–30 of 38 jobs');
    await page.getByLabel('Type').selectOption('provider');
    await count('1–30 of 36 jobs');
    await page.getByRole('button', { name: 'Older →' }).click();
    await count('31–36 of 36 jobs');
    assert.deepEqual(
      new Set(await rows().locator('td:first-child').allTextContents()),
      new Set(['provider']),
    );
    assert.match((await rows().last().textContent()) ?? '', /deleted provider/);
    await page.getByRole('button', { name: '← Newer' }).click();
    await count('1–30 of 36 jobs');

    // Start date range: whole days, both ends included.
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.getByLabel('Started from').fill('2024-05-01');
    await page.getByLabel('Started until').fill('2024-05-31');
    await count('1–2 of 2 jobs');
    await page.getByLabel('Started from').fill('2024-04-15');
    await page.getByLabel('Started until').fill('2024-04-15');
    await count('1–1 of 1 job');
    assert.match((await rows().first().textContent()) ?? '', /tenant/);

    // The location keeps the filters.
    assert.match(page.url(), /#\/jobs\?from=2024-04-15&to=2024-04-15$/);
    await page.reload();
    await count('1–1 of 1 job');
    assert.equal(await page.getByLabel('Started from').inputValue(), '2024-04-15');

    // A provider's page shows its last job with the job's notes, and links to its jobs.
    await page.goto(`${svc.url}/ui/#/providers/${beta}`);
    await page.locator('.last-job .job-notes', { hasText: NOTE }).waitFor();
    await page.goto(`${svc.url}/ui/#/providers/${alpha}`);
    await page.getByRole('link', { name: 'all jobs of this provider' }).click();
    await count('1–30 of 33 jobs');
    assert.equal(await page.getByLabel('Provider').inputValue(), alpha);
  });

  async function shot(name: string, t: { diagnostic(msg: string): void }) {
    await ui.shot(name, t);
  }

  it('sets, shows, saves again and deletes the periodic schedule with messages at the fields', async (t) => {
    const { page } = ui;
    await page.goto(`${svc.url}/ui/#/schedule`);
    await page.getByText('No periodic harvest is scheduled.').waitFor();

    // Client-side check.
    await page.getByLabel('First start (your local time)').fill('');
    await page.getByRole('button', { name: 'Save schedule' }).click();
    await page.locator('#periodic-start-error', { hasText: 'Enter the first start.' }).waitFor();

    // The service's answers: 400 text naming the field, 422 errors with parameters, 500 without a body.
    await page.getByLabel('First start (your local time)').fill('2030-01-01T08:00');
    const once = (status: number, contentType: string, body: string) =>
      page.route(
        '**/erm-usage-harvester/periodic',
        (route) =>
          route.request().method() === 'POST'
            ? route.fulfill({ status, contentType, body })
            : route.fallback(),
        { times: 1 },
      );
    await once(
      400,
      'text/plain',
      'Invalid value for periodicInterval: "hourly" (expected one of daily, weekly, monthly)',
    );
    await page.getByRole('button', { name: 'Save schedule' }).click();
    await page
      .locator('#periodic-interval-error', { hasText: 'Invalid value for periodicInterval' })
      .waitFor();
    await once(
      422,
      'application/json',
      JSON.stringify({
        errors: [{ message: 'must not be null', parameters: [{ key: 'startAt', value: 'null' }] }],
        total_records: 1,
      }),
    );
    await page.getByRole('button', { name: 'Save schedule' }).click();
    await page.locator('#periodic-start-error', { hasText: 'startAt: must not be null' }).waitFor();
    await shot('schedule-errors', t);
    await once(500, 'text/plain', '');
    await page.getByRole('button', { name: 'Save schedule' }).click();
    await page.getByText('The service could not save the schedule (HTTP 500). See its log.').waitFor();

    // Saved for real: shown with the next planned run.
    await page.getByLabel('Repeat').selectOption('weekly');
    await page.getByRole('button', { name: 'Save schedule' }).click();
    await page.getByText(/Schedule saved: weekly/).waitFor();
    await page.locator('#periodic-current', { hasText: 'weekly' }).waitFor();
    await page.locator('#periodic-next time').waitFor();
    assert.equal((await call(svc, 'GET', '/erm-usage-harvester/periodic')).json.periodicInterval, 'weekly');
    await shot('schedule', t);

    // Saving again keeps lastTriggeredAt.
    const stored = (await call(svc, 'GET', '/erm-usage-harvester/periodic')).json;
    const lastTriggeredAt = '2029-12-31T08:00:00.000+00:00';
    assert.equal(
      (await call(svc, 'POST', '/erm-usage-harvester/periodic', { body: { ...stored, lastTriggeredAt } }))
        .status,
      201,
    );
    await page.reload();
    await page.locator('#periodic-current', { hasText: 'weekly' }).waitFor();
    await page.getByLabel('Repeat').selectOption('monthly');
    await page.getByRole('button', { name: 'Save schedule' }).click();
    await page.locator('#periodic-current', { hasText: 'monthly' }).waitFor();
    const saved = (await call(svc, 'GET', '/erm-usage-harvester/periodic')).json;
    assert.equal(saved.periodicInterval, 'monthly');
    assert.equal(saved.lastTriggeredAt, lastTriggeredAt);

    // Delete: Cancel keeps it, confirming deletes it.
    await page.getByRole('button', { name: 'Delete schedule' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete the schedule?' });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    assert.equal((await call(svc, 'GET', '/erm-usage-harvester/periodic')).status, 200);
    await page.getByRole('button', { name: 'Delete schedule' }).click();
    await dialog.getByRole('button', { name: 'Delete schedule' }).click();
    await page.getByText('Schedule deleted.').waitFor();
    await page.getByText('No periodic harvest is scheduled.').waitFor();
    assert.equal((await call(svc, 'GET', '/erm-usage-harvester/periodic')).status, 404);

    assert.deepEqual(ui.outside, []);
    assert.deepEqual(ui.problems(), []);
  });
});
