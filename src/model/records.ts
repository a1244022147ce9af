/**
 * The records of mod-erm-usage as the harvester reads them: usage data providers, aggregator settings and
 * counter reports. Both stores give these shapes, the service's own database and FOLIO's mod-erm-usage,
 * and FOLIO keeps records this service never validated; so only the fields named without `?` are relied
 * on, values are plain strings rather than enums, and unknown properties are kept. The shapes the HTTP API documents and validates are `schemas.ts`; the client's
 * wire types (src/client/types.ts) are checked against both by test/model/records.test.ts.
 */

/** A JSON record as FOLIO stores it: any properties besides the known ones. */
export type JsonRecord = Record<string, unknown>;

export interface UsageDataProvider extends JsonRecord {
  id: string;
  label: string;
  status?: string;
  harvestingConfig?: {
    harvestingStatus?: string;
    harvestVia?: string;
    sushiConfig?: { serviceType?: string; serviceUrl?: string };
    aggregator?: { id?: string; name?: string; vendorCode?: string };
    reportRelease?: string;
    requestedReports?: string[];
    harvestingStart?: string;
    harvestingEnd?: string;
    [k: string]: unknown;
  };
  sushiCredentials?: {
    customerId?: string;
    requestorId?: string;
    apiKey?: string;
    platform?: string;
    requestorName?: string;
    requestorMail?: string;
  };
}

export interface AggregatorSetting extends JsonRecord {
  id: string;
  label: string;
  serviceType: string;
  serviceUrl: string;
  aggregatorConfig?: Record<string, string>;
}

export interface CounterReport extends JsonRecord {
  id?: string;
  downloadTime: string;
  release: string;
  reportName: string;
  yearMonth: string;
  providerId?: string;
  report?: unknown;
  failedAttempts?: number;
  failedReason?: string;
  /** Harvester additions (see harvest/upload.ts UsageFields): items with usage in the month. */
  itemCount?: number;
  /** Sum of the counts per Metric_Type. */
  usageTotals?: Record<string, number>;
  /** sha256 (hex) of the month's items as harvested: a re-harvest replaces the month only when it changed. */
  contentHash?: string;
}
