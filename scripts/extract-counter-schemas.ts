/**
 * Extracts the JSON Schemas the report validator needs from the official COUNTER API documents and
 * writes them under src/counter/validate/schemas/ (the service never reads test fixtures).
 *
 *   node --import tsx scripts/extract-counter-schemas.ts
 *
 * Reads test/fixtures/counter/spec/COUNTER_API-5.1.0.1.json (OpenAPI 3.1: `components/schemas`) and
 * COUNTER_SUSHI5-5.0.3-swagger.json (Swagger 2.0: `definitions`). Changes made to the schemas (also
 * listed in the schemas folder's README):
 *   - documentation-only members are dropped (`description`, `example(s)`, `title`, `x-*`);
 *   - 5.1.0.1: `minProperties` above 1 on the `*_Performance*` objects is lowered to 1, because a title
 *     with usage in a single metric (denials only, say) is legitimate.
 * test/counter/validate-schemas.test.ts checks that the committed files are exactly this output.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SPEC = join(ROOT, 'test', 'fixtures', 'counter', 'spec');
export const SCHEMA_DIR = join(ROOT, 'src', 'counter', 'validate', 'schemas');

const DOC_KEYS = new Set(['description', 'example', 'examples', 'title']);

function strip(value: Json): Json {
  if (Array.isArray(value)) return value.map(strip);
  if (value === null || typeof value !== 'object') return value;
  const out: { [key: string]: Json } = {};
  for (const [key, member] of Object.entries(value)) {
    if (DOC_KEYS.has(key) || key.startsWith('x-')) continue;
    out[key] = strip(member);
  }
  return out;
}

function relaxPerformance(schemas: { [key: string]: Json }): void {
  for (const [name, schema] of Object.entries(schemas)) {
    if (!/_Performance/.test(name) || schema === null || typeof schema !== 'object' || Array.isArray(schema))
      continue;
    const min = schema.minProperties;
    if (typeof min === 'number' && min > 1) schema.minProperties = 1;
  }
}

export const SCHEMA_IDS = {
  '5.1': 'urn:erm-usage-harvester:counter-api:5.1.0.1',
  '5': 'urn:erm-usage-harvester:counter-sushi:5.0.3',
} as const;

/** The 5.1.0.1 subset: `components/schemas`, at the same JSON pointer so `$ref`s resolve unchanged. */
export function extract51(openApi: Json): Json {
  const schemas = strip((openApi as { components: { schemas: Json } }).components.schemas) as {
    [key: string]: Json;
  };
  relaxPerformance(schemas);
  return {
    $id: SCHEMA_IDS['5.1'],
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    components: { schemas },
  };
}

/** The 5.0.3 subset: Swagger 2.0 `definitions`, at the same JSON pointer. */
export function extract50(swagger: Json): Json {
  return {
    $id: SCHEMA_IDS['5'],
    definitions: strip((swagger as { definitions: Json }).definitions),
  };
}

export function extractedFiles(): Record<string, string> {
  const read = (name: string): Json => JSON.parse(readFileSync(join(SPEC, name), 'utf8')) as Json;
  return {
    'counter-api-5.1.0.1.json': `${JSON.stringify(extract51(read('COUNTER_API-5.1.0.1.json')), null, 2)}\n`,
    'counter-sushi-5.0.3.json': `${JSON.stringify(extract50(read('COUNTER_SUSHI5-5.0.3-swagger.json')), null, 2)}\n`,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const [name, text] of Object.entries(extractedFiles())) {
    writeFileSync(join(SCHEMA_DIR, name), text);
    console.log(`wrote ${join(SCHEMA_DIR, name)} (${text.length} characters)`);
  }
}
