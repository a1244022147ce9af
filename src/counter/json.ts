/** Small helpers for reading untrusted JSON values. */

export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const MAX_CACHED_KEYS = 10_000;
const normalisedKeys = new Map<string, string>();

/** Lower case without `_`, `-` and white space; memoised because the same few keys recur per item. */
export function normalise(key: string): string {
  let normalised = normalisedKeys.get(key);
  if (normalised === undefined) {
    normalised = key.toLowerCase().replace(/[_\s-]/g, '');
    if (normalisedKeys.size >= MAX_CACHED_KEYS) normalisedKeys.clear();
    normalisedKeys.set(key, normalised);
  }
  return normalised;
}

/** The actual key in `obj` for the first alias present, compared case- and underscore-insensitively. */
export function findKeyLoose(obj: JsonObject, aliases: readonly string[]): string | undefined {
  const keys = Object.keys(obj);
  for (const alias of aliases) {
    const wanted = normalise(alias);
    for (const key of keys) if (normalise(key) === wanted) return key;
  }
  return undefined;
}

/** Case- and underscore-insensitive property lookup; aliases are tried in the order given. */
export function getLoose(obj: JsonObject, aliases: readonly string[]): unknown {
  const key = findKeyLoose(obj, aliases);
  return key === undefined ? undefined : obj[key];
}
