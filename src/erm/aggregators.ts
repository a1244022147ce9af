/** The `aggregator_settings` table: its checks, and its label copied into the providers that use it. */
import { renameAggregator } from './derived.ts';
import { checkAggregator } from './record-checks.ts';
import type { RecordTable } from './record-table.ts';

export const AGGREGATORS: RecordTable = {
  table: 'aggregator_settings',
  check: checkAggregator,
  separateReport: false,
  secretKind: 'aggregator',
  providersOf: () => [],
  async afterWrite(tx, tenant, stored) {
    await renameAggregator(tx, tenant, String(stored.id), String(stored.label));
  },
};
