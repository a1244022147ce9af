/**
 * CQL the harvester sends to mod-erm-usage or to its own store (spec §7.12, §8.7): every term quoted,
 * with `\`, `"`, `*`, `?` and `^` escaped, exact fields compared with `==`, attempts compared numerically.
 */
import { cqlQuote } from '../cql/index.ts';

export const ACTIVE_PROVIDERS_CQL = 'harvestingConfig.harvestingStatus=="active" sortby id';

/** Months of one report that are done: successful, or failed at least `maxFailedAttempts` times. */
export function doneMonthsCql(
  providerId: string,
  release: string,
  reportName: string,
  begin: string,
  end: string,
  maxFailedAttempts: number,
): string {
  return (
    `providerId==${cqlQuote(providerId)} AND release==${cqlQuote(release)} AND reportName==${cqlQuote(reportName)}` +
    ` AND yearMonth>=${cqlQuote(begin)} AND yearMonth<=${cqlQuote(end)}` +
    ` AND (cql.allRecords=1 NOT failedAttempts="" OR failedAttempts>=/number ${Math.trunc(maxFailedAttempts)})`
  );
}

/** Every record of one report in a window (the planner also reads uncounted-failure states). */
export function monthsCql(
  providerId: string,
  release: string,
  reportName: string,
  begin: string,
  end: string,
): string {
  return (
    `providerId==${cqlQuote(providerId)} AND release==${cqlQuote(release)} AND reportName==${cqlQuote(reportName)}` +
    ` AND yearMonth>=${cqlQuote(begin)} AND yearMonth<=${cqlQuote(end)} sortby yearMonth`
  );
}

/** The upsert lookup: the one record of (provider, release, report, month). */
export function upsertLookupCql(
  providerId: string,
  release: string,
  reportName: string,
  yearMonth: string,
): string {
  return (
    `providerId==${cqlQuote(providerId)} AND release==${cqlQuote(release)} AND reportName==${cqlQuote(reportName)}` +
    ` AND yearMonth==${cqlQuote(yearMonth)}`
  );
}
