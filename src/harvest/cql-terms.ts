/**
 * CQL the harvester sends to mod-erm-usage or to its own store (folio-contract §7.12, §8.7): every term quoted,
 * with `\`, `"`, `*`, `?` and `^` escaped, exact fields compared with `==`.
 */
import { cqlQuote } from '../cql/index.ts';

/**
 * The releases a month of `release` may be stored under: COUNTER 5.0 and 5.1 data of one provider are
 * the same months (a provider migrating between releases answers in either layout, and the record
 * carries the release the data is in), so a lookup for either finds both.
 */
export function siblingReleases(release: string): string[] {
  return release === '5' || release === '5.1' ? ['5', '5.1'] : [release];
}

function releaseTerm(release: string): string {
  const terms = siblingReleases(release).map((r) => `release==${cqlQuote(r)}`);
  return terms.length === 1 ? terms[0] : `(${terms.join(' OR ')})`;
}

/** The records of one provider, release (with its sibling) and report. */
function reportCql(providerId: string, release: string, reportName: string): string {
  return `providerId==${cqlQuote(providerId)} AND ${releaseTerm(release)} AND reportName==${cqlQuote(reportName)}`;
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

/** The upsert lookup: the record of (provider, release or its sibling, report, month). */
export function upsertLookupCql(
  providerId: string,
  release: string,
  reportName: string,
  yearMonth: string,
): string {
  return reportCql(providerId, release, reportName) + ` AND yearMonth==${cqlQuote(yearMonth)}`;
}
