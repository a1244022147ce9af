/**
 * The record types written down more than once agree: the client's wire types (src/client/types.ts, the
 * typed client library, self-contained) against the TypeBox schemas the service documents and validates
 * (src/model/schemas.ts, and the harvester API's schemas beside their routes), and the harvester's view of
 * the records (src/model/records.ts) against the client's. The TypeScript compiler reads the types.
 */
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, describe, it } from 'node:test';
import ts from 'typescript';
import {
  AggregatorSettingSchema,
  AggregatorSettingsSchema,
  CounterReportSchema,
  CounterReportsSchema,
  HarvestingConfigSchema,
  MetadataSchema,
  SushiCredentialsSchema,
  UsageDataProviderSchema,
  UsageDataProvidersSchema,
} from '../../src/model/schemas.ts';
import { ImplementationSchema, JobInfoSchema } from '../../src/api/harvester-routes.ts';
import { PeriodicConfigSchema } from '../../src/api/harvester-periodic.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLIENT_TYPES = join(ROOT, 'src', 'client', 'types.ts');
const MODEL_RECORDS = join(ROOT, 'src', 'model', 'records.ts');

type Schema = Record<string, any>;

let checker: ts.TypeChecker;
let exportsOf: (file: string) => Map<string, ts.Type>;

before(() => {
  const program = ts.createProgram([CLIENT_TYPES, MODEL_RECORDS], {
    strict: true,
    noEmit: true,
    allowImportingTsExtensions: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    types: [],
  });
  checker = program.getTypeChecker();
  exportsOf = (file) => {
    const source = program.getSourceFile(file);
    assert.ok(source, file);
    const symbol = checker.getSymbolAtLocation(source);
    assert.ok(symbol, `${file} has exports`);
    return new Map(
      checker.getExportsOfModule(symbol).map((s) => [s.name, checker.getDeclaredTypeOfSymbol(s)]),
    );
  };
});

function propertyType(owner: ts.Type, name: string): ts.Type | undefined {
  const prop = owner.getProperty(name);
  if (!prop) return undefined;
  return checker.getNonNullableType(checker.getTypeOfSymbol(prop));
}

function isOptional(owner: ts.Type, name: string): boolean {
  return ((owner.getProperty(name)?.flags ?? 0) & ts.SymbolFlags.Optional) !== 0;
}

function knownNames(type: ts.Type): string[] {
  return type
    .getProperties()
    .map((p) => p.name)
    .sort();
}

/** The string literals of a union of them (an enum written as a type), else undefined. */
function stringLiterals(type: ts.Type): string[] | undefined {
  const parts = type.isUnion() ? type.types : [type];
  if (!parts.every((t) => t.isStringLiteral())) return undefined;
  return parts.map((t) => t.value).sort();
}

/** The values a schema allows when it is an enum (`enum`, `const`, or `anyOf` of those). */
function schemaLiterals(schema: Schema): string[] | undefined {
  if (Array.isArray(schema.enum)) return [...schema.enum].sort();
  if (typeof schema.const === 'string') return [schema.const];
  if (Array.isArray(schema.anyOf)) {
    const parts = schema.anyOf.map(schemaLiterals);
    if (parts.every((p: string[] | undefined) => p !== undefined)) return parts.flat().sort();
  }
  return undefined;
}

/** The date-time of the store's records: a string or epoch ms on input, always a string on output. */
function isDateTime(schema: Schema): boolean {
  const types = Array.isArray(schema.anyOf) ? schema.anyOf.map((s: Schema) => s.type).sort() : [];
  return types.join() === 'number,string';
}

