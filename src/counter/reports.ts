/** COUNTER report ids, release identifiers and the request attributes FOLIO sends (folio-contract §7.10). */

/** The JSON COUNTER releases this layer understands: `'5'` = R5.0 (COUNTER_SUSHI 5.0), `'5.1'` = R5.1. */
export type CounterRelease = '5' | '5.1';

export const MASTER_REPORT_IDS = ['PR', 'DR', 'TR', 'IR'] as const;
export type MasterReportId = (typeof MASTER_REPORT_IDS)[number];

export const STANDARD_VIEW_IDS = [
  'PR_P1',
  'DR_D1',
  'DR_D2',
  'TR_B1',
  'TR_B2',
  'TR_B3',
  'TR_J1',
  'TR_J2',
  'TR_J3',
  'TR_J4',
  'IR_A1',
  'IR_M1',
] as const;
export type StandardViewId = (typeof STANDARD_VIEW_IDS)[number];

export type ReportId = MasterReportId | StandardViewId;

/** Both releases define the same 16 report ids; only names and contents differ. */
export const REPORT_IDS: readonly ReportId[] = [...MASTER_REPORT_IDS, ...STANDARD_VIEW_IDS];

const REPORT_NAMES: Record<CounterRelease, Record<ReportId, string>> = {
  '5': {
    PR: 'Platform Master Report',
    PR_P1: 'Platform Usage',
    DR: 'Database Master Report',
    DR_D1: 'Database Search and Item Usage',
    DR_D2: 'Database Access Denied',
    TR: 'Title Master Report',
    TR_B1: 'Book Requests (Excluding OA_Gold)',
    TR_B2: 'Book Access Denied',
    TR_B3: 'Book Usage by Access Type',
    TR_J1: 'Journal Requests (Excluding OA_Gold)',
    TR_J2: 'Journal Access Denied',
    TR_J3: 'Journal Usage by Access Type',
    TR_J4: 'Journal Requests by YOP (Excluding OA_Gold)',
    IR: 'Item Master Report',
    IR_A1: 'Journal Article Requests',
    IR_M1: 'Multimedia Item Requests',
  },
  '5.1': {
    PR: 'Platform Report',
    PR_P1: 'Platform Usage',
    DR: 'Database Report',
    DR_D1: 'Database Search and Item Usage',
    DR_D2: 'Database Access Denied',
    TR: 'Title Report',
    TR_B1: 'Book Requests (Controlled)',
    TR_B2: 'Book Access Denied',
    TR_B3: 'Book Usage by Access Type',
    TR_J1: 'Journal Requests (Controlled)',
    TR_J2: 'Journal Access Denied',
    TR_J3: 'Journal Usage by Access Type',
    TR_J4: 'Journal Requests by YOP (Controlled)',
    IR: 'Item Report',
    IR_A1: 'Journal Article Requests',
    IR_M1: 'Multimedia Item Requests',
  },
};

/**
 * The maximum-split `attributes_to_show` FOLIO's cs50/cs51 implementations request (folio-contract §7.10.2 table),
 * in FOLIO's order.
 */
export const FOLIO_ATTRIBUTES_TO_SHOW: Record<CounterRelease, Record<MasterReportId, readonly string[]>> = {
  '5': {
    TR: ['Data_Type', 'Section_Type', 'YOP', 'Access_Type', 'Access_Method'],
    IR: [
      'Authors',
      'Publication_Date',
      'Article_Version',
      'Data_Type',
      'YOP',
      'Access_Type',
      'Access_Method',
    ],
    DR: ['Data_Type', 'Access_Method'],
    PR: ['Data_Type', 'Access_Method'],
  },
  '5.1': {
    TR: ['YOP', 'Access_Type', 'Access_Method'],
    IR: ['Authors', 'Publication_Date', 'Article_Version', 'YOP', 'Access_Type', 'Access_Method'],
    DR: ['Access_Method'],
    PR: ['Access_Method'],
  },
};

/** Parses a release as written in headers, configs or FOLIO records (`5`, `"5"`, `"5.1"`, `"R5.1"`). */
export function parseRelease(value: unknown): CounterRelease | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const text = String(value).trim().replace(/^r/i, '');
  if (text === '5' || text === '5.0' || /^5\.0\.\d+$/.test(text)) return '5';
  if (text === '5.1' || /^5\.1\.\d+(\.\d+)?$/.test(text)) return '5.1';
  return undefined;
}

/** Report ids are compared case-insensitively; `tr_j1`, `TR_J1` and `trj1` all name TR_J1. */
export function parseReportId(value: unknown): ReportId | undefined {
  if (typeof value !== 'string') return undefined;
  const compact = value.trim().toUpperCase().replace(/_/g, '');
  return REPORT_IDS.find((id) => id.replace(/_/g, '') === compact);
}

export function isMasterReport(id: ReportId): id is MasterReportId {
  return (MASTER_REPORT_IDS as readonly string[]).includes(id);
}

export function isStandardView(id: ReportId): id is StandardViewId {
  return !isMasterReport(id);
}

/** The master report a standard view is derived from (a master report maps to itself). */
export function masterReportOf(id: ReportId): MasterReportId {
  return id.slice(0, 2) as MasterReportId;
}

/** The standard views of one master report, in CoP order. */
export function standardViewsOf(master: MasterReportId): readonly StandardViewId[] {
  return STANDARD_VIEW_IDS.filter((view) => view.startsWith(`${master}_`));
}

/** The path segment of `/reports/{id}`: the Report_ID in lower case. */
export function reportPath(id: ReportId): string {
  return id.toLowerCase();
}

export function reportName(release: CounterRelease, id: ReportId): string {
  return REPORT_NAMES[release][id];
}

/** The `attributes_to_show` query value FOLIO sends for a master report (`|`-separated). */
export function folioAttributesToShow(release: CounterRelease, report: MasterReportId): string {
  return FOLIO_ATTRIBUTES_TO_SHOW[release][report].join('|');
}

/** FOLIO adds `include_parent_details=True` for IR only. */
export function folioIncludesParentDetails(report: MasterReportId): boolean {
  return report === 'IR';
}
