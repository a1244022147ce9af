/** Small helpers for reading untrusted JSON values. */

export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function matchesAlias(key: string, alias: string): boolean {
  const normalised = key.toLowerCase();
  return normalised === alias || normalised.replace(/[_\s-]/g, '') === alias.replace(/[_\s-]/g, '');
}

/** The actual key in `obj` for the first alias present, compared case- and underscore-insensitively. */
export function findKeyLoose(obj: JsonObject, aliases: readonly string[]): string | undefined {
  const keys = Object.keys(obj);
  for (const alias of aliases) {
    const key = keys.find((k) => matchesAlias(k, alias));
    if (key !== undefined) return key;
  }
  return undefined;
}

/** Case- and underscore-insensitive property lookup; aliases are tried in the order given. */
export function getLoose(obj: JsonObject, aliases: readonly string[]): unknown {
  const key = findKeyLoose(obj, aliases);
  return key === undefined ? undefined : obj[key];
}
