/**
 * A value as a CQL term that means exactly itself: in quotes, with the backslash, the quote and the
 * masking characters `*`, `?` and `^` escaped. The service's CQL translator and FOLIO's read it alike.
 * Imports nothing, so the typed client (src/client) uses it too.
 */
export function cqlQuote(value: string): string {
  return '"' + value.replace(/[\\"*?^]/g, (c) => '\\' + c) + '"';
}
