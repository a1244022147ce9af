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

/** `value` itself when its members are in canonical order, else a copy that has them so. */
export function canonicalCopy<T>(value: T): T {
  return inOrder(value) ? value : (ordered(value) as T);
}

/** `JSON.stringify` with the members of every object in canonical order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(canonicalCopy(value));
}

/**
 * Whether two JSON values are equal with their members in the same order (a cheap test that
 * implies equal canonical texts; values that fail it may still be equal in canonical order).
 */
export function sameJsonInOrder(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJsonInOrder(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) {
    if (ka[i] !== kb[i]) return false;
    if (!sameJsonInOrder((a as Record<string, unknown>)[ka[i]], (b as Record<string, unknown>)[kb[i]]))
      return false;
  }
  return true;
}

/** Whether two JSON values have the same canonical text. */
export function sameCanonical(a: unknown, b: unknown): boolean {
  return sameJsonInOrder(a, b) || canonicalJson(a) === canonicalJson(b);
}
