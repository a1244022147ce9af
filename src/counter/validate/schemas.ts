/**
 * JSON Schema validation of a report's header and items against the official COUNTER API schemas of
 * the release the data is in: COUNTER_API 5.1.0.1 (JSON Schema 2020-12 inside OpenAPI 3.1) and
 * COUNTER_SUSHI5 5.0.3 (the draft-4 dialect of Swagger 2.0, which Ajv's default draft-07 reads).
 * The schemas are copies under ./schemas (see its README); each release's set is compiled once per
 * process on first use, and each report's header and item validators once when first asked for.
 */
import { Ajv, type ValidateFunction, type ErrorObject } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { fullFormats } from 'ajv-formats/dist/formats.js';
import { masterReportOf, type CounterRelease, type ReportId } from '../reports.ts';
import schema51 from './schemas/counter-api-5.1.0.1.json' with { type: 'json' };
import schema50 from './schemas/counter-sushi-5.0.3.json' with { type: 'json' };

/** A compiled check: undefined when valid, else the first violation as `<JSON pointer>: <message>`. */
export type SchemaCheck = (value: unknown) => SchemaViolation | undefined;

export interface SchemaViolation {
  /** JSON pointer inside the validated value ('' for the value itself). */
  path: string;
  message: string;
}

const R50_DEFINITIONS: Record<string, string> = {
  PR: 'COUNTER_platform_report',
  DR: 'COUNTER_database_report',
  TR: 'COUNTER_title_report',
  IR: 'COUNTER_item_report',
};

type Part = 'header' | 'item';

let ajv51: Ajv2020 | undefined;
let ajv50: Ajv | undefined;
const compiled = new Map<string, SchemaCheck>();

function addFormats(ajv: Ajv | Ajv2020, names: readonly string[]): void {
  for (const name of names) ajv.addFormat(name, fullFormats[name as keyof typeof fullFormats]);
}

function instance51(): Ajv2020 {
  if (!ajv51) {
    // allErrors off: the first violation per value is enough for a warning, and it is faster.
    // validateSchema off: the copies are checked against the meta-schema by the tests
    // (test/counter/validate-schemas.test.ts), not in each process (about 80 ms CPU).
    ajv51 = new Ajv2020({ strict: false, allErrors: false, validateSchema: false });
    addFormats(ajv51, ['date', 'date-time', 'uri']);
    ajv51.addSchema(schema51);
  }
  return ajv51;
}

function instance50(): Ajv {
  if (!ajv50) {
    ajv50 = new Ajv({ strict: false, allErrors: false, validateSchema: false });
    addFormats(ajv50, ['date-time', 'int32']);
    // Swagger 2.0 spelled the RFC 3339 format `dateTime` in the 5.0.3 document.
    ajv50.addFormat('dateTime', fullFormats['date-time']);
    ajv50.addSchema(schema50);
  }
  return ajv50;
}

function pointer(release: CounterRelease, report: ReportId, part: Part): string {
  const member = part === 'header' ? 'Report_Header' : 'Report_Items/items';
  if (release === '5.1') return `${schema51.$id}#/components/schemas/${report}/properties/${member}`;
  return `${schema50.$id}#/definitions/${R50_DEFINITIONS[masterReportOf(report)]}/properties/${member}`;
}

function describe(error: ErrorObject): SchemaViolation {
  const params = error.params as Record<string, unknown>;
  const extra = params.additionalProperty ?? params.unevaluatedProperty;
  const detail = typeof extra === 'string' ? ` (${extra})` : '';
  return { path: error.instancePath, message: `${error.message ?? 'invalid'}${detail}` };
}

function toCheck(validate: ValidateFunction): SchemaCheck {
  return (value) => {
    if (validate(value)) return undefined;
    const [first] = validate.errors ?? [];
    return first ? describe(first) : { path: '', message: 'invalid' };
  };
}

/** The validator of a report's header or of one `Report_Items` element, compiled on first use. */
export function schemaCheck(release: CounterRelease, report: ReportId, part: Part): SchemaCheck {
  const key = `${release}:${report}:${part}`;
  let check = compiled.get(key);
  if (!check) {
    const ajv = release === '5.1' ? instance51() : instance50();
    check = toCheck(ajv.compile({ $ref: pointer(release, report, part) }));
    compiled.set(key, check);
  }
  return check;
}
