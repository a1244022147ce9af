/**
 * Projection of item entries onto what an export shows: a standard view derived from its master
 * report (filters, metric list, the view's attributes; usage summed over the attributes the view
 * drops), or a master report's own tabular column set (usage summed over attributes its header did
 * not ask to show). Also decides whether a view is read as stored or derived from the master.
 */
import { getLoose, isJsonObject, normaliseKey as normalise, type JsonObject } from '../json.ts';
import {
  isStandardView,
  masterReportOf,
  parseReportId,
  type CounterRelease,
  type MasterReportId,
  type ReportId,
  type StandardViewId,
} from '../reports.ts';
import { attributeValue } from './cells.ts';
import { requestedAttributes } from './header.ts';
import type { ComponentUsage, Counts, ItemEntry, UsageLeaf } from './items.ts';
import {
  COMPONENT_COLUMNS,
  LEADING_EXTENSIONS,
  ROW_ATTRIBUTES,
  TRAILING_EXTENSIONS,
  type ColumnId,
  type ViewDefinition,
  type ViewFilter,
} from './layouts.ts';

/** Where the data of a requested report comes from. */
export type ReportSource =
  { kind: 'stored'; reportId: ReportId } | { kind: 'derived'; view: StandardViewId; master: MasterReportId };

/**
 * A requested report id → the stored report to read: the report itself when it was harvested, else
 * (for a standard view) its master report, from which the view is derived. Undefined when neither is
 * stored or the id is unknown.
 */
export function chooseReportSource(requested: string, stored: Iterable<string>): ReportSource | undefined {
  const id = parseReportId(requested);
  if (id === undefined) return undefined;
  const have = new Set<ReportId>();
  for (const s of stored) {
    const parsed = parseReportId(s);
    if (parsed !== undefined) have.add(parsed);
  }
  if (have.has(id)) return { kind: 'stored', reportId: id };
  if (isStandardView(id) && have.has(masterReportOf(id)))
    return { kind: 'derived', view: id, master: masterReportOf(id) };
  return undefined;
}

/** What an export keeps of each item entry. */
export interface Projection {
  /** Row attributes kept in the leaves (usage is summed over the others); undefined keeps all. */
  keepAttributes?: ReadonlySet<string>;
  /** Attribute filters (a view's Data_Type, Access_Type, Access_Method, Parent_Data_Type). */
  filters: readonly ViewFilter[];
  /** Metrics kept; undefined keeps all. */
  metrics?: ReadonlySet<string>;
  keepComponents: boolean;
  /** For views: the item and parent members the view shows (others are dropped). */
  describe?: (entry: ItemEntry) => ItemEntry;
}

const ATTRIBUTE_NAMES = new Set<string>([...ROW_ATTRIBUTES, ...LEADING_EXTENSIONS, ...TRAILING_EXTENSIONS]);

function isAttributeColumn(column: string): boolean {
  return ATTRIBUTE_NAMES.has(column) || /^[A-Za-z][A-Za-z0-9_./-]*:[A-Za-z0-9_]+$/.test(column);
}

/** The row attributes among a layout's columns. */
export function attributeColumns(columns: readonly ColumnId[]): Set<string> {
  return new Set(columns.filter(isAttributeColumn));
}

/** Projection of a master report onto its tabular columns. */
export function masterTabularProjection(columns: readonly ColumnId[]): Projection {
  return {
    keepAttributes: attributeColumns(columns),
    filters: [],
    keepComponents: columns.includes(COMPONENT_COLUMNS[0]),
  };
}

/** Projection of a master report's JSON: everything as stored. */
export const MASTER_JSON_PROJECTION: Projection = { filters: [], keepComponents: true };

/** Whether the projection keeps entries as they are (then it need not run at all). */
export function isIdentityProjection(projection: Projection): boolean {
  return (
    projection.filters.length === 0 &&
    projection.metrics === undefined &&
    projection.keepAttributes === undefined &&
    projection.describe === undefined &&
    projection.keepComponents
  );
}

const ID_COLUMN_TYPES: Record<string, string> = {
  doi: 'DOI',
  proprietary: 'Proprietary_ID',
  isbn: 'ISBN',
  printissn: 'Print_ISSN',
  onlineissn: 'Online_ISSN',
  uri: 'URI',
};

const compact = normalise;

/** `Item_ID` with only the identifier types shown (`prefix` + column name, e.g. `Parent_DOI`). */
function filterIds(ids: unknown, shown: ReadonlySet<string>, prefix: string): unknown {
  const keep = (type: unknown): boolean =>
    typeof type === 'string' && shown.has(`${prefix}${ID_COLUMN_TYPES[compact(type)] ?? '\u0000'}`);
  if (Array.isArray(ids)) return ids.filter((e) => isJsonObject(e) && keep(getLoose(e, ['type'])));
  if (isJsonObject(ids)) return Object.fromEntries(Object.entries(ids).filter(([k]) => keep(k)));
  return ids;
}

