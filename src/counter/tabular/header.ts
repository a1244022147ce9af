/**
 * Report headers of an export: the JSON `Report_Header` of a merged range (from the stored months'
 * headers) or of a standard view derived from a master report, and the tabular header rows
 * (Report_Name … Created_By, plus Registry_Record in R5.1) built from such a JSON header.
 */
import { toSushiException, type SushiException } from '../exceptions.ts';
import { findKeyLoose, getLoose, isJsonObject, normaliseKey as normalise, type JsonObject } from '../json.ts';
import type { CounterRelease, ReportId } from '../reports.ts';
import { reportName } from '../reports.ts';
import { firstDayOf, lastDayOf, type YearMonth } from '../year-month.ts';
import { organizationIds, scalarText } from './cells.ts';
import { headerLabels, type ViewDefinition, type ViewFilter } from './layouts.ts';

const DATE_FILTERS = new Set(['begindate', 'enddate']);

const compact = normalise;

/** A `Report_Filters`/`Report_Attributes` member as name and values, in either layout. */
export interface NamedValues {
  name: string;
  values: string[];
}

/** R5.1 `{Name: value|[values]}` or R5.0 `[{Name, Value: "a|b"}]` → named value lists, in order. */
export function namedValues(container: unknown): NamedValues[] {
  const list: NamedValues[] = [];
  if (Array.isArray(container)) {
    for (const entry of container) {
      if (!isJsonObject(entry)) continue;
      const name = scalarText(getLoose(entry, ['name']));
      if (name === '') continue;
      const value = getLoose(entry, ['value']);
      list.push({ name, values: splitValues(value) });
    }
  } else if (isJsonObject(container)) {
    for (const name of Object.keys(container)) list.push({ name, values: splitValues(container[name]) });
  }
  return list;
}

function splitValues(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(scalarText).filter((v) => v !== '');
  const text = scalarText(value);
  return text === '' ? [] : text.split('|');
}

function headerMember(header: JsonObject, name: string): unknown {
  const direct = header[name];
  return direct !== undefined ? direct : getLoose(header, [name]);
}

/** What the header's Report_Attributes ask for (either layout, any case). */
export interface RequestedAttributes {
  attributesToShow: string[];
  includeParentDetails: boolean;
  includeComponentDetails: boolean;
  excludeMonthlyDetails: boolean;
  totals: boolean;
}

export function requestedAttributes(header: JsonObject): RequestedAttributes {
  const attributes = namedValues(headerMember(header, 'Report_Attributes'));
  const find = (name: string): string[] =>
    attributes.find((a) => compact(a.name) === compact(name))?.values ?? [];
  const isTrue = (name: string): boolean => /^true$/i.test(find(name)[0] ?? '');
  return {
    attributesToShow: find('Attributes_To_Show'),
    includeParentDetails: isTrue('Include_Parent_Details'),
    includeComponentDetails: isTrue('Include_Component_Details'),
    excludeMonthlyDetails: isTrue('Exclude_Monthly_Details'),
    totals: /^totals?$/i.test(find('Granularity')[0] ?? ''),
  };
}

/** The header's exceptions (header `Exceptions` list or a single `Exception`). */
export function headerExceptions(header: JsonObject): SushiException[] {
  const list = headerMember(header, 'Exceptions');
  const single = headerMember(header, 'Exception');
  const raw = Array.isArray(list) ? list : single !== undefined ? [single] : [];
  return raw.map(toSushiException).filter((e): e is SushiException => e !== undefined);
}

function exceptionKey(e: unknown): string {
  return JSON.stringify(e);
}

/** Range-wide header options. */
export interface HeaderOptions {
  begin: YearMonth;
  end: YearMonth;
  /** RFC 3339 date-time for `Created`. */
  created: string;
  /** `Created_By`; defaults to the stored value. */
  createdBy?: string;
  /** Keep 3030 (no usage) only if the merged report has no items: set when that is known. */
  hasUsage?: boolean;
}

