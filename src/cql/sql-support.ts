/**
 * SQL functions used by the translated queries, created in the schema `harvester`.
 * All are IMMUTABLE single-expression SQL functions, so PostgreSQL inlines them and expression
 * indexes such as `CREATE INDEX ON t (harvester.cql_fold(jsonb->>'providerId'))` can serve `==`.
 * They rely only on core PostgreSQL (15 and later, and PGlite).
 */
export const CQL_SUPPORT_SQL: string[] = [
  // Lower-case, decompose (NFD) and drop combining diacritics: case- and accent-insensitive text.
  `CREATE OR REPLACE FUNCTION harvester.cql_fold(value text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $fn$ SELECT regexp_replace(normalize(lower(value), NFD), '[\\u0300-\\u036f]', '', 'g') $fn$`,

  // The words of a text (folio-contract §5.5) as ' w1 w2 … ': split at everything but letters and digits, except a '.'
  // between two digits. Phrase matching is then a substring/regex test.
  `CREATE OR REPLACE FUNCTION harvester.cql_words(value text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $fn$ SELECT ' ' || btrim(regexp_replace(harvester.cql_fold(value),
  '([^[:alnum:].]|(?<![0-9])[.]|[.](?![0-9]))+', ' ', 'g')) || ' ' $fn$`,

  // A JSON number, or a string holding a decimal number, as numeric; otherwise NULL (folio-contract §5.3 /number).
  `CREATE OR REPLACE FUNCTION harvester.cql_number(value jsonb) RETURNS numeric
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $fn$ SELECT CASE jsonb_typeof(value)
  WHEN 'number' THEN (value #>> '{}')::numeric
  WHEN 'string' THEN CASE WHEN btrim(value #>> '{}') ~ '^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]{1,4})?$'
    THEN btrim(value #>> '{}')::numeric END
END $fn$`,
];
