/**
 * `harvester.tenant_operations`: FOLIO `_tenant` operations (enable, upgrade) that callers poll; the
 * body is the operation as the API answers it.
 */
import type { Queryable } from '../db.ts';
import { systemTable } from './schema.ts';

const TENANT_OPERATIONS = systemTable('tenant_operations');

/** Inserts or replaces the operation `op.id` of `op.tenant`. */
export async function saveTenantOperation(
  db: Queryable,
  op: { id: string; tenant: string },
  now: number,
): Promise<void> {
  await db.query(
    `INSERT INTO ${TENANT_OPERATIONS} (id, tenant, body, created_at) VALUES ($1, $2, $3::jsonb, $4)
     ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body`,
    [op.id, op.tenant, JSON.stringify(op), new Date(now)],
  );
}

/** The body of the tenant's operation `id` (a uuid), or undefined. */
export async function loadTenantOperation<T>(
  db: Queryable,
  tenant: string,
  id: string,
): Promise<T | undefined> {
  const res = await db.query<{ body: T }>(
    `SELECT body FROM ${TENANT_OPERATIONS} WHERE id = $1 AND tenant = $2`,
    [id, tenant],
  );
  return res.rows[0]?.body;
}

export async function deleteTenantOperation(db: Queryable, id: string): Promise<void> {
  await db.query(`DELETE FROM ${TENANT_OPERATIONS} WHERE id = $1`, [id]);
}
