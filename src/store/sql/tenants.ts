/** `harvester.tenants`: the initialised tenants. */
import type { Queryable } from '../db.ts';
import { systemTable } from './schema.ts';

const TENANTS = systemTable('tenants');

export async function tenantExists(db: Queryable, tenant: string): Promise<boolean> {
  const res = await db.query(`SELECT 1 FROM ${TENANTS} WHERE id = $1`, [tenant]);
  return res.rows.length > 0;
}

/** The tenant ids in order. */
export async function listTenants(db: Queryable): Promise<string[]> {
  const res = await db.query<{ id: string }>(`SELECT id FROM ${TENANTS} ORDER BY id`);
  return res.rows.map((r) => r.id);
}

/** Registers the tenant, or records its new module version (an absent one keeps the stored). */
export async function upsertTenant(
  db: Queryable,
  tenant: string,
  moduleTo: string | undefined,
  now: number,
): Promise<void> {
  await db.query(
    `INSERT INTO ${TENANTS} (id, module_to, created_at) VALUES ($1, $2, $3)
     ON CONFLICT (id) DO UPDATE SET module_to = COALESCE(EXCLUDED.module_to, ${TENANTS}.module_to)`,
    [tenant, moduleTo ?? null, new Date(now)],
  );
}

export async function deleteTenant(db: Queryable, tenant: string): Promise<void> {
  await db.query(`DELETE FROM ${TENANTS} WHERE id = $1`, [tenant]);
}
