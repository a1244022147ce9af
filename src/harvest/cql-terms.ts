/**
 * CQL the harvester sends to mod-erm-usage or to its own store (folio-contract §7.12, §8.7): every term quoted,
 * with `\`, `"`, `*`, `?` and `^` escaped, exact fields compared with `==`.
 */
import { cqlQuote } from '../cql/index.ts';

/** The records of one provider, release and report. */
function reportCql(providerId: string, release: string, reportName: string): string {
  return `providerId==${cqlQuote(providerId)} AND release==${cqlQuote(release)} AND reportName==${cqlQuote(reportName)}`;
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
    reportCql(providerId, release, reportName) +
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
  return reportCql(providerId, release, reportName) + ` AND yearMonth==${cqlQuote(yearMonth)}`;
}
