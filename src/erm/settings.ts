/** The tenant's `settings` table: one JSON value per key (`max_failed_attempts`, `days_to_keep_logs`). */
import type { Queryable } from '../store/db.ts';
import { tenantTable } from '../store/tenants.ts';

/** The stored value, undefined when none is stored. */
export async function readSetting(db: Queryable, tenant: string, key: string): Promise<unknown> {
  const res = await db.query<{ value: unknown }>(
    `SELECT value FROM ${tenantTable(tenant, 'settings')} WHERE key = $1`,
    [key],
  );
  return res.rows[0]?.value;
}

export async function writeSetting(
  db: Queryable,
  tenant: string,
  key: string,
  value: unknown,
): Promise<void> {
  await db.query(
    `INSERT INTO ${tenantTable(tenant, 'settings')} (key, value) VALUES ($1, $2::jsonb)
     ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
    [key, JSON.stringify(value)],
  );
}
