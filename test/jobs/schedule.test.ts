/**
 * Pure fire-time arithmetic (folio-contract §6.6; checklist §9.2 53–59), setting parsing (§6.9) and the /impl rendering.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import {
  fireAfter,
  firstFireTime,
  planFiring,
  triggerStart,
  type ScheduleSpec,
} from '../../src/jobs/schedule.ts';
import { parseIntSetting } from '../../src/tenant-settings.ts';
import { formatJobError, ProviderJobError } from '../../src/jobs/runner.ts';

const t = (s: string) => Date.parse(s);
const iso = (ms: number) => new Date(ms).toISOString();

/** The fire times after `from` (exclusive), `n` of them. */
function fires(spec: ScheduleSpec, from: number, n: number): string[] {
  const out: string[] = [];
  let at = from;
  for (let i = 0; i < n; i++) {
    at = fireAfter(spec, at);
    out.push(iso(at));
  }
  return out;
}

describe('periodic schedule math', () => {
  it('daily crosses a leap day (53)', () => {
    const spec: ScheduleSpec = { startAt: t('2019-01-02T08:00:00Z'), periodicInterval: 'daily' };
    assert.deepEqual(fires(spec, t('2020-02-28T08:00:00Z'), 2), [
      '2020-02-29T08:00:00.000Z',
      '2020-03-01T08:00:00.000Z',
    ]);
    assert.equal(iso(firstFireTime(spec)), '2019-01-02T08:00:00.000Z');
  });

  it('weekly keeps the weekday of startAt (54)', () => {
    const spec: ScheduleSpec = { startAt: t('2019-01-06T08:00:00Z'), periodicInterval: 'weekly' };
    assert.deepEqual(fires(spec, t('2020-02-23T08:00:00Z'), 1), ['2020-03-01T08:00:00.000Z']);
    assert.deepEqual(fires(spec, t('2020-02-20T00:00:00Z'), 2), [
      '2020-02-23T08:00:00.000Z',
      '2020-03-01T08:00:00.000Z',
    ]);
  });

  it('monthly on day 12 at 09:05 (55)', () => {
    const spec: ScheduleSpec = { startAt: t('2019-01-12T09:05:00Z'), periodicInterval: 'monthly' };
    assert.deepEqual(fires(spec, t('2020-03-24T00:00:00Z'), 1), ['2020-04-12T09:05:00.000Z']);
    assert.deepEqual(fires(spec, t('2020-03-12T09:05:00Z'), 1), ['2020-04-12T09:05:00.000Z']);
    assert.deepEqual(fires(spec, t('2020-12-20T00:00:00Z'), 1), ['2021-01-12T09:05:00.000Z']);
  });

  it('monthly from day 29 fires on the last day of every month (56)', () => {
    const spec: ScheduleSpec = { startAt: t('2019-01-29T08:00:00Z'), periodicInterval: 'monthly' };
    assert.equal(iso(firstFireTime(spec)), '2019-01-31T08:00:00.000Z');
    assert.deepEqual(fires(spec, t('2019-01-31T08:00:00Z'), 1), ['2019-02-28T08:00:00.000Z']);
    assert.deepEqual(fires(spec, t('2020-02-01T00:00:00Z'), 3), [
      '2020-02-29T08:00:00.000Z',
      '2020-03-31T08:00:00.000Z',
      '2020-04-30T08:00:00.000Z',
    ]);
    assert.deepEqual(fires(spec, t('2019-12-31T08:00:00Z'), 1), ['2020-01-31T08:00:00.000Z']);
  });

  it('starts after lastTriggeredAt + 1 s (57)', () => {
    const spec: ScheduleSpec = {
      startAt: t('2019-01-01T08:00:00Z'),
      periodicInterval: 'daily',
      lastTriggeredAt: t('2019-03-24T08:00:00.750Z'),
    };
    assert.equal(iso(triggerStart(spec)), '2019-03-24T08:00:01.000Z');
    assert.equal(iso(firstFireTime(spec)), '2019-03-25T08:00:00.000Z');
  });

  it('ignores a lastTriggeredAt before startAt (58)', () => {
    const spec: ScheduleSpec = {
      startAt: t('2019-05-01T08:00:00Z'),
      periodicInterval: 'daily',
      lastTriggeredAt: t('2019-03-24T08:00:00Z'),
    };
    assert.equal(iso(triggerStart(spec)), '2019-05-01T08:00:00.000Z');
    assert.equal(iso(firstFireTime(spec)), '2019-05-01T08:00:00.000Z');
  });

  it('uses whole minutes: a startAt with seconds first fires the next day', () => {
    const spec: ScheduleSpec = { startAt: t('2019-01-01T08:00:30Z'), periodicInterval: 'daily' };
    assert.equal(iso(firstFireTime(spec)), '2019-01-02T08:00:00.000Z');
  });

  it('a misfire fires once now and continues after now; an on-time firing keeps its time (59)', () => {
    const spec: ScheduleSpec = { startAt: t('2019-01-01T08:00:00Z'), periodicInterval: 'daily' };
    const now = t('2023-01-02T10:00:00Z');
    assert.deepEqual(planFiring(spec, firstFireTime(spec), now, 60_000), {
      firedAt: now,
      following: t('2023-01-03T08:00:00Z'),
    });
    const onTime = t('2023-01-02T08:00:00Z');
    assert.deepEqual(planFiring(spec, onTime, onTime + 59_000, 60_000), {
      firedAt: onTime,
      following: t('2023-01-03T08:00:00Z'),
    });
    assert.equal(planFiring(spec, onTime, onTime + 61_000, 60_000).firedAt, onTime + 61_000);
  });
});

describe('integer settings (folio-contract §6.9)', () => {
  it('accepts integers and signed digit strings in the 32-bit range', () => {
    for (const [v, n] of [
      [5, 5],
      ['5', 5],
      ['0', 0],
      ['-10', -10],
      ['+7', 7],
      ['2147483647', 2147483647],
      ['-2147483648', -2147483648],
    ] as const)
      assert.equal(parseIntSetting(v), n, String(v));
  });
  it('rejects everything else', () => {
    for (const v of ['abc', '12.5', '', '  ', ' 5', '2147483648', 12.5, true, null, {}, [], 2 ** 40])
      assert.equal(parseIntSetting(v), undefined, JSON.stringify(v));
  });
});

describe('job error messages', () => {
  it('formats <ShortErrorName>: <message>', () => {
    assert.equal(
      formatJobError(new ProviderJobError('Provider: x, HarvestingStatus not ACTIVE')),
      'ProviderJobError: Provider: x, HarvestingStatus not ACTIVE',
    );
    assert.equal(formatJobError(new TypeError('bad')), 'TypeError: bad');
    assert.equal(formatJobError(new Error('')), 'Error');
  });
});
