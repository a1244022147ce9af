/**
 * Column sets of the tabular COUNTER reports (Release 5.0 and 5.1): the four master reports, whose
 * optional columns follow the header's Report_Attributes, and the twelve standard views with their
 * fixed columns, filters and metric lists. The rules are written down in docs/counter-tabular.md.
 */
import type { CounterRelease, MasterReportId, ReportId, StandardViewId } from '../reports.ts';
import { isMasterReport, masterReportOf } from '../reports.ts';

/** A column before `Metric_Type`: an item description, identifier or attribute column. */
export type ColumnId = string;

const DATABASE_DESCRIPTION = ['Database', 'Publisher', 'Publisher_ID', 'Platform', 'Proprietary_ID'];
/** Identifiers of a title or item (DOI … URI). */
const IDENTIFIERS = ['DOI', 'Proprietary_ID', 'ISBN', 'Print_ISSN', 'Online_ISSN', 'URI'];
const TITLE_DESCRIPTION = ['Title', 'Publisher', 'Publisher_ID', 'Platform', ...IDENTIFIERS];
const ITEM_DESCRIPTION = [
  'Item',
  'Publisher',
  'Publisher_ID',
  'Platform',
  '?Authors',
  '?Publication_Date',
  '?Article_Version',
  ...IDENTIFIERS,
  '+parent',
  '+component',
];
const YOP_ACCESS = ['?YOP', '?Access_Type', '?Access_Method'];

/**
 * Columns of a master report in CoP order: `?name` is shown when Attributes_To_Show lists it, `+parent`
 * and `+component` stand for the parent and component columns (Include_Parent_Details,
 * Include_Component_Details). In R5.0 Data_Type (and Section_Type) are requested attributes, in R5.1
 * Data_Type is always shown.
 */
const MASTER_COLUMNS: Record<CounterRelease, Record<MasterReportId, readonly string[]>> = {
  '5': {
    PR: ['Platform', '?Data_Type', '?Access_Method'],
    DR: [...DATABASE_DESCRIPTION, '?Data_Type', '?Access_Method'],
    TR: [...TITLE_DESCRIPTION, '?Data_Type', '?Section_Type', ...YOP_ACCESS],
    IR: [...ITEM_DESCRIPTION, '?Data_Type', ...YOP_ACCESS],
  },
  '5.1': {
    PR: ['Platform', 'Data_Type', '?Access_Method'],
    DR: [...DATABASE_DESCRIPTION, 'Data_Type', '?Access_Method'],
    TR: [...TITLE_DESCRIPTION, 'Data_Type', ...YOP_ACCESS],
    IR: [...ITEM_DESCRIPTION, 'Data_Type', ...YOP_ACCESS],
  },
};

export const PARENT_COLUMNS = [
  'Parent_Title',
  'Parent_Authors',
  'Parent_Publication_Date',
  'Parent_Article_Version',
  'Parent_Data_Type',
  'Parent_DOI',
  'Parent_Proprietary_ID',
  'Parent_ISBN',
  'Parent_Print_ISSN',
  'Parent_Online_ISSN',
  'Parent_URI',
] as const;

export const COMPONENT_COLUMNS = [
  'Component_Title',
  'Component_Authors',
  'Component_Publication_Date',
  'Component_Data_Type',
  'Component_DOI',
  'Component_Proprietary_ID',
  'Component_ISBN',
  'Component_Print_ISSN',
  'Component_Online_ISSN',
  'Component_URI',
] as const;

/**
 * The attributes that vary per usage row (in R5.1 they sit in `Attribute_Performance`, in R5.0 on the
 * item). A column set that leaves one of them out sums the usage over its values.
 */
export const ROW_ATTRIBUTES = ['Data_Type', 'Section_Type', 'YOP', 'Access_Type', 'Access_Method'] as const;

/**
 * Reserved extension elements (CoP section 11.5). Institution_Name and Customer_ID, when requested,
 * are the first columns; the others follow the CoP attribute columns in the order requested.
 */
export const LEADING_EXTENSIONS = ['Institution_Name', 'Customer_ID'] as const;
export const TRAILING_EXTENSIONS = [
  'Country_Name',
  'Country_Code',
  'Subdivision_Name',
  'Subdivision_Code',
  'Attributed',
  'Book_Segment_Count',
] as const;

/** What a master report's header asks to show. */
export interface MasterOptions {
  attributesToShow: readonly string[];
  includeParentDetails: boolean;
  includeComponentDetails: boolean;
}

function isExtension(name: string): boolean {
  return (
    (LEADING_EXTENSIONS as readonly string[]).includes(name) ||
    (TRAILING_EXTENSIONS as readonly string[]).includes(name) ||
    /^[A-Za-z][A-Za-z0-9_./-]*:[A-Za-z0-9_]+$/.test(name)
  );
}

