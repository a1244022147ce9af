/** `harvester.instances`: the service processes on the database and when each was last seen. */
import type { Queryable } from '../db.ts';
import { systemTable } from './schema.ts';

const INSTANCES = systemTable('instances');

/** Records that the process `id` is alive at `now` (registering it on its first beat). */
export async function beatInstance(db: Queryable, id: string, now: number): Promise<void> {
  await db.query(
    `INSERT INTO ${INSTANCES} (id, started_at, heartbeat_at) VALUES ($1, $2, $2)
     ON CONFLICT (id) DO UPDATE SET heartbeat_at = EXCLUDED.heartbeat_at`,
    [id, new Date(now)],
  );
}
