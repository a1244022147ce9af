/**
 * The text of one tabular cell from the JSON of an item, its parent, its row attributes and (IR) a
 * component. Both JSON layouts are read by shape: R5.1 identifiers are objects (`{"DOI": "..."}`,
 * `{"ISNI": ["..."]}`), R5.0 identifiers are `[{Type, Value}]` lists.
 */
import { getLoose, isJsonObject, normaliseKey as normalise, type JsonObject } from '../json.ts';

export interface CellContext {
  parent?: JsonObject;
  item: JsonObject;
  attrs: JsonObject;
  component?: { meta: JsonObject; attrs: JsonObject };
}

/** A scalar as cell text; lists of scalars joined with `|`; anything else is empty. */
export function scalarText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value) && value.every((v) => typeof v === 'string' || typeof v === 'number'))
    return value.join('|');
  return '';
}

function member(obj: JsonObject | undefined, key: string): unknown {
  if (!obj) return undefined;
  const direct = obj[key];
  return direct !== undefined ? direct : getLoose(obj, [key]);
}

function typeName(value: unknown): string {
  return typeof value === 'string' ? normalise(value) : '';
}

/** `namespace:value`, except values of the Proprietary namespace, which carry their own prefix. */
function namespaced(namespace: string, value: string): string {
  return typeName(namespace) === 'proprietary' ? value : `${namespace}:${value}`;
}

/**
 * Organisation identifiers (Institution_ID, Publisher_ID): R5.1 `{"ISNI": ["…"], "Proprietary": ["p:x"]}`,
 * R5.0 `[{"Type": "ISNI", "Value": "…"}]` → `ISNI:…; p:x`.
 */
export function organizationIds(value: unknown): string {
  const parts: string[] = [];
  if (Array.isArray(value)) {
    for (const entry of value) {
      if (!isJsonObject(entry)) continue;
      const type = scalarText(member(entry, 'Type'));
      const text = scalarText(member(entry, 'Value'));
      if (text !== '') parts.push(type === '' ? text : namespaced(type, text));
    }
  } else if (isJsonObject(value)) {
    for (const namespace of Object.keys(value)) {
      const values = value[namespace];
      for (const v of Array.isArray(values) ? values : [values]) {
        const text = scalarText(v);
        if (text !== '') parts.push(namespaced(namespace, text));
      }
    }
  } else if (typeof value === 'string' && value !== '') parts.push(value);
  return parts.join('; ');
}

const ID_TYPES: Record<string, string> = {
  DOI: 'doi',
  Proprietary_ID: 'proprietary',
  ISBN: 'isbn',
  Print_ISSN: 'printissn',
  Online_ISSN: 'onlineissn',
  URI: 'uri',
};

/** One identifier type of an `Item_ID` (R5.1 object or R5.0 list); several values joined with `; `. */
function itemId(ids: unknown, column: string): string {
  const wanted = ID_TYPES[column];
  const values: string[] = [];
  if (Array.isArray(ids)) {
    for (const entry of ids) {
      if (isJsonObject(entry) && typeName(member(entry, 'Type')) === wanted) {
        const text = scalarText(member(entry, 'Value'));
        if (text !== '') values.push(text);
      }
    }
  } else if (isJsonObject(ids)) {
    for (const key of Object.keys(ids)) {
      if (typeName(key) !== wanted) continue;
      const value = ids[key];
      for (const v of Array.isArray(value) ? value : [value]) {
        const text = scalarText(v);
        if (text !== '') values.push(text);
      }
    }
  }
  return values.join('; ');
}

/** `Name (ORCID:…)`; R5.1 `Authors[{Name, ORCID|ISNI}]` or R5.0 `Item_Contributors[{Type: Author, Name, Identifier}]`. */
function authors(node: JsonObject | undefined): string {
  if (!node) return '';
  const parts: string[] = [];
  const r51 = member(node, 'Authors');
  if (Array.isArray(r51)) {
    for (const author of r51) {
      if (!isJsonObject(author)) continue;
      const name = scalarText(member(author, 'Name'));
      const ids = Object.keys(author)
        .filter((k) => typeName(k) !== 'name')
        .map((k) => namespaced(k, scalarText(author[k])))
        .filter((id) => !id.endsWith(':'));
      parts.push(ids.length > 0 ? `${name} (${ids[0]})` : name);
    }
    return parts.join('; ');
  }
  const r50 = member(node, 'Item_Contributors');
  if (Array.isArray(r50)) {
    for (const contributor of r50) {
      if (!isJsonObject(contributor)) continue;
      const type = typeName(member(contributor, 'Type'));
      if (type !== '' && type !== 'author') continue;
      const name = scalarText(member(contributor, 'Name'));
      const id = scalarText(member(contributor, 'Identifier'));
      parts.push(id !== '' ? `${name} (${id})` : name);
    }
  }
  return parts.join('; ');
}