function setFilterDates(filters: unknown, release: CounterRelease, begin: string, end: string): unknown {
  if (Array.isArray(filters)) {
    const dates: Record<string, string> = { begindate: begin, enddate: end };
    const seen = new Set<string>();
    const updated = filters.map((f) => {
      const name = isJsonObject(f) ? compact(scalarText(getLoose(f, ['name']))) : '';
      if (!isJsonObject(f) || !DATE_FILTERS.has(name)) return f;
      seen.add(name);
      const valueKey = findKeyLoose(f, ['value']) ?? 'Value';
      return { ...f, [valueKey]: dates[name] };
    });
    if (!seen.has('begindate')) updated.push({ Name: 'Begin_Date', Value: begin });
    if (!seen.has('enddate')) updated.push({ Name: 'End_Date', Value: end });
    return updated;
  }
  if (isJsonObject(filters)) {
    const copy: JsonObject = {};
    let placed = false;
    for (const key of Object.keys(filters)) {
      if (DATE_FILTERS.has(compact(key))) {
        if (!placed) {
          copy.Begin_Date = begin;
          copy.End_Date = end;
          placed = true;
        }
      } else copy[key] = filters[key];
    }
    if (!placed) Object.assign(copy, { Begin_Date: begin, End_Date: end });
    return copy;
  }
  return release === '5'
    ? [
        { Name: 'Begin_Date', Value: begin },
        { Name: 'End_Date', Value: end },
      ]
    : { Begin_Date: begin, End_Date: end };
}

/** The union of `Attributes_To_Show` over the months, in first-seen order. */
function unionAttributesToShow(headers: readonly JsonObject[]): string[] {
  const seen: string[] = [];
  for (const header of headers)
    for (const name of requestedAttributes(header).attributesToShow)
      if (!seen.includes(name)) seen.push(name);
  return seen;
}

function withAttributesToShow(attributes: unknown, names: string[], release: CounterRelease): unknown {
  if (names.length === 0) return attributes;
  if (Array.isArray(attributes)) {
    const index = attributes.findIndex(
      (a) => isJsonObject(a) && compact(scalarText(getLoose(a, ['name']))) === 'attributestoshow',
    );
    const entry = { Name: 'Attributes_To_Show', Value: names.join('|') };
    if (index < 0) return [entry, ...attributes];
    return attributes.map((a, i) => (i === index ? { ...(a as JsonObject), Value: names.join('|') } : a));
  }
  if (isJsonObject(attributes)) {
    const key = findKeyLoose(attributes, ['attributes_to_show']) ?? 'Attributes_To_Show';
    return { ...attributes, [key]: names };
  }
  return release === '5'
    ? [{ Name: 'Attributes_To_Show', Value: names.join('|') }]
    : { Attributes_To_Show: names };
}

/**
 * Exceptions of the range: each distinct exception once, in month order. 3030 (no usage) is kept
 * only when the range has no usage at all (`hasUsage === false`), or when that is not known.
 */
export function mergeExceptions(headers: readonly JsonObject[], hasUsage?: boolean): unknown[] {
  const seen = new Set<string>();
  const merged: unknown[] = [];
  for (const header of headers) {
    const list = headerMember(header, 'Exceptions');
    for (const raw of Array.isArray(list) ? list : []) {
      const code = toSushiException(raw)?.code;
      if (code === 3030 && hasUsage === true) continue;
      const key = exceptionKey(raw);
      if (seen.has(key)) continue;
      seen.add(key);
      merged.push(raw);
    }
  }
  return merged;
}

/**
 * The JSON header of the merged range: the first month's header with the range's dates, the union
 * of the months' Attributes_To_Show, the months' distinct exceptions, and `Created`/`Created_By`.
 */
export function mergedJsonHeader(
  release: CounterRelease,
  headers: readonly JsonObject[],
  options: HeaderOptions,
): JsonObject {
  const base = headers[0] ?? {};
  const out: JsonObject = {};
  const begin = firstDayOf(options.begin);
  const end = lastDayOf(options.end);
  const exceptions = mergeExceptions(headers, options.hasUsage);
  for (const key of Object.keys(base)) {
    const name = compact(key);
    if (name === 'reportfilters') out[key] = setFilterDates(base[key], release, begin, end);
    else if (name === 'reportattributes')
      out[key] = withAttributesToShow(base[key], unionAttributesToShow(headers), release);
    else if (name === 'exceptions') {
      if (exceptions.length > 0) out[key] = exceptions;
    } else if (name === 'created') out[key] = options.created;
    else if (name === 'createdby') out[key] = options.createdBy ?? base[key];
    else out[key] = base[key];
  }
  if (findKeyLoose(out, ['report_filters']) === undefined)
    out.Report_Filters = setFilterDates(undefined, release, begin, end);
  if (findKeyLoose(out, ['exceptions']) === undefined && exceptions.length > 0) out.Exceptions = exceptions;
  if (findKeyLoose(out, ['created']) === undefined) out.Created = options.created;
  if (findKeyLoose(out, ['created_by']) === undefined && options.createdBy !== undefined)
    out.Created_By = options.createdBy;
  return out;
}

/**
 * The JSON header of a standard view derived from its master report's (merged) header: the view's
 * name and id, its fixed Metric_Type and filters (plus a Platform filter of the master), no
 * Report_Attributes; institution, exceptions, Created and Registry_Record from the master.
 */