/** Asserts that the TypeScript type describes what the schema allows; `path` names the place. */
function assertMatches(type: ts.Type, schema: Schema, path: string): void {
  const literals = schemaLiterals(schema);
  if (literals) {
    assert.deepEqual(stringLiterals(type), literals, `${path}: the same values`);
    return;
  }
  if (isDateTime(schema) || schema.type === 'string') {
    assert.ok(type.flags & ts.TypeFlags.String, `${path}: string, is ${checker.typeToString(type)}`);
    return;
  }
  if (schema.type === 'integer' || schema.type === 'number') {
    assert.ok(type.flags & ts.TypeFlags.Number, `${path}: number, is ${checker.typeToString(type)}`);
    return;
  }
  if (schema.type === 'boolean') {
    assert.ok(type.flags & ts.TypeFlags.Boolean, `${path}: boolean, is ${checker.typeToString(type)}`);
    return;
  }
  if (schema.type === 'array') {
    assert.ok(checker.isArrayType(type), `${path}: an array, is ${checker.typeToString(type)}`);
    const [element] = checker.getTypeArguments(type as ts.TypeReference);
    assertMatches(element, schema.items, `${path}[]`);
    return;
  }
  assert.equal(schema.type, 'object', `${path}: a schema this test knows`);
  const properties: Record<string, Schema> = schema.properties ?? {};
  // An open object that names no properties (aggregatorConfig, report) says nothing about its content.
  if (Object.keys(properties).length === 0 && schema.additionalProperties === true) return;
  assert.deepEqual(knownNames(type), Object.keys(properties).sort(), `${path}: the same properties`);
  const required = new Set<string>(schema.required ?? []);
  for (const [name, propertySchema] of Object.entries(properties)) {
    assert.equal(
      isOptional(type, name),
      !required.has(name),
      `${path}.${name}: optional in both or in neither`,
    );
    assertMatches(propertyType(type, name)!, propertySchema, `${path}.${name}`);
  }
  const index = checker.getIndexInfosOfType(type).find((info) => info.keyType.flags & ts.TypeFlags.String);
  // A map (additionalProperties is a schema): the index signature's values match that schema.
  if (typeof schema.additionalProperties === 'object') {
    assert.ok(index, `${path}: a map in both`);
    assertMatches(index.type, schema.additionalProperties as Schema, `${path}[key]`);
    return;
  }
  const open = index !== undefined;
  assert.equal(
    open,
    schema.additionalProperties === true,
    `${path}: other properties allowed in both or in neither`,
  );
}

describe('client wire types and the service schemas', () => {
  const pairs: [string, Schema][] = [
    ['UsageDataProvider', UsageDataProviderSchema],
    ['HarvestingConfig', HarvestingConfigSchema],
    ['SushiConfig', HarvestingConfigSchema.properties.sushiConfig],
    ['AggregatorRef', HarvestingConfigSchema.properties.aggregator],
    ['SushiCredentials', SushiCredentialsSchema],
    ['Metadata', MetadataSchema],
    ['AggregatorSetting', AggregatorSettingSchema],
    ['CounterReport', CounterReportSchema],
    ['UsageDataProviders', UsageDataProvidersSchema],
    ['AggregatorSettings', AggregatorSettingsSchema],
    ['CounterReports', CounterReportsSchema],
    ['JobInfo', JobInfoSchema],
    ['ServiceImplementation', ImplementationSchema],
    ['PeriodicConfig', PeriodicConfigSchema],
  ];
  for (const [name, schema] of pairs) {
    it(`${name} describes what the schema allows`, () => {
      const type = exportsOf(CLIENT_TYPES).get(name);
      assert.ok(type, `client type ${name}`);
      assertMatches(type, schema, name);
    });
  }

  it('tells a difference: a field of another type or a missing one is found', () => {
    const provider = exportsOf(CLIENT_TYPES).get('UsageDataProvider')!;
    const renamed = {
      ...UsageDataProviderSchema,
      properties: { ...UsageDataProviderSchema.properties, labels: {} },
    };
    assert.throws(() => assertMatches(provider, renamed, 'UsageDataProvider'), /the same properties/);
    const retyped = {
      ...UsageDataProviderSchema,
      properties: { ...UsageDataProviderSchema.properties, notes: { type: 'integer' } },
    };
    assert.throws(() => assertMatches(provider, retyped, 'UsageDataProvider'), /notes: number/);
  });
});

/** Asserts that every property the harvester names is the client's, and accepts the client's values. */
function assertReads(model: ts.Type, wire: ts.Type, path: string): void {
  for (const name of knownNames(model)) {
    const wireType = propertyType(wire, name);
    assert.ok(wireType, `${path}.${name}: a property of the record`);
    const modelType = propertyType(model, name)!;
    assert.ok(
      checker.isTypeAssignableTo(wireType, modelType),
      `${path}.${name}: ${checker.typeToString(wireType)} is read as ${checker.typeToString(modelType)}`,
    );
    if (modelType.flags & ts.TypeFlags.Object && !checker.isArrayType(modelType))
      assertReads(modelType, wireType, `${path}.${name}`);
  }
}

describe("the harvester's record types and the client's", () => {
  for (const name of ['UsageDataProvider', 'AggregatorSetting', 'CounterReport']) {
    it(`${name}: every field the harvester reads is the API's, of a type it accepts`, () => {
      const model = exportsOf(MODEL_RECORDS).get(name);
      const wire = exportsOf(CLIENT_TYPES).get(name);
      assert.ok(model && wire, name);
      assertReads(model, wire, name);
    });
  }
});
