/**
 * The schema copies under src/counter/validate/schemas are exactly what the extraction script makes
 * (and the validators compiled from them, under compiled/, what the compile script makes)
 * of the official documents in test/fixtures/counter/spec, and the metric tables of the semantic
 * checks agree with the 5.1.0.1 schema.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Ajv } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { COMPILED_DIR, compiledValidatorFiles } from '../../scripts/compile-counter-validators.ts';
import { extractedFiles, SCHEMA_DIR } from '../../scripts/extract-counter-schemas.ts';
import { REPORT_IDS } from '../../src/counter/index.ts';
import { allowedMetrics } from '../../src/counter/validate/rules.ts';

type Schema = { [key: string]: unknown };

void describe('COUNTER schema copies', () => {
  for (const [name, text] of Object.entries(extractedFiles()))
    void it(`${name} is the extraction of the official document (run scripts/extract-counter-schemas.ts)`, () => {
      assert.equal(readFileSync(join(SCHEMA_DIR, name), 'utf8'), text);
    });

  for (const [name, text] of Object.entries(compiledValidatorFiles()))
    void it(`compiled/${name} is Ajv's code of the copies (run scripts/compile-counter-validators.ts)`, () => {
      assert.equal(readFileSync(join(COMPILED_DIR, name), 'utf8'), text);
    });

  void it('each copy is valid against its meta-schema (the validators do not check that at run time)', () => {
    for (const [name, ajv] of [
      ['counter-api-5.1.0.1.json', new Ajv2020({ strict: false })],
      ['counter-sushi-5.0.3.json', new Ajv({ strict: false })],
    ] as const) {
      const schema = JSON.parse(readFileSync(join(SCHEMA_DIR, name), 'utf8')) as Schema;
      assert.equal(ajv.validateSchema(schema), true, `${name}: ${ajv.errorsText(ajv.errors)}`);
    }
  });

  void it('the 5.1 metrics allowed per report are the metric members of its *_Performance* schemas', () => {
    const schemas = (
      JSON.parse(readFileSync(join(SCHEMA_DIR, 'counter-api-5.1.0.1.json'), 'utf8')) as {
        components: { schemas: Record<string, Schema> };
      }
    ).components.schemas;
    for (const report of REPORT_IDS) {
      const fromSchema = new Set<string>();
      for (const [name, schema] of Object.entries(schemas)) {
        // IR_Component_Performance belongs to IR (components carry a subset of its metrics).
        const owner = name.replace(/_Component/, '').replace(/_Performance.*$/, '');
        if (owner !== report || !/_Performance/.test(name)) continue;
        for (const metric of Object.keys(schema.properties ?? {})) fromSchema.add(metric);
      }
      assert.deepEqual([...allowedMetrics('5.1', report)].sort(), [...fromSchema].sort(), report);
    }
  });
});
