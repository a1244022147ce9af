/**
 * Diagnostics per provider: the warnings the harvest kept on each stored month (`diagnostics`, see
 * docs/counter-validation.md), listed per report and month and counted per code, read from the
 * counter-report records without their report data. Months without usage are told apart by `itemCount`.
 */
import type { Diagnostic } from '../counter/index.ts';
import { cqlQuote } from '../cql/index.ts';
import type { ErmStore } from '../erm/port.ts';
import type { CounterReport } from '../model/records.ts';

export interface MonthDiagnostics {
  counterReportId?: string;
  reportName: string;
  release: string;
  yearMonth: string;
  /** Items with usage; absent when unknown (a month stored before the harvester counted them). */
  itemCount?: number;
  /** `usage`, `empty` (stored with no usage) or `failed`. */
  content: 'usage' | 'empty' | 'failed' | 'unknown';
  diagnostics: Array<Pick<Diagnostic, 'code' | 'message' | 'count'>>;
}

export interface ProviderDiagnostics {
  providerId: string;
  /** Months read. */
  months: number;
  /** Months with at least one diagnostic. */
  monthsWithDiagnostics: number;
  /** Per code: occurrences over all months, and in how many months. */
  codes: Record<string, { count: number; months: number }>;
  /** The months that have diagnostics, by report and month. */
  records: MonthDiagnostics[];
}

function contentOf(record: CounterReport): MonthDiagnostics['content'] {
  if (record.failedAttempts !== undefined && record.failedAttempts !== null) return 'failed';
  if (typeof record.itemCount !== 'number') return 'unknown';
  return record.itemCount > 0 ? 'usage' : 'empty';
}

function diagnosticsOf(record: CounterReport): Diagnostic[] {
  const list = record.diagnostics;
  return Array.isArray(list)
    ? (list as Diagnostic[]).filter((d) => d && typeof d.code === 'string' && typeof d.count === 'number')
    : [];
}

const PAGE = 1000;

/** Reads every month of the provider (without reports) and sums up its diagnostics. */
export async function providerDiagnostics(
  erm: ErmStore,
  tenant: string,
  providerId: string,
  reportName?: string,
): Promise<ProviderDiagnostics> {
  let cql = `providerId==${cqlQuote(providerId)}`;
  if (reportName !== undefined) cql += ` AND reportName==${cqlQuote(reportName)}`;
  cql += ' sortby reportName yearMonth';
  const summary: ProviderDiagnostics = {
    providerId,
    months: 0,
    monthsWithDiagnostics: 0,
    codes: {},
    records: [],
  };
  for (let offset = 0; ; offset += PAGE) {
    const page = await erm.findCounterReports(tenant, cql, offset, PAGE, true);
    for (const record of page.records) {
      summary.months += 1;
      const diagnostics = diagnosticsOf(record);
      if (diagnostics.length === 0) continue;
      summary.monthsWithDiagnostics += 1;
      for (const d of diagnostics) {
        const code = (summary.codes[d.code] ??= { count: 0, months: 0 });
        code.count += d.count;
        code.months += 1;
      }
      summary.records.push({
        ...(record.id !== undefined && { counterReportId: record.id }),
        reportName: record.reportName,
        release: record.release,
        yearMonth: record.yearMonth,
        ...(typeof record.itemCount === 'number' && { itemCount: record.itemCount }),
        content: contentOf(record),
        diagnostics: diagnostics.map(({ code, message, count }) => ({ code, message, count })),
      });
    }
    if (page.records.length < PAGE || offset + PAGE >= page.totalRecords) return summary;
  }
}