/** The columns before `Metric_Type` of a master report for what its header requests. */
export function masterColumns(
  release: CounterRelease,
  report: MasterReportId,
  options: MasterOptions,
): ColumnId[] {
  const requested = new Set(options.attributesToShow);
  const columns: ColumnId[] = LEADING_EXTENSIONS.filter((e) => requested.has(e));
  for (const spec of MASTER_COLUMNS[release][report]) {
    if (spec === '+parent') {
      if (options.includeParentDetails) columns.push(...PARENT_COLUMNS);
    } else if (spec === '+component') {
      if (options.includeComponentDetails) columns.push(...COMPONENT_COLUMNS);
    } else if (spec.startsWith('?')) {
      if (requested.has(spec.slice(1))) columns.push(spec.slice(1));
    } else columns.push(spec);
  }
  const placed = new Set(columns);
  for (const name of options.attributesToShow) {
    if (!placed.has(name) && isExtension(name) && !(LEADING_EXTENSIONS as readonly string[]).includes(name)) {
      columns.push(name);
      placed.add(name);
    }
  }
  return columns;
}

/** The attributes a master report may show on request (CoP "C"/"R" columns), per release. */
export function optionalAttributes(release: CounterRelease, report: MasterReportId): string[] {
  return MASTER_COLUMNS[release][report].filter((c) => c.startsWith('?')).map((c) => c.slice(1));
}

/** A report filter of a standard view: name and allowed values, in header order. */
export type ViewFilter = readonly [name: string, values: readonly string[]];

export interface ViewDefinition {
  view: StandardViewId;
  master: MasterReportId;
  /** Columns before `Metric_Type`. */
  columns: readonly ColumnId[];
  /** Fixed filters in the order the header lists them (Metric_Type and the dates excluded). */
  filters: readonly ViewFilter[];
  /** Metric_Types of the view, in header order. */
  metrics: readonly string[];
}

const TITLE_IDS = ['Title', 'Publisher', 'Publisher_ID', 'Platform', 'DOI', 'Proprietary_ID'];
const BOOK_IDS = [...TITLE_IDS, 'ISBN', 'Print_ISSN', 'Online_ISSN', 'URI'];
const JOURNAL_IDS = [...TITLE_IDS, 'Print_ISSN', 'Online_ISSN', 'URI'];
const DATABASE_IDS = DATABASE_DESCRIPTION;
const ARTICLE_IDS = [
  'Item',
  'Publisher',
  'Publisher_ID',
  'Platform',
  'Authors',
  'Publication_Date',
  'Article_Version',
  'DOI',
  'Proprietary_ID',
  'Print_ISSN',
  'Online_ISSN',
  'URI',
  'Parent_Title',
  'Parent_Authors',
  'Parent_Article_Version',
  'Parent_DOI',
  'Parent_Proprietary_ID',
  'Parent_Print_ISSN',
  'Parent_Online_ISSN',
  'Parent_URI',
];
const MULTIMEDIA_IDS = ['Item', 'Publisher', 'Publisher_ID', 'Platform', 'DOI', 'Proprietary_ID', 'URI'];

const REGULAR: ViewFilter = ['Access_Method', ['Regular']];
const CONTROLLED: ViewFilter = ['Access_Type', ['Controlled']];
const REQUESTS = ['Total_Item_Requests', 'Unique_Item_Requests'];
const DENIALS = ['Limit_Exceeded', 'No_License'];
const INVESTIGATIONS_AND_REQUESTS = [
  'Total_Item_Investigations',
  'Total_Item_Requests',
  'Unique_Item_Investigations',
  'Unique_Item_Requests',
];
const BOOK_USAGE = [...INVESTIGATIONS_AND_REQUESTS, 'Unique_Title_Investigations', 'Unique_Title_Requests'];
const PLATFORM_USAGE = [
  'Searches_Platform',
  'Total_Item_Requests',
  'Unique_Item_Requests',
  'Unique_Title_Requests',
];
const SEARCHES = ['Searches_Automated', 'Searches_Federated', 'Searches_Regular'];

function views(list: ViewDefinition[]): Record<StandardViewId, ViewDefinition> {
  return Object.fromEntries(list.map((v) => [v.view, v])) as Record<StandardViewId, ViewDefinition>;
}

const R50_BOOK: ViewFilter = ['Data_Type', ['Book']];
const R51_BOOK: ViewFilter = ['Data_Type', ['Book', 'Reference_Work']];
const JOURNAL: ViewFilter = ['Data_Type', ['Journal']];