/** A typed value of an R5.0 list (`Item_Dates`, `Item_Attributes`), or the R5.1 member of that name. */
function typedOrMember(node: JsonObject | undefined, r51Key: string, r50List: string): string {
  if (!node) return '';
  const direct = member(node, r51Key);
  if (direct !== undefined) return scalarText(direct);
  const list = member(node, r50List);
  if (!Array.isArray(list)) return '';
  const wanted = typeName(r51Key);
  for (const entry of list) {
    if (isJsonObject(entry) && typeName(member(entry, 'Type')) === wanted)
      return scalarText(member(entry, 'Value'));
  }
  return '';
}

/** The parent's description: the R5.1 parent group, or R5.0 `Item_Parent`. */
function parentOf(ctx: CellContext): JsonObject | undefined {
  if (ctx.parent) return ctx.parent;
  const r50 = member(ctx.item, 'Item_Parent');
  return isJsonObject(r50) ? r50 : undefined;
}

/** Columns that describe a node (item, parent or component) in the same way. */
function describe(node: JsonObject | undefined, field: string): string {
  if (!node) return '';
  switch (field) {
    case 'Authors':
      return authors(node);
    case 'Publication_Date':
      return typedOrMember(node, 'Publication_Date', 'Item_Dates');
    case 'Article_Version':
      return typedOrMember(node, 'Article_Version', 'Item_Attributes');
    case 'DOI':
    case 'Proprietary_ID':
    case 'ISBN':
    case 'Print_ISSN':
    case 'Online_ISSN':
    case 'URI':
      return itemId(member(node, 'Item_ID'), field);
    default:
      return scalarText(member(node, field));
  }
}

/** Columns read the same way from an item, a parent or a component. */
const DESCRIBED = new Set(['Authors', 'Publication_Date', 'Article_Version', ...Object.keys(ID_TYPES)]);

/** The text of `column` for one row. */
export function cellValue(column: string, ctx: CellContext): string {
  if (column.startsWith('Parent_')) {
    const parent = parentOf(ctx);
    const field = column.slice('Parent_'.length);
    if (field === 'Title') return scalarText(member(parent, 'Title') ?? member(parent, 'Item_Name'));
    return describe(parent, field);
  }
  if (column.startsWith('Component_')) {
    const component = ctx.component;
    if (!component) return '';
    const field = column.slice('Component_'.length);
    if (field === 'Title')
      return scalarText(member(component.meta, 'Item') ?? member(component.meta, 'Item_Name'));
    if (field === 'Data_Type')
      return scalarText(member(component.attrs, 'Data_Type') ?? member(component.meta, 'Data_Type'));
    return describe(component.meta, field);
  }
  if (DESCRIBED.has(column)) return describe(ctx.item, column);
  switch (column) {
    case 'Publisher_ID':
      return organizationIds(member(ctx.item, 'Publisher_ID'));
    case 'Title':
    case 'Item':
    case 'Database':
    case 'Platform':
    case 'Publisher':
      return scalarText(member(ctx.item, column));
    default: {
      // Row attributes and extensions: on the R5.1 attribute entry, or on the R5.0 item.
      const value = member(ctx.attrs, column);
      return scalarText(value !== undefined ? value : member(ctx.item, column));
    }
  }
}

/** The value of a filterable attribute of a row (`Parent_Data_Type` reads the parent). */
export function attributeValue(name: string, ctx: CellContext): string | undefined {
  if (name === 'Parent_Data_Type') {
    const value = member(parentOf(ctx), 'Data_Type');
    return value === undefined ? undefined : scalarText(value);
  }
  const value = member(ctx.attrs, name) ?? member(ctx.item, name);
  return value === undefined ? undefined : scalarText(value);
}
