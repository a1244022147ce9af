/**
 * TypeBox schemas of mod-erm-usage's records as this service's API takes and gives them (docs/folio-contract.md
 * folio-contract §3.5–§3.10): they document the API (OpenAPI) and the standalone store validates writes against them
 * (src/erm/record-checks.ts). All records allow unknown properties, which are stored unchanged.
 */
import { Type } from 'typebox';

const open = { additionalProperties: true } as const;

/** RMB's UUID pattern: version 1–5, variant 8, 9, a or b. */
const UUID_PATTERN =
  '^[a-fA-F0-9]{8}-[a-fA-F0-9]{4}-[1-5][a-fA-F0-9]{3}-[89abAB][a-fA-F0-9]{3}-[a-fA-F0-9]{12}$';
const UUID_RE = new RegExp(UUID_PATTERN);

export function isFolioUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID_RE.test(value);
}

/** folio-contract H8 input: an ISO-8601 string or epoch milliseconds; output is always the H7 string. */
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
  { description: 'Set by the store on every write; what a client sends is ignored' },
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

/** Fields the store computes (folio-contract §4.5); client values are replaced. */
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
    failedAttempts: Type.Optional(Type.Integer({ minimum: 0, maximum: 2_147_483_647 })),
    failedReason: Type.Optional(Type.String()),
    release: Type.String(),
    reportName: Type.String(),
    yearMonth: Type.String(),
    providerId: Type.Optional(Type.String()),
    report: Type.Optional(Type.Object({}, { ...open, description: 'One month of report data' })),
    metadata: Type.Optional(MetadataSchema),
    reportEditedManually: Type.Optional(Type.Boolean()),
    editReason: Type.Optional(Type.String()),
    itemCount: Type.Optional(
      Type.Integer({ minimum: 0, description: 'Harvester addition: items with usage in the month' }),
    ),
    usageTotals: Type.Optional(
      Type.Object(
        {},
        {
          additionalProperties: Type.Number(),
          description: 'Harvester addition: the sum of the counts per Metric_Type',
        },
      ),
    ),
    contentHash: Type.Optional(
      Type.String({ description: "Harvester addition: sha256 (hex) of the month's items as harvested" }),
    ),
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

/** RMB's errors format (folio-contract §3.9), the body of every 422. */
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
