/**
 * TypeBox schemas of the store's records (compat spec §3.5–§3.10) and the request checks built on them.
 * The schemas document the API (OpenAPI) and validate writes; a failed check gives FOLIO/RMB-style field
 * errors (answered 422 by the routes). All records allow unknown properties, which are stored unchanged.
 */
import { Type, type TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import type { TLocalizedValidationError } from 'typebox/error';
import { normalizeDateTime } from '../dates.ts';
import { redactSecrets } from '../redact.ts';
import type { JsonRecord } from './port.ts';

const open = { additionalProperties: true } as const;

/** RMB's UUID pattern: version 1–5, variant 8, 9, a or b. */
export const UUID_PATTERN =
  '^[a-fA-F0-9]{8}-[a-fA-F0-9]{4}-[1-5][a-fA-F0-9]{3}-[89abAB][a-fA-F0-9]{3}-[a-fA-F0-9]{12}$';
const UUID_RE = new RegExp(UUID_PATTERN);

export function isFolioUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID_RE.test(value);
}

/** H8 input: an ISO-8601 string or epoch milliseconds; output is always the H7 string. */
const DateTime = Type.Union([Type.String(), Type.Number()], {
  description: "date-time: ISO-8601 string or epoch ms on input; 'yyyy-MM-dd'T'HH:mm:ss.SSS+00:00' on output",
});
const Uuid = Type.String({ pattern: UUID_PATTERN });
const ActiveInactive = Type.Enum(['active', 'inactive']);

export const MetadataSchema = Type.Object(
  {
    createdDate: Type.Optional(DateTime),
    createdByUserId: Type.Optional(Type.String()),
    createdByUsername: Type.Optional(Type.String()),
    updatedDate: Type.Optional(DateTime),
    updatedByUserId: Type.Optional(Type.String()),
    updatedByUsername: Type.Optional(Type.String()),
  },
  { ...open, description: 'Set by the store on every write' },
);

export const HarvestingConfigSchema = Type.Object(
  {
    harvestingStatus: ActiveInactive,
    harvestVia: Type.Optional(Type.Enum(['aggregator', 'sushi'])),
    sushiConfig: Type.Optional(
      Type.Object(
        { serviceType: Type.Optional(Type.String()), serviceUrl: Type.Optional(Type.String()) },
        open,
      ),
    ),
    aggregator: Type.Optional(
      Type.Object(
        {
          id: Type.String(),
          name: Type.Optional(Type.String({ description: 'Derived: the label of the aggregator setting' })),
          vendorCode: Type.Optional(Type.String()),
        },
        open,
      ),
    ),
    reportRelease: Type.Optional(Type.String()),
    requestedReports: Type.Optional(Type.Array(Type.String())),
    harvestingStart: Type.Optional(Type.String()),
    harvestingEnd: Type.Optional(Type.String()),
  },
  open,
);

export const SushiCredentialsSchema = Type.Object(
  {
    customerId: Type.Optional(Type.String()),
    requestorId: Type.Optional(Type.String()),
    apiKey: Type.Optional(Type.String()),
    platform: Type.Optional(Type.String()),
    requestorName: Type.Optional(Type.String()),
    requestorMail: Type.Optional(Type.String()),
  },
  open,
);

/** Fields the store computes (§4.5); client values are replaced. */
export const DERIVED_PROVIDER_FIELDS = [
  'latestReport',
  'earliestReport',
  'hasFailedReport',
  'reportErrorCodes',
  'reportTypes',
  'reportReleases',
] as const;

export const UsageDataProviderSchema = Type.Object(
  {
    id: Type.Optional(Uuid),
    label: Type.String(),
    description: Type.Optional(Type.String()),
    status: ActiveInactive,
    harvestingConfig: HarvestingConfigSchema,
    sushiCredentials: Type.Optional(SushiCredentialsSchema),
    latestReport: Type.Optional(Type.String({ description: 'Derived' })),
    earliestReport: Type.Optional(Type.String({ description: 'Derived' })),
    hasFailedReport: Type.Optional(Type.Enum(['yes', 'no'], { description: 'Derived' })),
    reportErrorCodes: Type.Optional(Type.Array(Type.String(), { description: 'Derived' })),
    reportTypes: Type.Optional(Type.Array(Type.String(), { description: 'Derived' })),
    reportReleases: Type.Optional(Type.Array(Type.String(), { description: 'Derived' })),
    harvestingDate: Type.Optional(DateTime),
    notes: Type.Optional(Type.String()),
    metadata: Type.Optional(MetadataSchema),
    tags: Type.Optional(Type.Object({ tagList: Type.Optional(Type.Array(Type.String())) }, open)),
  },
  { ...open, title: 'UsageDataProvider' },
);

