/**
 * The standalone store as the harvester's ErmStore port: the records of LocalRecords (local-records.ts),
 * with its answers turned into ErmErrors as an HTTP client of mod-erm-usage would see them, so the engine
 * behaves the same with this store and with FOLIO's (okapi-store.ts). The engine gets providers and
 * aggregators with their credentials decrypted (docs/credentials.md); what it writes back is encrypted.
 */
import type { AggregatorSetting, CounterReport, UsageDataProvider } from '../model/records.ts';
import { LocalRecords } from './local-records.ts';
import { ErmError, type ErmStore, type Page, type StoredMonthsKey, type StreamedReport } from './port.ts';
import { StoreError } from './store-error.ts';
import { isFolioUuid } from '../model/schemas.ts';
import { tenantTable } from '../store/tenants.ts';

const REASONS: Record<number, string> = { 400: 'Bad Request', 404: 'Not Found', 422: 'Unprocessable Entity' };

/** Runs a store call for the port: store answers become ErmErrors, as an HTTP client would see them. */
async function asPort<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof StoreError) throw new ErmError(err.status, REASONS[err.status]);
    throw err;
  }
}

export class LocalErmStore extends LocalRecords implements ErmStore {
  getProvider(tenant: string, id: string): Promise<UsageDataProvider> {
    return asPort(
      async () =>
        this.unseal(
          'usage-data-providers',
          await this.read(tenant, 'usage-data-providers', id),
        ) as UsageDataProvider,
    );
  }

  putProvider(tenant: string, provider: UsageDataProvider): Promise<void> {
    return asPort(async () => {
      await this.replace(tenant, 'usage-data-providers', provider.id, provider);
    });
  }

  /**
   * One statement: the provider's `harvestingDate` and its metadata's `updatedDate` become `date`,
   * and `updatedByUserId` goes (the harvester is no user), as the PUT of the loaded provider did; the
   * rest stays as stored, so an edit made since the job loaded the provider is kept.
   */
  setHarvestingDate(tenant: string, providerId: string, date: string): Promise<void> {
    return asPort(async () => {
      if (!isFolioUuid(providerId)) throw new StoreError(404, 'Not found');
      const res = await this.ctx.db.query(
        `UPDATE ${tenantTable(tenant, 'usage_data_providers')}
         SET jsonb = jsonb || jsonb_build_object(
           'harvestingDate', $2::text,
           'metadata', CASE
             WHEN jsonb_typeof(jsonb->'metadata') = 'object' AND jsonb_typeof(jsonb->'metadata'->'createdDate') = 'string'
               THEN (jsonb->'metadata') - 'updatedByUserId'
             ELSE jsonb_build_object('createdDate', $2::text)
           END || jsonb_build_object('updatedDate', $2::text))
         WHERE id = $1::uuid`,
        [providerId.toLowerCase(), date],
      );
      if (res.rowCount === 0) throw new StoreError(404, 'Not found');
    });
  }

  findProviders(
    tenant: string,
    cql: string,
    offset: number,
    limit: number,
  ): Promise<Page<UsageDataProvider>> {
    return asPort(async () => {
      const page = await this.list(tenant, 'usage-data-providers', { cql, offset, limit });
      return {
        records: page.records.map((r) => this.unseal('usage-data-providers', r)),
        totalRecords: page.totalRecords,
      } as Page<UsageDataProvider>;
    });
  }

  getAggregator(tenant: string, id: string): Promise<AggregatorSetting> {
    return asPort(
      async () =>
        this.unseal(
          'aggregator-settings',
          await this.read(tenant, 'aggregator-settings', id),
        ) as AggregatorSetting,
    );
  }

  findCounterReports(
    tenant: string,
    cql: string,
    offset: number,
    limit: number,
    tiny: boolean,
  ): Promise<Page<CounterReport>> {
    return asPort(
      async () =>
        (await this.list(tenant, 'counter-reports', { cql, offset, limit, tiny })) as Page<CounterReport>,
    );
  }

  postCounterReport(tenant: string, report: CounterReport): Promise<string> {
    return asPort(async () => String((await this.create(tenant, 'counter-reports', report)).id));
  }

  putCounterReport(tenant: string, id: string, report: CounterReport): Promise<void> {
    return asPort(async () => {
      await this.replace(tenant, 'counter-reports', id, report);
    });
  }

  override findStoredMonths(tenant: string, key: StoredMonthsKey): Promise<CounterReport[]> {
    return asPort(async () => (await super.findStoredMonths(tenant, key)) as CounterReport[]);
  }

  override upsertCounterReports(
    tenant: string,
    writes: { id?: string; record: CounterReport }[],
  ): Promise<string[]> {
    return asPort(() => super.upsertCounterReports(tenant, writes));
  }

  override insertNewMonths(
    tenant: string,
    key: StoredMonthsKey,
    records: CounterReport[],
  ): Promise<{ ids: string[] } | { existing: CounterReport[] } | undefined> {
    return asPort(
      async () =>
        (await super.insertNewMonths(tenant, key, records)) as
          { ids: string[] } | { existing: CounterReport[] } | undefined,
    );
  }

  postCounterReportStream(tenant: string, record: CounterReport, report: StreamedReport): Promise<string> {
    return asPort(async () => String((await this.create(tenant, 'counter-reports', record, {}, report)).id));
  }

  putCounterReportStream(
    tenant: string,
    id: string,
    record: CounterReport,
    report: StreamedReport,
  ): Promise<void> {
    return asPort(async () => {
      await this.replace(tenant, 'counter-reports', id, record, {}, report);
    });
  }
}