/** Members of an item or parent description by the column they feed (prefix `Parent_` for parents). */
function describedMembers(node: JsonObject, shown: ReadonlySet<string>, prefix: string): JsonObject {
  const out: JsonObject = {};
  for (const key of Object.keys(node)) {
    const c = compact(key);
    const value = node[key];
    if (c === 'itemid') {
      const ids = filterIds(value, shown, prefix);
      const empty = Array.isArray(ids)
        ? ids.length === 0
        : isJsonObject(ids) && Object.keys(ids).length === 0;
      if (!empty) out[key] = ids;
    } else if (c === 'authors' || c === 'itemcontributors') {
      if (shown.has(`${prefix}Authors`)) out[key] = value;
    } else if (c === 'publicationdate' || c === 'itemdates') {
      if (shown.has(`${prefix}Publication_Date`)) out[key] = value;
    } else if (c === 'articleversion' || c === 'itemattributes') {
      if (shown.has(`${prefix}Article_Version`)) out[key] = value;
    } else if (c === 'datatype') {
      if (shown.has(`${prefix}Data_Type`)) out[key] = value;
    } else if (c === 'itemname' || c === 'title' || c === 'item' || c === 'database') {
      out[key] = value;
    } else if (c === 'publisher' || c === 'publisherid' || c === 'platform') {
      if (prefix === '') out[key] = value;
    } else if (c === 'itemparent') {
      if (isJsonObject(value) && [...shown].some((s) => s.startsWith('Parent_')))
        out[key] = describedMembers(value, shown, 'Parent_');
    }
  }
  return out;
}

/** Projection that derives a standard view from its master report. */
export function viewProjection(definition: ViewDefinition): Projection {
  const shown = new Set(definition.columns);
  const hasParent = definition.columns.some((c) => c.startsWith('Parent_'));
  return {
    keepAttributes: attributeColumns(definition.columns),
    filters: definition.filters,
    metrics: new Set(definition.metrics),
    keepComponents: false,
    describe: (entry) => ({
      ...(hasParent && entry.parent && { parent: describedMembers(entry.parent, shown, 'Parent_') }),
      item: describedMembers(entry.item, shown, ''),
      leaves: entry.leaves,
    }),
  };
}

function addCounts(into: Counts, from: Counts): void {
  for (const metric of Object.keys(from)) {
    const source = from[metric];
    const target = into[metric];
    if (!target) into[metric] = [...source];
    else for (let i = 0; i < source.length; i++) target[i] += source[i];
  }
}

function selectMetrics(counts: Counts, metrics: ReadonlySet<string> | undefined): Counts {
  if (!metrics) return counts;
  const out: Counts = {};
  for (const metric of Object.keys(counts)) if (metrics.has(metric)) out[metric] = counts[metric];
  return out;
}

function keepAttrs(attrs: JsonObject, keep: ReadonlySet<string> | undefined): JsonObject {
  if (!keep) return attrs;
  const out: JsonObject = {};
  for (const key of Object.keys(attrs)) if (keep.has(key)) out[key] = attrs[key];
  return out;
}

function hasUsage(counts: Counts): boolean {
  for (const metric of Object.keys(counts)) if (counts[metric].some((n) => n !== 0)) return true;
  return false;
}

/** What a projection found that the reader should know (e.g. a filter it could not apply). */
export class ProjectionNotes {
  private readonly missing = new Set<string>();
  unfilterable(name: string): void {
    this.missing.add(name);
  }
  list(): string[] {
    return [...this.missing].map(
      (name) =>
        `The stored report does not break usage down by ${name}; the ${name} filter could not be applied.`,
    );
  }
}

/**
 * The dimensions a stored report breaks its usage down by, from its header: the attributes it was
 * asked to show, Data_Type (always shown in R5.1) and, with parent details, the parent's Data_Type.
 */
export function reportedDimensions(release: CounterRelease, header: JsonObject): Set<string> {
  const requested = requestedAttributes(header);
  const dimensions = new Set(requested.attributesToShow);
  if (release === '5.1') dimensions.add('Data_Type');
  if (requested.includeParentDetails) dimensions.add('Parent_Data_Type');
  return dimensions;
}

/**
 * Whether a leaf passes the filters. A filter on a dimension that the report does not break down by
 * (neither its header nor the leaf has it) cannot be applied: the leaf passes and a note says so.
 */
function passes(
  filters: readonly ViewFilter[],
  entry: ItemEntry,
  leaf: UsageLeaf,
  notes: ProjectionNotes,
  dimensions: ReadonlySet<string> | undefined,
): boolean {
  for (const [name, values] of filters) {
    const value = attributeValue(name, {
      ...(entry.parent && { parent: entry.parent }),
      item: entry.item,
      attrs: leaf.attrs,
    });
    if (value === undefined && !dimensions?.has(name)) {
      notes.unfilterable(name);
      continue;
    }
    if (!values.includes(value ?? '')) return false;
  }
  return true;
}

/**
 * One entry projected: leaves that pass the filters, with the kept metrics and attributes; leaves
 * that become equal are summed. Undefined when nothing with usage is left.
 */
export function project(
  entry: ItemEntry,
  projection: Projection,
  notes: ProjectionNotes,
  dimensions?: ReadonlySet<string>,
): ItemEntry | undefined {
  const byAttrs = new Map<string, UsageLeaf>();
  for (const leaf of entry.leaves) {
    if (projection.filters.length > 0 && !passes(projection.filters, entry, leaf, notes, dimensions))
      continue;
    const counts = selectMetrics(leaf.counts, projection.metrics);
    const components: ComponentUsage[] = projection.keepComponents
      ? leaf.components.map((c) => ({ ...c, counts: selectMetrics(c.counts, projection.metrics) }))
      : [];
    if (!hasUsage(counts) && !components.some((c) => hasUsage(c.counts))) continue;
    const attrs = keepAttrs(leaf.attrs, projection.keepAttributes);
    const key = JSON.stringify(attrs);
    const existing = byAttrs.get(key);
    if (existing) {
      addCounts(existing.counts, counts);
      existing.components.push(...components);
    } else byAttrs.set(key, { attrs, counts: { ...counts }, components });
  }
  if (byAttrs.size === 0) return undefined;
  const projected: ItemEntry = {
    ...(entry.parent && { parent: entry.parent }),
    item: entry.item,
    leaves: [...byAttrs.values()],
  };
  return projection.describe ? projection.describe(projected) : projected;
}
