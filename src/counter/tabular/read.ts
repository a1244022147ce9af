/**
 * COUNTER tabular reports (R5.0 and R5.1, as tsv, csv or xlsx rows) read back into COUNTER JSON, so that
 * an uploaded file goes through the same month splitter as a harvested response. The rows are read one
 * at a time and the JSON is written out item by item: memory holds one item, never the file. The
 * layout read is the one written by export (docs/counter-tabular.md, sections 2 to 5); its section 10 lists what this
 * reader accepts and rejects.
 */
import { parseReportId, reportName, type CounterRelease, type ReportId } from '../reports.ts';
import { PARENT_COLUMNS, ROW_ATTRIBUTES } from './layouts.ts';
import { SpillingGroupBy, type GroupCodec, type SpillOptions } from './spill.ts';
import { memoryBudgets } from '../../memory-budget.ts';

/** A file that is not a COUNTER tabular report, with the place (1-based row, column heading) of the fault. */
export class TabularReadError extends Error {
  override name = 'TabularReadError';
  constructor(
    message: string,
    readonly row?: number,
    readonly field?: string,
  ) {
    super(row === undefined ? message : `Row ${row}${field ? `, column ${field}` : ''}: ${message}`);
  }
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/**
 * `Jan-2022` (also `2022-01`, and `2022-01-01`: a spreadsheet's date cell formatted as a month) →
 * `2022-01`; undefined for any other heading.
 */
export function monthOfHeading(heading: string): string | undefined {
  const text = heading.trim();
  const named = /^([A-Za-z]{3})-(\d{4})$/.exec(text);
  if (named) {
    const m = MONTHS.indexOf(named[1].toLowerCase());
    return m < 0 ? undefined : `${named[2]}-${String(m + 1).padStart(2, '0')}`;
  }
  const iso = /^(\d{4})-(0[1-9]|1[0-2])(?:-01)?$/.exec(text);
  return iso ? `${iso[1]}-${iso[2]}` : undefined;
}

function lastDay(month: string): string {
  const [y, m] = month.split('-').map(Number);
  return `${month}-${String(new Date(Date.UTC(y, m, 0)).getUTCDate()).padStart(2, '0')}`;
}

const ITEM_ID_COLUMNS: Record<string, string> = {
  DOI: 'DOI',
  Proprietary_ID: 'Proprietary',
  ISBN: 'ISBN',
  Print_ISSN: 'Print_ISSN',
  Online_ISSN: 'Online_ISSN',
  URI: 'URI',
};
const NAME_COLUMNS = ['Title', 'Item', 'Database', 'Platform'];
const ATTRIBUTES = new Set<string>(ROW_ATTRIBUTES);
const PARENTS = new Set<string>(PARENT_COLUMNS);

type Json = Record<string, unknown>;

/** `ISNI:123; ROR:abc` → `[[ISNI, 123], [ROR, abc]]` (a value without a namespace is proprietary). */
function namespaced(text: string): [string, string][] {
  return text
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => {
      const colon = part.indexOf(':');
      if (colon <= 0) return ['Proprietary', part];
      const ns = part.slice(0, colon);
      return ['ISNI', 'ISIL', 'OCLC', 'ROR'].includes(ns.toUpperCase())
        ? [ns.toUpperCase(), part.slice(colon + 1)]
        : ['Proprietary', part];
    });
}

function identifierList(release: CounterRelease, pairs: [string, string][]): unknown {
  if (release === '5') return pairs.map(([Type, Value]) => ({ Type, Value }));
  const out: Record<string, string[]> = {};
  for (const [ns, value] of pairs) (out[ns] ??= []).push(value);
  return out;
}

/** `Name=v1|v2; Other=x` → pairs. */
function nameValues(text: string): [string, string][] {
  return text
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part.includes('='))
    .map((part) => [part.slice(0, part.indexOf('=')).trim(), part.slice(part.indexOf('=') + 1).trim()]);
}

