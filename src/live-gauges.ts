/**
 * The metrics gauges read from the database at each scrape of `/metrics` (metrics.ts): jobs and work
 * items by state, endpoints in back-off (the whole cluster's, as every process sees the same tables),
 * and per tenant the stored months whose last harvest failed (through the ErmStore port, so FOLIO mode
 * counts FOLIO's records) and each provider's last successful harvest (the tenant's JobInfos, which
 * this service keeps in both modes).
 */
import type { ServiceContext } from './context.ts';
import type { ErmStore } from './erm/port.ts';
import type { GaugeReadings } from './metrics.ts';
import { countEndpointsInBackoff } from './store/sql/endpoints.ts';
import { lastSuccessfulHarvests } from './store/sql/last-success.ts';
import { countJobsByState } from './store/sql/queue.ts';
import { countWorkItemsByState } from './store/sql/work-items.ts';

/** Months with a failed last harvest: FOLIO's `failedAttempts` is set on them, and only on them. */
const FAILED_MONTHS_CQL = 'failedAttempts=""';

export function gaugeReader(ctx: ServiceContext, erm: ErmStore): () => Promise<GaugeReadings> {
  return async () => {
    const failedMonths: GaugeReadings['failedMonths'] = [];
    const lastSuccess: GaugeReadings['lastSuccess'] = [];
    for (const tenant of await ctx.tenants.list()) {
      try {
        const page = await erm.findCounterReports(tenant, FAILED_MONTHS_CQL, 0, 0, true);
        failedMonths.push({ tenant, n: page.totalRecords });
      } catch (err) {
        ctx.log.warn({ tenant, err: (err as Error).message }, 'metrics: cannot count failed months');
      }
      try {
        for (const { providerId, seconds } of await lastSuccessfulHarvests(ctx.db, tenant))
          lastSuccess.push({ tenant, provider: providerId, seconds });
      } catch (err) {
        ctx.log.warn({ tenant, err: (err as Error).message }, 'metrics: cannot read the last harvests');
      }
    }
    return {
      jobs: await countJobsByState(ctx.db),
      workItems: await countWorkItemsByState(ctx.db),
      endpointsInBackoff: await countEndpointsInBackoff(ctx.db, ctx.clock.now()),
      failedMonths,
      lastSuccess,
    };
  };
}
