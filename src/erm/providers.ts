/**
 * The `usage_data_providers` table: its checks, its CQL index `keywords`, the fields the store owns
 * (the aggregator's name and the statistics, derived.ts), and the cascade of a delete (its counter reports).
 */
import { deleteReportsOfProvider } from './counter-reports.ts';
import { computeProviderStats, withAggregatorName, withStats } from './derived.ts';
import { checkProvider } from './record-checks.ts';
import { stringField, type RecordTable } from './record-table.ts';

export const PROVIDERS: RecordTable = {
  table: 'usage_data_providers',
  check: checkProvider,
  separateReport: false,
  secretKind: 'provider',
  virtualIndexes: { keywords: ['label', 'description', 'harvestingConfig.aggregator.name'] },
  providersOf: (record) => [stringField(record, 'id')],
  async prepare(tx, tenant, record) {
    const named = await withAggregatorName(tx, tenant, record);
    return withStats(named, await computeProviderStats(tx, tenant, String(record.id)));
  },
  async afterDelete(tx, tenant, previous) {
    await deleteReportsOfProvider(tx, tenant, String(previous.id));
  },
};
