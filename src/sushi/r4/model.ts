/**
 * COUNTER 4 XML elements → FOLIO's stored R4 JSON (folio-contract §7.6): the Jackson serialisation of the NISO
 * SUSHI/COUNTER 4.1 JAXB classes. Keys are the JAXB property names (camelCase; `ID` → `id`,
 * `E-mail` → `email`), enum values are the upper-case constant names (`Online_ISSN` → `ONLINE_ISSN`,
 * `ft_pdf` → `FT_PDF`), null fields are omitted and list properties are always present (JAXB getters
 * return an empty list), exactly as mod-erm-usage reads them back.
 *
 * Elements are matched by local name; unknown elements are ignored and values that JAXB cannot bind
 * (an unknown enum value, a malformed date or count) are omitted, as JAXB leaves them null.
 */
import type { XNode } from './xml.ts';
import { childText, childrenNamed, firstChild, nodeText } from './xml.ts';

export type R4Json = Record<string, unknown>;

/** JAXB enum constant name: camel-case humps and `_` become `_`, all upper case. */
export function enumConstant(value: string): string {
  return value
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .toUpperCase();
}

function enumTable(values: readonly string[]): ReadonlyMap<string, string> {
  return new Map(values.map((v) => [v.toLowerCase(), enumConstant(v)]));
}

const IDENTIFIER_TYPE = enumTable([
  'Online_ISSN',
  'Print_ISSN',
  'EISSN',
  'ISSN',
  'ISBN',
  'Online_ISBN',
  'Print_ISBN',
  'ISNI',
  'DOI',
  'Proprietary',
]);
const ATTRIBUTE_TYPE = enumTable([
  'ArticleVersion',
  'ArticleType',
  'QualificationName',
  'QualificationLevel',
  'Proprietary',
]);
const CONTRIBUTOR_ID_TYPE = enumTable(['ISNI', 'ORCID', 'Name', 'Proprietary']);
const DATE_TYPE = enumTable(['PubDate', 'FirstAccessedOnline', 'Proprietary']);
const DATA_TYPE = enumTable(['Journal', 'Database', 'Platform', 'Book', 'Collection', 'Multimedia']);
const CATEGORY = enumTable(['Requests', 'Searches', 'Access_denied']);
const METRIC_TYPE = enumTable([
  'ft_ps',
  'ft_ps_mobile',
  'ft_pdf',
  'ft_pdf_mobile',
  'ft_html',
  'ft_html_mobile',
  'ft_epub',
  'ft_total',
  'sectioned_html',
  'toc',
  'abstract',
  'reference',
  'data_set',
  'audio',
  'video',
  'image',
  'podcast',
  'multimedia',
  'record_view',
  'result_click',
  'search_reg',
  'search_fed',
  'turnaway',
  'no_license',
  'other',
]);

export const EXCEPTION_SEVERITY = enumTable(['Info', 'Debug', 'Warning', 'Error', 'Fatal']);

/** The constant for a value of an enumeration (compared case-insensitively), or undefined. */
function enumValue(table: ReadonlyMap<string, string>, text: string | undefined): string | undefined {
  return text === undefined ? undefined : table.get(text.trim().toLowerCase());
}

/** Drops undefined members so that the JSON has no null fields. */
function compact(obj: R4Json): R4Json {
  for (const key of Object.keys(obj)) if (obj[key] === undefined) delete obj[key];
  return obj;
}

/** `xs:date` as Java's LocalDate prints it (`yyyy-MM-dd`); undefined when it is not a date. */
export function localDate(text: string | undefined): string | undefined {
  const match = text === undefined ? null : /^\s*(\d{4})-(\d{2})-(\d{2})/.exec(text);
  if (!match) return undefined;
  const [, y, m, d] = match;
  const date = new Date(Date.UTC(Number(y), Number(m) - 1, Number(d)));
  return date.getUTCMonth() === Number(m) - 1 && date.getUTCDate() === Number(d)
    ? `${y}-${m}-${d}`
    : undefined;
}

/**
 * `Created` (xs:dateTime) as FOLIO's serializer writes it: `yyyy-MM-dd'T'HH:mm:ss.SSS` plus the offset,
 * `Z` for UTC. Fractions are cut to milliseconds; a missing offset is taken as UTC.
 */
export function zonedDateTime(text: string | undefined): string | undefined {
  const match =
    text === undefined
      ? null
      : /^\s*(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:[.,](\d+))?(Z|[+-]\d{2}:?\d{2})?\s*$/.exec(text);
  if (!match) return undefined;
  const [, date, time, fraction = '', zone = 'Z'] = match;
  const millis = fraction.padEnd(3, '0').slice(0, 3);
  const offset =
    zone === 'Z' || /^[+-]00:?00$/.test(zone)
      ? 'Z'
      : zone.length === 5
        ? `${zone.slice(0, 3)}:${zone.slice(3)}`
        : zone;
  return `${date}T${time}.${millis}${offset}`;
}

/** xs:gYear as Jackson writes the JAXB XMLGregorianCalendar (a date-time at the year's start, UTC). */
function gYear(text: string | undefined): string | undefined {
  const match = text === undefined ? null : /^\s*(\d{4})\s*$/.exec(text);
  return match ? `${match[1]}-01-01T00:00:00.000+00:00` : undefined;
}