/** `3030: No Usage Available (data)` → a COUNTER exception. */
function exceptionsOf(text: string): Json[] {
  return text
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => {
      const match = /^(\d+)\s*:\s*([^(]*?)\s*(?:\((.*)\))?$/.exec(part);
      if (!match) return { Code: 0, Message: part };
      return { Code: Number(match[1]), Message: match[2], ...(match[3] ? { Data: match[3] } : {}) };
    });
}

interface ParsedHeader {
  release: CounterRelease;
  reportId: ReportId;
  json: Json;
  begin?: string;
  end?: string;
}

function buildHeader(values: Map<string, string>, rowsAt: Map<string, number>): ParsedHeader {
  const releaseText = (values.get('Release') ?? '').trim();
  if (releaseText === '4' || /^4(\.\d)?$/.test(releaseText))
    throw new TabularReadError(
      'Release 4 with a COUNTER 5 header: a COUNTER 4 tabular file starts with its report name (Journal Report 1 (R4))',
    );
  if (releaseText !== '5' && releaseText !== '5.1')
    throw new TabularReadError(
      `Release '${releaseText}' is not a COUNTER release this service reads (5 or 5.1)`,
      rowsAt.get('Release'),
      'Release',
    );
  const release: CounterRelease = releaseText;
  const idText = (values.get('Report_ID') ?? '').trim();
  const reportId = parseReportId(idText);
  if (!reportId)
    throw new TabularReadError(
      `'${idText}' is not a COUNTER report id`,
      rowsAt.get('Report_ID'),
      'Report_ID',
    );
  const name = (values.get('Report_Name') ?? '').trim();
  if (name !== '' && name.toLowerCase() !== reportName(release, reportId).toLowerCase())
    throw new TabularReadError(
      `the header says '${name}', which is not the name of ${reportId} in release ${release} ('${reportName(release, reportId)}')`,
      rowsAt.get('Report_Name'),
      'Report_Name',
    );
  const period = new Map(nameValues(values.get('Reporting_Period') ?? ''));
  const begin = period.get('Begin_Date');
  const end = period.get('End_Date');
  const filterPairs = nameValues(values.get('Report_Filters') ?? '');
  const attributePairs = nameValues(values.get('Report_Attributes') ?? '');
  const metricTypes = (values.get('Metric_Types') ?? '')
    .split(';')
    .map((m) => m.trim())
    .filter((m) => m !== '');
  const json: Json = {
    Report_Name: name || reportName(release, reportId),
    Report_ID: reportId,
    Release: release,
    Institution_Name: values.get('Institution_Name') ?? '',
  };
  const institution = namespaced(values.get('Institution_ID') ?? '');
  if (institution.length > 0) json.Institution_ID = identifierList(release, institution);
  if (release === '5.1') {
    const filters: Json = {};
    if (metricTypes.length > 0) filters.Metric_Type = metricTypes;
    if (begin) filters.Begin_Date = begin;
    if (end) filters.End_Date = end;
    for (const [k, v] of filterPairs) filters[k] = v.split('|');
    json.Report_Filters = filters;
    if (attributePairs.length > 0)
      json.Report_Attributes = Object.fromEntries(
        attributePairs.map(([k, v]) => [k, k === 'Attributes_To_Show' ? v.split('|') : v]),
      );
    const registry = values.get('Registry_Record');
    if (registry) json.Registry_Record = registry;
  } else {
    const filters: { Name: string; Value: string }[] = [];
    if (metricTypes.length > 0) filters.push({ Name: 'Metric_Type', Value: metricTypes.join('|') });
    for (const [Name, Value] of filterPairs) filters.push({ Name, Value });
    if (begin) filters.push({ Name: 'Begin_Date', Value: begin });
    if (end) filters.push({ Name: 'End_Date', Value: end });
    json.Report_Filters = filters;
    if (attributePairs.length > 0)
      json.Report_Attributes = attributePairs.map(([Name, Value]) => ({ Name, Value }));
  }
  const exceptions = exceptionsOf(values.get('Exceptions') ?? '');
  if (exceptions.length > 0) json.Exceptions = exceptions;
  if (values.get('Created')) json.Created = values.get('Created');
  if (values.get('Created_By')) json.Created_By = values.get('Created_By');
  return { release, reportId, json, begin, end };
}

