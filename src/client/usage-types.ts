/** Wire types of `/usage` and of the counter report upload (README "Usage and uploads"). */

export interface UsageQueryOptions {
  /** One provider; all providers of the tenant when absent. */
  providerId?: string;
  /** Report or view id as stored: TR, DR, PR, IR, TR_J1 … */
  report: string;
  /** `5` or `5.1`; both when absent. */
  release?: string;
  /** First month, yyyy-mm. */
  from?: string;
  /** Last month, yyyy-mm. */
  to?: string;
}

export interface UsageMonthTotals {
  yearMonth: string;
  /** Metric_Type → sum of the month's counts. */
  totals: Record<string, number>;
}

export interface UsageTotals {
  providerId: string | null;
  report: string;
  release: string | null;
  from: string;
  to: string;
  metrics: string[];
  /** Months with usage only, ascending. */
  months: UsageMonthTotals[];
  /** Metric_Type → sum over the months. */
  total: Record<string, number>;
}

export interface UsageTopItem {
  name: string | null;
  platform: string | null;
  identifiers: Record<string, string>;
  providerId: string;
  /** Sum over the months in which the item was among the month's first 25 (a lower bound). */
  count: number;
  months: number;
}

export interface UsageTop {
  providerId: string | null;
  report: string;
  from: string;
  to: string;
  metric: string;
  items: UsageTopItem[];
}

export interface UsageReportSummary {
  reportName: string;
  release: string;
  first: string;
  last: string;
  months: number;
  metrics: string[];
}

export interface UsageReports {
  providerId: string | null;
  reports: UsageReportSummary[];
}

/** mod-erm-usage's reportUploadError: the 400 answer of a refused upload. */
export interface ReportUploadError {
  code: string;
  message: string;
  details?: string;
}

export interface UploadResult {
  /** Ids of the stored months, in month order. */
  ids: string[];
}
