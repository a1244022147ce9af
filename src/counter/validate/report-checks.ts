/**
 * The checks of a whole report that are not about single counts: the header and each
 * `Report_Items` element against the official schema of the release the data is in, and whether the
 * header's Report_ID is the one that was asked for. Count-level checks live in usage-facts.ts.
 */
import { getLoose, type JsonObject } from '../json.ts';
import type { Finding, FindingCode } from '../item-split.ts';
import { parseReportId, type CounterRelease, type ReportId } from '../reports.ts';
import type { Diagnostic, DiagnosticSet } from './diagnostics.ts';
import { schemaCheck, type SchemaCheck } from './schemas.ts';

export class ReportChecks {
  /** The report the checks apply: the requested one, else the header's Report_ID. */
  reportId: ReportId | undefined;
  private readonly itemChecks = new Map<CounterRelease, SchemaCheck | undefined>();

  constructor(
    private readonly requested: ReportId | undefined,
    private readonly diagnostics: DiagnosticSet,
    private readonly validate: boolean,
  ) {
    this.reportId = requested;
  }

  /** Checks the header once, validated against the schema of `layout` (its own layout). */
  header(header: JsonObject, layout: CounterRelease): void {
    const raw = getLoose(header, ['report_id']);
    const headerId = parseReportId(raw);
    this.reportId ??= headerId;
    if (!this.validate) return;
    if (this.requested !== undefined && raw !== undefined && headerId !== this.requested)
      this.diagnostics.add(
        'report_id_mismatch',
        `Report_ID ${JSON.stringify(raw)} in the header, but ${this.requested} was requested`,
        { path: '/Report_ID' },
      );
    if (this.reportId === undefined) return;
    const violation = compiledCheck(layout, this.reportId, 'header')?.(header);
    if (violation)
      this.diagnostics.add('schema_header', `${violation.path || '/'}: ${violation.message}`, {
        path: violation.path,
      });
  }

  /** The first schema violation of one element, validated against the schema of its layout. */
  element(element: unknown, layout: CounterRelease): { path: string; message: string } | undefined {
    if (!this.validate || this.reportId === undefined) return undefined;
    let check = this.itemChecks.get(layout);
    if (!this.itemChecks.has(layout)) {
      check = compiledCheck(layout, this.reportId, 'item');
      this.itemChecks.set(layout, check);
    }
    return check?.(element);
  }
}

function compiledCheck(
  release: CounterRelease,
  report: ReportId,
  part: 'header' | 'item',
): SchemaCheck | undefined {
  try {
    return schemaCheck(release, report, part);
  } catch {
    // A schema that does not compile must not stop a harvest; the data is then simply not checked.
    return undefined;
  }
}

const FINDING_MESSAGES: Record<FindingCode, string> = {
  multi_month_period: 'a Performance period spans more than one month; it was put in its first month',
  invalid_period: 'a Performance entry without a readable Period.Begin_Date was left out',
  invalid_month_key: 'a count under a key that is not a month (yyyy-MM) was left out',
  item_without_usage: 'an item without usage in any month was left out',
  non_object_item: 'a Report_Items element that is not an object was left out',
  usage_outside_header_period: "usage in months outside the header's Begin_Date..End_Date was left out",
  header_dates_missing: 'the header has no Begin_Date/End_Date; the months found in the data were used',
  header_dates_invalid:
    "the header's Begin_Date/End_Date are not valid; the months found in the data were used",
  release_mismatch: "the header's Release is not the configured release",
  totals_granularity: 'the report has Granularity Totals: its counts are not per month',
  report_items_not_array: 'Report_Items is not an array; it was ignored',
};

/** The splitter's findings as report-wide diagnostics (same codes). */
export function findingDiagnostics(findings: readonly Finding[]): Diagnostic[] {
  return findings.map((f) => ({
    code: f.code,
    message:
      f.example === undefined ? FINDING_MESSAGES[f.code] : `${FINDING_MESSAGES[f.code]} (${f.example})`,
    count: f.count,
  }));
}