function nonNegativeInteger(text: string | undefined): number | undefined {
  const trimmed = text?.trim();
  return trimmed !== undefined && /^\+?\d+$/.test(trimmed) ? Number(trimmed) : undefined;
}

function typedValue(node: XNode, table: ReadonlyMap<string, string>): R4Json {
  return compact({ type: enumValue(table, childText(node, 'Type')), value: childText(node, 'Value') });
}

function contact(node: XNode): R4Json {
  return compact({ contact: childText(node, 'Contact'), email: childText(node, 'E-mail') });
}

/** Organization (Vendor, and the first part of Customer). */
export function organization(node: XNode | undefined): R4Json {
  if (!node) return { contact: [] };
  return compact({
    name: childText(node, 'Name'),
    id: childText(node, 'ID'),
    contact: childrenNamed(node, 'Contact').map(contact),
    webSiteUrl: childText(node, 'WebSiteUrl'),
    logoUrl: childText(node, 'LogoUrl'),
  });
}

/** Customer without its report items (they are added per month). */
export function customerMeta(node: XNode | undefined): R4Json {
  const consortium = node ? firstChild(node, 'Consortium') : undefined;
  return compact({
    ...organization(node),
    consortium: consortium
      ? compact({
          code: childText(consortium, 'Code'),
          wellKnownName: childText(consortium, 'WellKnownName'),
        })
      : undefined,
    institutionalIdentifier: node
      ? childrenNamed(node, 'InstitutionalIdentifier').map((n) => typedValue(n, IDENTIFIER_TYPE))
      : [],
  });
}

function contributor(node: XNode): R4Json {
  return compact({
    itemContributorID: childrenNamed(node, 'ItemContributorID').map((n) =>
      typedValue(n, CONTRIBUTOR_ID_TYPE),
    ),
    itemContributorName: childText(node, 'ItemContributorName'),
    itemContributorAffiliation: childrenNamed(node, 'ItemContributorAffiliation').map(nodeText),
    itemContributorRole: childrenNamed(node, 'ItemContributorRole').map(nodeText),
  });
}

/** The descriptive lists shared by ReportItem and ParentItem. */
function itemDescription(node: XNode): R4Json {
  return {
    itemIdentifier: childrenNamed(node, 'ItemIdentifier').map((n) => typedValue(n, IDENTIFIER_TYPE)),
    itemContributor: childrenNamed(node, 'ItemContributor').map(contributor),
    itemDate: childrenNamed(node, 'ItemDate').map((n) => typedValue(n, DATE_TYPE)),
    itemAttribute: childrenNamed(node, 'ItemAttribute').map((n) => typedValue(n, ATTRIBUTE_TYPE)),
  };
}

function parentItem(node: XNode): R4Json {
  return compact({
    ...itemDescription(node),
    itemPublisher: childText(node, 'ItemPublisher'),
    itemName: childText(node, 'ItemName'),
    itemDataType: enumValue(DATA_TYPE, childText(node, 'ItemDataType')),
  });
}

export interface R4Period {
  begin?: string;
  end?: string;
}

export interface R4Metric extends R4Json {
  period?: R4Period;
  category?: string;
  instance: R4Json[];
}

function metric(node: XNode): R4Metric {
  const period = firstChild(node, 'Period');
  const instance = childrenNamed(node, 'Instance').map((n) =>
    compact({
      metricType: enumValue(METRIC_TYPE, childText(n, 'MetricType')),
      count: nonNegativeInteger(childText(n, 'Count')),
    }),
  );
  return compact({
    period: period
      ? compact({ begin: localDate(childText(period, 'Begin')), end: localDate(childText(period, 'End')) })
      : undefined,
    category: enumValue(CATEGORY, childText(node, 'Category')),
    instance,
    pubYr: gYear(node.attrs.PubYr),
    pubYrFrom: gYear(node.attrs.PubYrFrom),
    pubYrTo: gYear(node.attrs.PubYrTo),
  }) as R4Metric;
}

export interface R4ReportItem extends R4Json {
  itemPerformance: R4Metric[];
}

export function reportItem(node: XNode): R4ReportItem {
  const parent = firstChild(node, 'ParentItem');
  return compact({
    parentItem: parent ? parentItem(parent) : undefined,
    ...itemDescription(node),
    itemPlatform: childText(node, 'ItemPlatform'),
    itemPublisher: childText(node, 'ItemPublisher'),
    itemName: childText(node, 'ItemName'),
    itemDataType: enumValue(DATA_TYPE, childText(node, 'ItemDataType')),
    itemPerformance: childrenNamed(node, 'ItemPerformance').map(metric),
  }) as R4ReportItem;
}

/** The report without customers: vendor and the Report element's attributes. */
export function reportMeta(attrs: Record<string, string>, vendor: XNode | undefined): R4Json {
  return compact({
    vendor: vendor ? organization(vendor) : undefined,
    created: zonedDateTime(attrs.Created),
    id: attrs.ID,
    version: attrs.Version,
    name: attrs.Name,
    title: attrs.Title,
  });
}
