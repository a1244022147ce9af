/**
 * A JSON text that does not depend on the order of object members, for identities (item, parent,
 * attributes): a month stored as `jsonb` comes back with its members reordered (shorter keys first),
 * while a month stored as item chunks keeps the provider's order, and the same title must be one row
 * (docs/counter-tabular.md, section 5). The order chosen is jsonb's (key length, then code units), so months read
 * from `jsonb` are already in it and only need checking, not copying.
 */

function before(a: string, b: string): boolean {
  return a.length < b.length || (a.length === b.length && a < b);
}

/** True when every object in `value` has its members in canonical order. */
function inOrder(value: unknown): boolean {
  if (Array.isArray(value)) return value.every(inOrder);
  if (typeof value !== 'object' || value === null) return true;
  let previous: string | undefined;
  for (const [key, member] of Object.entries(value)) {
    if (previous !== undefined && !before(previous, key)) return false;
    if (!inOrder(member)) return false;
    previous = key;
  }
  return true;
}

function ordered(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(ordered);
  if (typeof value !== 'object' || value === null) return value;
  const keys = Object.keys(value).sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
  const out: Record<string, unknown> = {};
  for (const key of keys) out[key] = ordered((value as Record<string, unknown>)[key]);
  return out;
}

/** `JSON.stringify` with the members of every object in canonical order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(inOrder(value) ? value : ordered(value));
}