export function viewJsonHeader(
  release: CounterRelease,
  definition: ViewDefinition,
  masterHeader: JsonObject,
): JsonObject {
  const masterFilters = namedValues(headerMember(masterHeader, 'Report_Filters'));
  const value = (name: string): string[] =>
    masterFilters.find((f) => compact(f.name) === compact(name))?.values ?? [];
  const begin = value('Begin_Date')[0] ?? '';
  const end = value('End_Date')[0] ?? '';
  const platform = value('Platform');
  const filters: ViewFilter[] = [
    ...(platform.length > 0 ? [['Platform', platform] as const] : []),
    ...definition.filters,
  ];
  let reportFilters: unknown;
  if (release === '5') {
    reportFilters = [
      { Name: 'Metric_Type', Value: definition.metrics.join('|') },
      ...filters.map(([name, values]) => ({ Name: name, Value: values.join('|') })),
      { Name: 'Begin_Date', Value: begin },
      { Name: 'End_Date', Value: end },
    ];
  } else {
    reportFilters = {
      Metric_Type: [...definition.metrics],
      Begin_Date: begin,
      End_Date: end,
      ...Object.fromEntries(filters.map(([name, values]) => [name, [...values]])),
    };
  }
  const out: JsonObject = {};
  for (const key of Object.keys(masterHeader)) {
    const name = compact(key);
    if (name === 'reportname') out[key] = reportName(release, definition.view);
    else if (name === 'reportid') out[key] = definition.view;
    else if (name === 'reportfilters') out[key] = reportFilters;
    else if (name === 'reportattributes') continue;
    else out[key] = masterHeader[key];
  }
  if (findKeyLoose(out, ['report_filters']) === undefined) out.Report_Filters = reportFilters;
  return out;
}

/** `{Code}: {Message} ({Data})`, several separated by `; `. */
export function formatExceptions(exceptions: readonly SushiException[]): string {
  return exceptions
    .map((e) => {
      const code = e.code === undefined ? '' : `${e.code}: `;
      const data = e.data !== undefined && e.data !== '' ? ` (${e.data})` : '';
      return `${code}${e.message}${data}`;
    })
    .join('; ');
}

export interface TabularHeaderOptions {
  release: CounterRelease;
  /** Report_ID shown (a view's id for derived views). */
  reportId: ReportId;
  begin: YearMonth;
  end: YearMonth;
  excludeMonthlyDetails: boolean;
}

/**
 * The tabular header rows as `[label, value]` pairs, from a report's JSON header: Metric_Types from
 * the Metric_Type filter, Report_Filters without the dates and Metric_Type, Report_Attributes without
 * Granularity (JSON only) and with Exclude_Monthly_Details when the export leaves out the months.
 */
export function tabularHeaderRows(
  header: JsonObject,
  options: TabularHeaderOptions,
): Array<[string, string]> {
  const filters = namedValues(headerMember(header, 'Report_Filters'));
  const attributes = namedValues(headerMember(header, 'Report_Attributes'));
  const metricTypes = filters.find((f) => compact(f.name) === 'metrictype')?.values ?? [];
  const shownFilters = filters.filter(
    (f) => !DATE_FILTERS.has(compact(f.name)) && compact(f.name) !== 'metrictype',
  );
  const shownAttributes = attributes.filter(
    (a) => compact(a.name) !== 'granularity' && compact(a.name) !== 'excludemonthlydetails',
  );
  const attributeTexts = shownAttributes.map((a) => `${a.name}=${a.values.join('|')}`);
  if (options.excludeMonthlyDetails) attributeTexts.push('Exclude_Monthly_Details=True');
  const values: Record<string, string> = {
    Report_Name:
      scalarText(headerMember(header, 'Report_Name')) || reportName(options.release, options.reportId),
    Report_ID: options.reportId,
    Release: options.release,
    Institution_Name: scalarText(headerMember(header, 'Institution_Name')),
    Institution_ID: organizationIds(headerMember(header, 'Institution_ID')),
    Metric_Types: metricTypes.join('; '),
    Report_Filters: shownFilters.map((f) => `${f.name}=${f.values.join('|')}`).join('; '),
    Report_Attributes: attributeTexts.join('; '),
    Exceptions: formatExceptions(headerExceptions(header)),
    Reporting_Period: `Begin_Date=${firstDayOf(options.begin)}; End_Date=${lastDayOf(options.end)}`,
    Created: scalarText(headerMember(header, 'Created')),
    Created_By: scalarText(headerMember(header, 'Created_By')),
    Registry_Record: scalarText(headerMember(header, 'Registry_Record')),
  };
  return headerLabels(options.release).map((label) => [label, values[label] ?? '']);
}