/** Column roles once the headings row is read. */
interface Columns {
  headings: string[];
  metric: number;
  total: number;
  /** Month columns: index → `yyyy-mm`. */
  months: [number, string][];
  /** Description columns (everything before Metric_Type that is not a row attribute). */
  description: number[];
  attributes: number[];
}

function readColumns(headings: string[], row: number, reportId: ReportId): Columns {
  const clean = headings.map((h) => h.trim());
  while (clean.length > 0 && clean[clean.length - 1] === '') clean.pop();
  const metric = clean.indexOf('Metric_Type');
  if (metric < 0)
    throw new TabularReadError(
      'no Metric_Type column: the column headings row must follow the header and a blank row',
      row,
    );
  const total = clean.indexOf('Reporting_Period_Total');
  if (total < 0) throw new TabularReadError('no Reporting_Period_Total column', row);
  const months: [number, string][] = [];
  for (let i = total + 1; i < clean.length; i += 1) {
    const month = monthOfHeading(clean[i]);
    if (!month)
      throw new TabularReadError(
        `'${clean[i]}' is not a month heading (Mmm-yyyy)`,
        row,
        clean[i] || `#${i + 1}`,
      );
    months.push([i, month]);
  }
  if (months.length === 0)
    throw new TabularReadError(
      'the file has no month columns (Exclude_Monthly_Details): its usage cannot be stored per month',
      row,
    );
  const expectedName = ({ PR: 'Platform', DR: 'Database', TR: 'Title', IR: 'Item' } as const)[
    reportId.slice(0, 2) as 'PR' | 'DR' | 'TR' | 'IR'
  ];
  const first = clean.slice(0, metric).find((h) => h !== 'Institution_Name' && h !== 'Customer_ID');
  if (first !== expectedName)
    throw new TabularReadError(
      `the first column is ${first ?? 'missing'}, but a ${reportId} report starts with ${expectedName}: the header names another report than the columns`,
      row,
    );
  const description: number[] = [];
  const attributes: number[] = [];
  for (let i = 0; i < metric; i += 1) (ATTRIBUTES.has(clean[i]) ? attributes : description).push(i);
  return { headings: clean, metric, total, months, description, attributes };
}

/** One item being assembled from consecutive rows with the same description. */
interface OpenItem {
  key: string;
  json: Json;
  /** R5.1: attribute set key → Attribute_Performance entry. R5.0: month → Instance list. */
  performance: Map<string, Json>;
  r50Months: Map<string, { Metric_Type: string; Count: number }[]>;
}

export interface TabularReadResult {
  release: CounterRelease;
  reportId: ReportId;
  /** Data rows read. */
  rows: number;
}

/** R5.1 IR: the item texts of one parent group. */
const ITEM_TEXTS: GroupCodec<string[]> = {
  combine(into, from) {
    let grown = 0;
    for (const text of from) {
      into.push(text);
      grown += 2 * text.length + 16;
    }
    return grown;
  },
  encode: (value) => JSON.stringify(value),
  decode: (text) => JSON.parse(text) as string[],
  size: (value) => value.reduce((n, text) => n + 2 * text.length + 16, 32),
};

/** The key of an R5.1 IR group without a parent (parent keys are JSON objects). */
const NO_PARENT = '-';

export interface TabularReadOptions {
  /**
   * R5.1 IR rows are grouped under their parent across the whole file; the groups are held in
   * memory up to this budget and spill to temporary files beyond it (docs/counter-tabular.md,
   * section 10). Default: the upload's share of the memory bound (src/memory-budget.ts), 64 MiB without
   * a heap limit.
   */
  memoryBudgetBytes?: number;
  tmpDir?: string;
}