export const AggregatorSettingSchema = Type.Object(
  {
    id: Type.Optional(Uuid),
    label: Type.String(),
    serviceType: Type.String(),
    serviceUrl: Type.String(),
    aggregatorConfig: Type.Optional(Type.Object({}, open)),
    accountConfig: Type.Object(
      {
        configType: Type.Enum(['Mail', 'API', 'Manual']),
        configMail: Type.Optional(Type.String()),
        displayContact: Type.Optional(Type.Array(Type.String())),
      },
      open,
    ),
    metadata: Type.Optional(MetadataSchema),
  },
  { ...open, title: 'AggregatorSetting' },
);

export const CounterReportSchema = Type.Object(
  {
    id: Type.Optional(Uuid),
    downloadTime: DateTime,
    failedAttempts: Type.Optional(Type.Integer()),
    failedReason: Type.Optional(Type.String()),
    release: Type.String(),
    reportName: Type.String(),
    yearMonth: Type.String(),
    providerId: Type.Optional(Type.String()),
    report: Type.Optional(Type.Object({}, { ...open, description: 'One month of report data' })),
    metadata: Type.Optional(MetadataSchema),
    reportEditedManually: Type.Optional(Type.Boolean()),
    editReason: Type.Optional(Type.String()),
  },
  { ...open, title: 'CounterReport' },
);

export const UsageDataProvidersSchema = Type.Object({
  usageDataProviders: Type.Array(UsageDataProviderSchema),
  totalRecords: Type.Integer(),
});
export const AggregatorSettingsSchema = Type.Object({
  aggregatorSettings: Type.Array(AggregatorSettingSchema),
  totalRecords: Type.Integer(),
});
export const CounterReportsSchema = Type.Object({
  counterReports: Type.Array(CounterReportSchema),
  totalRecords: Type.Integer(),
});

/** RMB's errors format (§3.9), the body of every 422. */
export const ErrorsSchema = Type.Object({
  errors: Type.Array(
    Type.Object({
      message: Type.String(),
      type: Type.Optional(Type.String()),
      code: Type.Optional(Type.String()),
      parameters: Type.Optional(Type.Array(Type.Object({ key: Type.String(), value: Type.String() }))),
    }),
  ),
  total_records: Type.Integer(),
});

/** One violated rule of a written record: the field's dotted path, its value, and what is wrong. */
export interface FieldError {
  field: string;
  value: string;
  message: string;
  code: string;
}

/** A written record that breaks the schema (§4.4 rule 1); the routes answer 422. */
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

/** A copy of the record without null-valued properties (H6); `report` data is kept as it is. */
export function withoutNulls(record: JsonRecord): JsonRecord {
  const { report, ...rest } = record;
  const clean = removeNulls(rest) as JsonRecord;
  if (report !== undefined && report !== null) clean.report = report;
  return clean;
}

/** Normalises the date-time at `path` to H7, or reports it. */
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
    const record = withoutNulls(structuredClone(body));
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

/** §4.4 rule 4: an inactive provider cannot have active harvesting. */
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
 * Each check returns a normalised copy of a written record: nulls removed, date-times in H7, metadata and
 * (for providers) derived fields removed, schema defaults applied. It throws RecordValidationError.
 */
export const checkProvider = makeChecker({
  schema: UsageDataProviderSchema,
  dateFields: [['harvestingDate']],
  ignored: ['metadata', ...DERIVED_PROVIDER_FIELDS],
  defaults: { status: 'active' },
  rules: (record) => [...providerConsistency(record), ...providerServiceUrl(record)],
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
