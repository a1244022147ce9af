/**
 * `harvester.migrations`: the schema version of each migration scope (`system`, `tenant:<schema>`).
 * The table itself is created by store/migrations.ts before anything else.
 */
import type { Queryable } from '../db.ts';
import { systemTable } from './schema.ts';

const MIGRATIONS = systemTable('migrations');

/** The version applied to `scope`, 0 when none. */
export async function appliedVersion(tx: Queryable, scope: string): Promise<number> {
  const res = await tx.query<{ version: number }>(`SELECT version FROM ${MIGRATIONS} WHERE scope = $1`, [
    scope,
  ]);
  return res.rows[0]?.version ?? 0;
}

export async function recordVersion(tx: Queryable, scope: string, version: number): Promise<void> {
  await tx.query(
    `INSERT INTO ${MIGRATIONS} (scope, version) VALUES ($1, $2)
     ON CONFLICT (scope) DO UPDATE SET version = EXCLUDED.version`,
    [scope, version],
  );
}

export async function forgetScope(tx: Queryable, scope: string): Promise<void> {
  await tx.query(`DELETE FROM ${MIGRATIONS} WHERE scope = $1`, [scope]);
}
