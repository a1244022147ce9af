/**
 * `harvester.periodic_fires`: one row per (tenant, schedule, fire time). The process whose insert
 * succeeds runs the firing, so a schedule's time fires once over all processes.
 */
import type { Queryable } from '../db.ts';
import { systemTable } from './schema.ts';

const PERIODIC_FIRES = systemTable('periodic_fires');

/** Claims one firing for `instanceId`; false when another process already has. */
export async function claimFire(
  db: Queryable,
  fire: { tenant: string; scheduleId: string; fireTime: number; instanceId: string },
): Promise<boolean> {
  const res = await db.query(
    `INSERT INTO ${PERIODIC_FIRES} (tenant, schedule_id, fire_time, instance_id)
     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
    [fire.tenant, fire.scheduleId, new Date(fire.fireTime), fire.instanceId],
  );
  return res.rowCount > 0;
}

/** Forgets the firings before `before` (old records are of no use once their time has passed). */
export async function pruneFires(db: Queryable, before: number): Promise<void> {
  await db.query(`DELETE FROM ${PERIODIC_FIRES} WHERE fire_time < $1`, [new Date(before)]);
}

export async function deleteTenantFires(db: Queryable, tenant: string): Promise<void> {
  await db.query(`DELETE FROM ${PERIODIC_FIRES} WHERE tenant = $1`, [tenant]);
}