/**
 * Reads tabular rows (header, blank row, headings, data) and writes the same report as COUNTER JSON
 * text through `write`, one item at a time. Throws TabularReadError for anything that is not a
 * COUNTER R5 tabular report.
 */
export async function tabularToJson(
  rows: AsyncIterable<string[]>,
  write: (text: string) => Promise<void>,
  options: TabularReadOptions = {},
): Promise<TabularReadResult> {
  const headerValues = new Map<string, string>();
  const headerRowsAt = new Map<string, number>();
  let rowNumber = 0;
  let header: ParsedHeader | undefined;
  let columns: Columns | undefined;
  let open: OpenItem | undefined;
  let written = 0;
  let dataRows = 0;
  // R5.1 IR: every Report_Items element is a parent group ({...parent, Items} or {Items} for the
  // items without a parent); items are grouped by their parent across the whole file.
  let groups: SpillingGroupBy<string[]> | undefined;
  let groupSeq = 0;
  const spill: SpillOptions = {
    memoryBudgetBytes: options.memoryBudgetBytes ?? memoryBudgets().tabularUploadBytes,
    ...(options.tmpDir !== undefined && { tmpDir: options.tmpDir }),
  };

  const emitElement = async (json: Json) => {
    await write(`${written === 0 ? '' : ','}${JSON.stringify(json)}`);
    written += 1;
  };
  const closeItem = async () => {
    if (!open || !header) return;
    const item = finishItem(open, header.release);
    open = undefined;
    for (const json of item) {
      if (!groups) {
        await emitElement(json);
        continue;
      }
      const parent = takeParent(json);
      groupSeq += 1;
      await groups.add(parent ? JSON.stringify(parent) : NO_PARENT, [groupSeq], [JSON.stringify(json)]);
    }
  };
  const writeGroups = async () => {
    if (!groups) return;
    for await (const entry of groups.finish((_key, position) => position)) {
      const parent = entry.key === NO_PARENT || entry.key === '{}' ? '{' : `${entry.key.slice(0, -1)},`;
      await write(`${written === 0 ? '' : ','}${parent}"Items":[${entry.value.join(',')}]}`);
      written += 1;
    }
  };

  try {
    for await (const raw of rows) {
      rowNumber += 1;
      const cells = raw.map((c) => (rowNumber === 1 ? c.replace(/^\uFEFF/, '') : c));
      if (!header) {
        const label = (cells[0] ?? '').trim();
        if (label === '' && cells.every((c) => c.trim() === '')) {
          if (headerValues.size === 0) continue;
          header = buildHeader(headerValues, headerRowsAt);
          if (header.release === '5.1' && header.reportId.startsWith('IR'))
            groups = new SpillingGroupBy(ITEM_TEXTS, spill);
          await write(`{"Report_Header":${JSON.stringify(header.json)},"Report_Items":[`);
          continue;
        }
        if (label === 'Metric_Type' || cells.includes('Metric_Type'))
          throw new TabularReadError('the header rows are missing: a blank row must end them', rowNumber);
        if (!/^[A-Za-z_]+$/.test(label))
          throw new TabularReadError(
            rowNumber === 1
              ? 'this is not a COUNTER tabular report (the first row must be Report_Name)'
              : `'${label.slice(0, 40)}' is not a COUNTER header label`,
            rowNumber,
          );
        if (rowNumber === 1 && label !== 'Report_Name')
          throw new TabularReadError(
            'this is not a COUNTER tabular report (the first row must be Report_Name)',
            rowNumber,
          );
        headerRowsAt.set(label, rowNumber);
        headerValues.set(label, (cells[1] ?? '').trim());
        continue;
      }
      if (!columns) {
        if (cells.every((c) => c.trim() === '')) continue;
        columns = readColumns(cells, rowNumber, header.reportId);
        continue;
      }
      if (cells.every((c) => c.trim() === '')) continue;
      dataRows += 1;
      const row = readRow(cells, columns, rowNumber);
      const descKey = JSON.stringify(columns.description.map((i) => cells[i] ?? ''));
      const key = header.release === '5' ? JSON.stringify([descKey, row.attributes]) : descKey;
      if (!open || open.key !== key) {
        await closeItem();
        open = {
          key,
          json: describe(cells, columns, header.release),
          performance: new Map(),
          r50Months: new Map(),
        };
      }
      addUsage(open, row, header.release);
    }
    if (!header) throw new TabularReadError('the file ends inside the header rows (no blank row, no data)');
    if (!columns) throw new TabularReadError('the file ends before the column headings row', rowNumber);
    await closeItem();
    await writeGroups();
    await write(']}');
    return { release: header.release, reportId: header.reportId, rows: dataRows };
  } finally {
    await groups?.dispose();
  }
}

