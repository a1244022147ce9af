/**
 * The tenant table `periodic_config`: the tenant's one PeriodicConfig (folio-contract §2.8, §3.3), under
 * the fixed id.
 */
import type { Queryable } from '../db.ts';
import { tenantTable } from '../tenants.ts';

export type PeriodicInterval = 'daily' | 'weekly' | 'monthly';

export const PERIODIC_INTERVALS: readonly PeriodicInterval[] = ['daily', 'weekly', 'monthly'];

export const PERIODIC_CONFIG_ID = '8bf5fe33-5ec8-420c-a86d-6320c55ba554';

/** Stored and returned as is: dates in the folio-contract H7 format, extra properties kept. */
export interface PeriodicConfig extends Record<string, unknown> {
  id: string;
  startAt: string;
  periodicInterval: PeriodicInterval;
  lastTriggeredAt?: string;
}

function table(tenant: string): string {
  return tenantTable(tenant, 'periodic_config');
}

export async function getPeriodicConfig(db: Queryable, tenant: string): Promise<PeriodicConfig | undefined> {
  const res = await db.query<{ jsonb: PeriodicConfig }>(`SELECT jsonb FROM ${table(tenant)} WHERE id = $1`, [
    PERIODIC_CONFIG_ID,
  ]);
  return res.rows[0]?.jsonb;
}

/** Replaces the stored configuration as a whole. */
export async function savePeriodicConfig(
  db: Queryable,
  tenant: string,
  config: PeriodicConfig,
): Promise<void> {
  await db.query(
    `INSERT INTO ${table(tenant)} (id, jsonb) VALUES ($1, $2::jsonb)
     ON CONFLICT (id) DO UPDATE SET jsonb = EXCLUDED.jsonb`,
    [PERIODIC_CONFIG_ID, JSON.stringify({ ...config, id: PERIODIC_CONFIG_ID })],
  );
}

/** Deletes the configuration; false when none was stored. */
export async function deletePeriodicConfig(db: Queryable, tenant: string): Promise<boolean> {
  const res = await db.query(`DELETE FROM ${table(tenant)} WHERE id = $1`, [PERIODIC_CONFIG_ID]);
  return res.rowCount > 0;
}

/** Sets `lastTriggeredAt`, keeping every other field. False when no configuration is stored. */
export async function setLastTriggeredAt(db: Queryable, tenant: string, at: string): Promise<boolean> {
  const res = await db.query(
    `UPDATE ${table(tenant)} SET jsonb = jsonb_set(jsonb, '{lastTriggeredAt}', to_jsonb($2::text)) WHERE id = $1`,
    [PERIODIC_CONFIG_ID, at],
  );
  return res.rowCount > 0;
}