/** Views whose definition is the same in both releases. */
const SHARED_VIEWS: ViewDefinition[] = [
  { view: 'DR_D2', master: 'DR', columns: DATABASE_IDS, filters: [REGULAR], metrics: DENIALS },
  {
    view: 'TR_J1',
    master: 'TR',
    columns: JOURNAL_IDS,
    filters: [JOURNAL, CONTROLLED, REGULAR],
    metrics: REQUESTS,
  },
  { view: 'TR_J2', master: 'TR', columns: JOURNAL_IDS, filters: [JOURNAL, REGULAR], metrics: DENIALS },
  {
    view: 'TR_J3',
    master: 'TR',
    columns: [...JOURNAL_IDS, 'Access_Type'],
    filters: [JOURNAL, REGULAR],
    metrics: INVESTIGATIONS_AND_REQUESTS,
  },
  {
    view: 'TR_J4',
    master: 'TR',
    columns: [...JOURNAL_IDS, 'YOP'],
    filters: [JOURNAL, CONTROLLED, REGULAR],
    metrics: REQUESTS,
  },
];

/** TR_B1..TR_B3: R5.0 books are Data_Type Book, R5.1 Book and Reference_Work with a Data_Type column. */
function bookViews(books: ViewFilter, dataType: string[]): ViewDefinition[] {
  const columns = [...BOOK_IDS, ...dataType, 'YOP'];
  return [
    {
      view: 'TR_B1',
      master: 'TR',
      columns,
      filters: [books, CONTROLLED, REGULAR],
      metrics: ['Total_Item_Requests', 'Unique_Title_Requests'],
    },
    { view: 'TR_B2', master: 'TR', columns, filters: [books, REGULAR], metrics: DENIALS },
    {
      view: 'TR_B3',
      master: 'TR',
      columns: [...columns, 'Access_Type'],
      filters: [books, REGULAR],
      metrics: BOOK_USAGE,
    },
  ];
}

export const VIEW_DEFINITIONS: Record<CounterRelease, Record<StandardViewId, ViewDefinition>> = {
  '5': views([
    ...SHARED_VIEWS,
    ...bookViews(R50_BOOK, []),
    { view: 'PR_P1', master: 'PR', columns: ['Platform'], filters: [REGULAR], metrics: PLATFORM_USAGE },
    {
      view: 'DR_D1',
      master: 'DR',
      columns: DATABASE_IDS,
      filters: [REGULAR],
      metrics: [...SEARCHES, 'Total_Item_Investigations', 'Total_Item_Requests'],
    },
    {
      view: 'IR_A1',
      master: 'IR',
      columns: [...ARTICLE_IDS, 'Access_Type'],
      filters: [['Data_Type', ['Article']], ['Parent_Data_Type', ['Journal']], REGULAR],
      metrics: REQUESTS,
    },
    {
      view: 'IR_M1',
      master: 'IR',
      columns: MULTIMEDIA_IDS,
      filters: [['Data_Type', ['Multimedia']], REGULAR],
      metrics: ['Total_Item_Requests'],
    },
  ]),
  '5.1': views([
    ...SHARED_VIEWS,
    ...bookViews(R51_BOOK, ['Data_Type']),
    {
      view: 'PR_P1',
      master: 'PR',
      columns: ['Platform', 'Data_Type'],
      filters: [REGULAR],
      metrics: PLATFORM_USAGE,
    },
    {
      view: 'DR_D1',
      master: 'DR',
      columns: DATABASE_IDS,
      filters: [REGULAR],
      metrics: [...SEARCHES, ...INVESTIGATIONS_AND_REQUESTS],
    },
    {
      view: 'IR_A1',
      master: 'IR',
      columns: [...ARTICLE_IDS, 'Access_Type'],
      filters: [['Data_Type', ['Article']], REGULAR],
      metrics: REQUESTS,
    },
    {
      view: 'IR_M1',
      master: 'IR',
      columns: [...MULTIMEDIA_IDS, 'Data_Type'],
      filters: [
        ['Data_Type', ['Audiovisual', 'Image', 'Interactive_Resource', 'Multimedia', 'Sound']],
        REGULAR,
      ],
      metrics: REQUESTS,
    },
  ]),
};

export function viewDefinition(release: CounterRelease, view: StandardViewId): ViewDefinition {
  return VIEW_DEFINITIONS[release][view];
}

/** The first column of a report: the name of what a row describes. */
export function nameColumn(report: ReportId): 'Platform' | 'Database' | 'Title' | 'Item' {
  const master = isMasterReport(report) ? report : masterReportOf(report);
  return ({ PR: 'Platform', DR: 'Database', TR: 'Title', IR: 'Item' } as const)[master];
}

/** The labels of the header rows in order (R5.1 adds Registry_Record). */
export function headerLabels(release: CounterRelease): string[] {
  const labels = [
    'Report_Name',
    'Report_ID',
    'Release',
    'Institution_Name',
    'Institution_ID',
    'Metric_Types',
    'Report_Filters',
    'Report_Attributes',
    'Exceptions',
    'Reporting_Period',
    'Created',
    'Created_By',
  ];
  return release === '5.1' ? [...labels, 'Registry_Record'] : labels;
}

const MONTH_NAMES = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `2022-01` → `Jan-2022`, the heading of a month column. */
export function monthHeading(month: string): string {
  return `${MONTH_NAMES[Number(month.slice(5, 7)) - 1]}-${month.slice(0, 4)}`;
}
