/**
 * The standalone store's checks of a written record (folio-contract §4.4): validation against the record's
 * schema (src/model/schemas.ts) with FOLIO/RMB-style field errors (answered 422 by the routes), nulls
 * removed, date-times normalised, the fields the store sets itself dropped, defaults applied.
 */
import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import type { TLocalizedValidationError } from 'typebox/error';
import { normalizeDateTime } from '../dates.ts';
import { redactSecrets } from '../redact.ts';
import { isCalendarDay, isYearMonth } from '../model/input-checks.ts';
import type { JsonRecord } from '../model/records.ts';
import {
  AggregatorSettingSchema,
  CounterReportSchema,
  DERIVED_PROVIDER_FIELDS,
  UsageDataProviderSchema,
} from '../model/schemas.ts';

/** One violated rule of a written record: the field's dotted path, its value, and what is wrong. */
export interface FieldError {
  field: string;
  value: string;
  message: string;
  code: string;
}

/** A written record that breaks the schema (folio-contract §4.4 rule 1); the routes answer 422. */
export class RecordValidationError extends Error {
  override name = 'RecordValidationError';
  constructor(readonly errors: FieldError[]) {
    super(errors.map((e) => e.message).join('; '));
  }
}

const NOT_NULL_CODE = 'javax.validation.constraints.NotNull.message';

function valueText(value: unknown): string {
  if (value === undefined || value === null) return 'null';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function valueAt(record: unknown, path: string[]): unknown {
  let v: unknown = record;
  for (const key of path) v = v !== null && typeof v === 'object' ? (v as JsonRecord)[key] : undefined;
  return v;
}

function pathOf(instancePath: string): string[] {
  return instancePath === '' ? [] : instancePath.slice(1).split('/');
}

function describe(error: TLocalizedValidationError): string {
  switch (error.keyword) {
    case 'enum':
      return `must be one of ${error.params.allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'type':
      return `must be ${String(error.params.type) === 'integer' ? 'an integer' : `of type ${String(error.params.type)}`}`;
    case 'anyOf':
      return 'must be a date-time string or a number of epoch milliseconds';
    case 'pattern':
      return 'must be a UUID';
    case 'minimum':
      return `must be at least ${String(error.params.limit)}`;
    case 'maximum':
      return `must be at most ${String(error.params.limit)}`;
    default:
      return error.message;
  }
}

/** Turns TypeBox errors into one field error per offending field (anyOf branches are folded into one). */
function toFieldErrors(record: unknown, errors: TLocalizedValidationError[]): FieldError[] {
  const out = new Map<string, FieldError>();
  const anyOfPaths = new Set(errors.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath));
  for (const error of errors) {
    if (error.keyword === 'required') {
      for (const name of error.params.requiredProperties) {
        const field = [...pathOf(error.instancePath), name].join('.');
        out.set(field, { field, value: 'null', message: `${field} must not be null`, code: NOT_NULL_CODE });
      }
      continue;
    }
    if (anyOfPaths.has(error.instancePath) && error.keyword !== 'anyOf') continue;
    const path = pathOf(error.instancePath);
    const field = path.join('.');
    if (out.has(field)) continue;
    const value = valueText(valueAt(record, path));
    out.set(field, { field, value, message: `${field} ${describe(error)}`, code: error.keyword });
  }
  return [...out.values()];
}

function removeNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(removeNulls);
  if (value === null || typeof value !== 'object') return value;
  const out: JsonRecord = {};
  for (const [k, v] of Object.entries(value)) if (v !== null && v !== undefined) out[k] = removeNulls(v);
  return out;
}

/**
 * A copy of the record without null-valued properties (folio-contract H6); `report` data is kept as it
 * is, not copied (the check never changes it; copying a month's report cost more than all the checks).
 */
function withoutNulls(record: JsonRecord): JsonRecord {
  const { report, ...rest } = record;
  const clean = removeNulls(rest) as JsonRecord;
  if (report !== undefined && report !== null) clean.report = report;
  return clean;
}

/** Normalises the date-time at `path` to folio-contract H7, or reports it. */
function normalizeDateAt(record: JsonRecord, path: string[], errors: FieldError[]): void {
  const parent = valueAt(record, path.slice(0, -1));
  if (parent === null || typeof parent !== 'object') return;
  const key = path[path.length - 1];
  const value = (parent as JsonRecord)[key];
  if (value === undefined) return;
  const normal = normalizeDateTime(value);
  if (normal !== undefined) (parent as JsonRecord)[key] = normal;
  else {
    const field = path.join('.');
    errors.push({
      field,
      value: valueText(value),
      message: `${field} must be a date-time such as 2019-01-01T08:00:00.000+0000, or epoch milliseconds`,
      code: 'date-time',
    });
  }
}

interface RecordCheck {
  schema: TSchema;
  dateFields: string[][];
  /** Properties the client may send but the store sets itself. */
  ignored: readonly string[];
  defaults?: JsonRecord;
  rules?: (record: JsonRecord) => FieldError[];
}

function makeChecker(check: RecordCheck): (body: JsonRecord) => JsonRecord {
  const validator = Compile(check.schema);
  return (body) => {
    // withoutNulls copies every object and array it keeps (the report is shared, see there).
    const record = withoutNulls(body);
    for (const key of check.ignored) delete record[key];
    for (const [key, value] of Object.entries(check.defaults ?? {})) record[key] ??= value;
    const errors = toFieldErrors(record, validator.Errors(record));
    if (errors.length === 0) {
      for (const path of check.dateFields) normalizeDateAt(record, path, errors);
      errors.push(...(check.rules?.(record) ?? []));
    }
    if (errors.length > 0) throw new RecordValidationError(errors);
    return record;
  };
}

/** folio-contract §4.4 rule 4: an inactive provider cannot have active harvesting. */
function providerConsistency(record: JsonRecord): FieldError[] {
  const harvestingStatus = valueAt(record, ['harvestingConfig', 'harvestingStatus']);
  if (record.status !== 'inactive' || harvestingStatus !== 'active') return [];
  const message =
    'status "inactive" cannot be combined with harvestingConfig.harvestingStatus "active": ' +
    'set harvestingConfig.harvestingStatus to "inactive" or status to "active"';
  return [
    { field: 'status', value: 'inactive', message, code: 'inconsistent' },
    { field: 'harvestingConfig.harvestingStatus', value: 'active', message, code: 'inconsistent' },
  ];
}

/**
 * A service URL is an absolute http(s) URL: `file:`, `javascript:`, `data:` and the like are refused when
 * the record is written (the harvester's host policy decides later which addresses it may call).
 */
function httpUrlAt(path: string[]): (record: JsonRecord) => FieldError[] {
  return (record) => {
    const value = valueAt(record, path);
    if (typeof value !== 'string' || value.trim() === '') return [];
    try {
      const url = new URL(value.trim());
      if (url.protocol === 'http:' || url.protocol === 'https:') return [];
    } catch {
      // not a URL at all
    }
    const field = path.join('.');
    return [
      {
        field,
        value: redactSecrets(value),
        message: `${field} must be an http or https URL such as https://sushi.example.org/counter/r51`,
        code: 'url',
      },
    ];
  };
}