interface RowUsage {
  attributes: [string, string][];
  metric: string;
  counts: [string, number][];
}

function count(text: string, row: number, field: string): number {
  const t = text.trim().replace(/^"|"$/g, '');
  if (t === '') return 0;
  if (!/^\d+$/.test(t))
    throw new TabularReadError(`'${t.slice(0, 40)}' is not a count (a whole number ≥ 0)`, row, field);
  const n = Number(t);
  if (!Number.isSafeInteger(n)) throw new TabularReadError(`'${t.slice(0, 40)}' is too large`, row, field);
  return n;
}

function readRow(cells: string[], columns: Columns, row: number): RowUsage {
  const width = columns.headings.length;
  const extra = cells.slice(width).findIndex((c) => c.trim() !== '');
  if (extra >= 0)
    throw new TabularReadError(`a value beyond the last column heading (cell ${width + extra + 1})`, row);
  const last = columns.months[columns.months.length - 1][0];
  if (cells.length <= last)
    throw new TabularReadError(
      `the row has ${cells.length} cells, the headings ${width}: the file looks truncated`,
      row,
      columns.headings[cells.length] ?? undefined,
    );
  const metric = (cells[columns.metric] ?? '').trim();
  if (metric === '') throw new TabularReadError('the Metric_Type is empty', row, 'Metric_Type');
  const counts: [string, number][] = [];
  let sum = 0;
  for (const [i, month] of columns.months) {
    const n = count(cells[i] ?? '', row, columns.headings[i]);
    sum += n;
    if (n > 0) counts.push([month, n]);
  }
  const total = count(cells[columns.total] ?? '', row, 'Reporting_Period_Total');
  if (total !== sum)
    throw new TabularReadError(
      `Reporting_Period_Total is ${total}, the months add up to ${sum}`,
      row,
      'Reporting_Period_Total',
    );
  const attributes = columns.attributes
    .map((i): [string, string] => [columns.headings[i], (cells[i] ?? '').trim()])
    .filter(([, v]) => v !== '');
  return { attributes, metric, counts };
}

/** The item's description from its row (everything but the row attributes and the usage). */
function describe(cells: string[], columns: Columns, release: CounterRelease): Json {
  const item: Json = {};
  const ids: [string, string][] = [];
  const parentCells: Record<string, string> = {};
  for (const i of columns.description) {
    const heading = columns.headings[i];
    const value = (cells[i] ?? '').trim();
    if (value === '') continue;
    if (NAME_COLUMNS.includes(heading)) item[heading] = value;
    else if (heading === 'Publisher') item.Publisher = value;
    else if (heading === 'Publisher_ID') item.Publisher_ID = identifierList(release, namespaced(value));
    else if (heading in ITEM_ID_COLUMNS) ids.push([ITEM_ID_COLUMNS[heading], value]);
    else if (heading === 'Authors') {
      const names = value
        .split(';')
        .map((n) => n.trim())
        .filter((n) => n !== '');
      if (release === '5.1') item.Authors = names.map((Name) => ({ Name }));
      else item.Item_Contributors = names.map((Name) => ({ Type: 'Author', Name }));
    } else if (heading === 'Publication_Date') {
      if (release === '5.1') item.Publication_Date = value;
      else item.Item_Dates = [{ Type: 'Publication_Date', Value: value }];
    } else if (heading === 'Article_Version') {
      if (release === '5.1') item.Article_Version = value;
      else item.Item_Attributes = [{ Type: 'Article_Version', Value: value }];
    } else if (PARENTS.has(heading)) parentCells[heading.slice('Parent_'.length)] = value;
  }
  if (ids.length > 0) {
    if (release === '5') item.Item_ID = ids.map(([Type, Value]) => ({ Type, Value }));
    else {
      item.Item_ID = Object.fromEntries(ids);
    }
  }
  if (Object.keys(parentCells).length > 0) item['\u0000parent'] = parentCells;
  return item;
}

