/**
 * Stores one month with FOLIO's upsert rule (spec §7.7, §8.2): one record per (providerId, release,
 * reportName, yearMonth); a success replaces a failure; a counted failure adds one to `failedAttempts`;
 * an uncounted failure keeps the existing count (1 for a new record). Idempotent: storing the same
 * outcome twice leaves one record.
 */
import type { CounterReport, ErmStore } from '../erm/port.ts';
import { upsertLookupCql } from './cql-terms.ts';
import type { HarvestState } from './month-state.ts';

export interface MonthKey {
  providerId: string;
  release: string;
  reportName: string;
  yearMonth: string;
}

export type MonthOutcome =
  | { kind: 'success'; report: unknown; state?: HarvestState }
  | {
      kind: 'failure';
      failedReason: string;
      /** counted: +1; uncounted: keep the existing count; terminal: at least `maxFailedAttempts`. */
      counting: 'counted' | 'uncounted' | 'terminal';
      state?: HarvestState;
    };

export async function findMonth(
  erm: ErmStore,
  tenant: string,
  key: MonthKey,
): Promise<CounterReport | undefined> {
  const page = await erm.findCounterReports(
    tenant,
    upsertLookupCql(key.providerId, key.release, key.reportName, key.yearMonth),
    0,
    1,
    true,
  );
  return page.records[0];
}

function failedAttemptsOf(existing: CounterReport | undefined): number {
  const n = Number(existing?.failedAttempts);
  return Number.isInteger(n) && n > 0 ? n : 0;
}

export function buildRecord(
  key: MonthKey,
  outcome: MonthOutcome,
  downloadTime: string,
  existing: CounterReport | undefined,
  maxFailedAttempts: number,
): CounterReport {
  const base: CounterReport = { ...key, downloadTime };
  if (outcome.kind === 'success') {
    return { ...base, report: outcome.report, ...(outcome.state ? { harvestState: outcome.state } : {}) };
  }
  const previous = failedAttemptsOf(existing);
  const failedAttempts =
    outcome.counting === 'counted'
      ? previous + 1
      : outcome.counting === 'terminal'
        ? Math.max(previous + 1, maxFailedAttempts)
        : Math.max(previous, 1);
  return {
    ...base,
    failedAttempts,
    failedReason: outcome.failedReason,
    ...(outcome.state ? { harvestState: outcome.state } : {}),
  };
}

/** Looks the month up and POSTs or PUTs it. Returns the record id. Errors propagate (upload failures). */
export async function upsertMonth(
  erm: ErmStore,
  tenant: string,
  key: MonthKey,
  outcome: MonthOutcome,
  downloadTime: string,
  maxFailedAttempts: number,
  existing?: CounterReport | null,
): Promise<string> {
  const found = existing === undefined ? await findMonth(erm, tenant, key) : (existing ?? undefined);
  const record = buildRecord(key, outcome, downloadTime, found, maxFailedAttempts);
  if (found?.id) {
    await erm.putCounterReport(tenant, found.id, { ...record, id: found.id });
    return found.id;
  }
  return erm.postCounterReport(tenant, record);
}