const providerServiceUrl = httpUrlAt(['harvestingConfig', 'sushiConfig', 'serviceUrl']);

/**
 * A month field: `yyyy-MM` (years 0001–9999); with `days`, also a day `yyyy-MM-dd` (the harvester takes
 * the month of it). With `optional`, an empty string means "not set".
 */
function monthAt(path: string[], opts: { days?: boolean; optional?: boolean } = {}) {
  return (record: JsonRecord): FieldError[] => {
    const value = valueAt(record, path);
    if (value === undefined || (opts.optional && value === '')) return [];
    if (isYearMonth(value) || (opts.days && isCalendarDay(value))) return [];
    const field = path.join('.');
    const form = opts.days
      ? 'a month yyyy-MM such as 2024-01 (or a day yyyy-MM-dd)'
      : 'a month yyyy-MM such as 2024-01';
    return [{ field, value: valueText(value), message: `${field} must be ${form}`, code: 'month' }];
  };
}

const harvestingStart = monthAt(['harvestingConfig', 'harvestingStart'], { days: true, optional: true });
const harvestingEnd = monthAt(['harvestingConfig', 'harvestingEnd'], { days: true, optional: true });

/**
 * Each check returns a normalised copy of a written record: nulls removed, date-times in folio-contract H7, metadata and
 * (for providers) derived fields removed, schema defaults applied. It throws RecordValidationError.
 */
export const checkProvider = makeChecker({
  schema: UsageDataProviderSchema,
  dateFields: [['harvestingDate']],
  ignored: ['metadata', ...DERIVED_PROVIDER_FIELDS],
  defaults: { status: 'active' },
  rules: (record) => [
    ...providerConsistency(record),
    ...providerServiceUrl(record),
    ...harvestingStart(record),
    ...harvestingEnd(record),
  ],
});

export const checkAggregator = makeChecker({
  schema: AggregatorSettingSchema,
  dateFields: [],
  ignored: ['metadata'],
  rules: httpUrlAt(['serviceUrl']),
});

export const checkCounterReport = makeChecker({
  schema: CounterReportSchema,
  dateFields: [['downloadTime']],
  ignored: ['metadata'],
  rules: monthAt(['yearMonth']),
});

/** Merges field errors that share a message (the consistency rule names two fields in one error). */
export function rmbErrors(errors: FieldError[]): {
  message: string;
  code: string;
  parameters: { key: string; value: string }[];
}[] {
  const byMessage = new Map<
    string,
    { message: string; code: string; parameters: { key: string; value: string }[] }
  >();
  for (const e of errors) {
    const entry = byMessage.get(e.message) ?? { message: e.message, code: e.code, parameters: [] };
    entry.parameters.push({ key: e.field, value: e.value });
    byMessage.set(e.message, entry);
  }
  return [...byMessage.values()];
}