function parentJson(cells: Record<string, string>, release: CounterRelease): Json {
  const ids: [string, string][] = [];
  const out: Json = {};
  for (const [k, v] of Object.entries(cells)) {
    const idKey = ITEM_ID_COLUMNS[k];
    if (idKey) ids.push([idKey, v]);
    else if (k === 'Title') out[release === '5' ? 'Item_Name' : 'Title'] = v;
    else if (k === 'Data_Type') out.Data_Type = v;
    else if (k === 'Authors')
      out[release === '5' ? 'Item_Contributors' : 'Authors'] = v
        .split(';')
        .map((n) => n.trim())
        .filter((n) => n !== '')
        .map((Name) => (release === '5' ? { Type: 'Author', Name } : { Name }));
    else if (k === 'Publication_Date') {
      if (release === '5') out.Item_Dates = [{ Type: 'Publication_Date', Value: v }];
      else out.Publication_Date = v;
    } else if (k === 'Article_Version') {
      if (release === '5') out.Item_Attributes = [{ Type: 'Article_Version', Value: v }];
      else out.Article_Version = v;
    }
  }
  if (ids.length > 0)
    out.Item_ID = release === '5' ? ids.map(([Type, Value]) => ({ Type, Value })) : Object.fromEntries(ids);
  return out;
}

/** R5.1 IR: the parent an item belongs under (taken off the item). */
function takeParent(item: Json): Json | undefined {
  const p = item['\u0000parent'] as Json | undefined;
  delete item['\u0000parent'];
  return p;
}

function addUsage(open: OpenItem, row: RowUsage, release: CounterRelease): void {
  if (release === '5.1') {
    const key = JSON.stringify(row.attributes);
    let entry = open.performance.get(key);
    if (!entry) {
      entry = { ...Object.fromEntries(row.attributes), Performance: {} };
      open.performance.set(key, entry);
    }
    const perf = entry.Performance as Record<string, Record<string, number>>;
    const metric = (perf[row.metric] ??= {});
    for (const [month, n] of row.counts) metric[month] = (metric[month] ?? 0) + n;
    return;
  }
  for (const [name, value] of row.attributes) open.json[name] = value;
  for (const [month, n] of row.counts) {
    let list = open.r50Months.get(month);
    if (!list) open.r50Months.set(month, (list = []));
    const same = list.find((i) => i.Metric_Type === row.metric);
    if (same) same.Count += n;
    else list.push({ Metric_Type: row.metric, Count: n });
  }
}

function finishItem(open: OpenItem, release: CounterRelease): Json[] {
  const item = open.json;
  const parent = item['\u0000parent'] as Record<string, string> | undefined;
  if (release === '5.1') {
    if (parent) item['\u0000parent'] = parentJson(parent, release);
    return [{ ...item, Attribute_Performance: [...open.performance.values()] }];
  }
  if (parent) {
    delete item['\u0000parent'];
    item.Item_Parent = parentJson(parent, release);
  }
  const months = [...open.r50Months.keys()].sort();
  const performance = months.map((month) => ({
    Period: { Begin_Date: `${month}-01`, End_Date: lastDay(month) },
    Instance: open.r50Months.get(month),
  }));
  return [{ ...item, Performance: performance }];
}
