/**
 * JSON Schema validation of a report's header and items against the official COUNTER API schemas of
 * the release the data is in: COUNTER_API 5.1.0.1 (JSON Schema 2020-12 inside OpenAPI 3.1) and
 * COUNTER_SUSHI5 5.0.3 (the draft-4 dialect of Swagger 2.0, which Ajv's default draft-07 reads).
 * The schemas are copies under ./schemas (see its README). Their validators are compiled ahead of
 * time (Ajv's standalone code, ./compiled, written by scripts/compile-counter-validators.ts): the
 * module of a release's master report (with its standard views) is loaded on first use, in milliseconds instead of the 0.1–0.2 CPU s that
 * compiling the schemas in each process took (docs/benchmarks.md, section 1).
 */
import { createRequire } from 'node:module';
import { masterReportOf, type CounterRelease, type ReportId } from '../reports.ts';

/** A compiled check: undefined when valid, else the first violation as `<JSON pointer>: <message>`. */
export type SchemaCheck = (value: unknown) => SchemaViolation | undefined;

export interface SchemaViolation {
  /** JSON pointer inside the validated value ('' for the value itself). */
  path: string;
  message: string;
}

type Part = 'header' | 'item';

/** What Ajv reports of a violation (the members used here). */
interface ErrorObject {
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
}

/** An Ajv validate function: true when valid, else false with `errors` set. */
interface ValidateFunction {
  (value: unknown): boolean;
  errors?: ErrorObject[] | null;
}

const require = createRequire(import.meta.url);
const modules = new Map<string, Record<string, ValidateFunction | undefined>>();
const compiled = new Map<string, SchemaCheck>();

/**
 * The validators of a release's master report and its standard views, loaded on first use (module
 * names as scripts/compile-counter-validators.ts writes them).
 */
function validators(release: CounterRelease, report: ReportId): Record<string, ValidateFunction | undefined> {
  const name = `validators-${release === '5.1' ? '5.1' : '5.0'}-${masterReportOf(report)}`;
  let loaded = modules.get(name);
  if (!loaded) {
    loaded = require(`./compiled/${name}.cjs`) as Record<string, ValidateFunction | undefined>;
    modules.set(name, loaded);
  }
  return loaded;
}

function describe(error: ErrorObject): SchemaViolation {
  const params = error.params;
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

/** The validator of a report's header or of one `Report_Items` element. */
export function schemaCheck(release: CounterRelease, report: ReportId, part: Part): SchemaCheck {
  const key = `${release}:${report}:${part}`;
  let check = compiled.get(key);
  if (!check) {
    const validate = validators(release, report)[`${report}_${part}`];
    if (!validate) throw new Error(`no compiled validator ${key}`);
    check = toCheck(validate);
    compiled.set(key, check);
  }
  return check;
}
