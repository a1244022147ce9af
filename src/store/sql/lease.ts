/**
 * The lease both queues use: `harvester.queue` (jobs) and `harvester.work_items` (requests of provider
 * jobs). A row is `queued` until a process takes it: `state = 'running'`, `locked_by` = the process's
 * instance id, `heartbeat_at` refreshed while the process works on it. A running row whose heartbeat is
 * older than the stale limit has lost its holder.
 *
 * What differs stays with each queue: how a row is chosen (jobs: the oldest due one, `FOR UPDATE SKIP
 * LOCKED`; requests: politeness under an advisory lock) and what becomes of a dead holder's row taken
 * MAX_ATTEMPTS times (a job is left to purgestale, which marks it stale; requests have no limit). The
 * rest is here, with the hand-back of dead holders' rows that every live process runs.
 */
import type { Queryable } from '../db.ts';

/** SET assignments that take a row for the process `$1` at the time `$2` (one more attempt). */
export const TAKE = `state = 'running', locked_by = $1, heartbeat_at = $2, attempts = attempts + 1`;

/** SET assignments that hand a row back to the queue. */
export const GIVE_BACK = `state = 'queued', locked_by = NULL, heartbeat_at = NULL`;

/**
 * A job taken this many times whose holder died is not handed back again: a job that stops its process
 * each time is not retried forever (it ends as `Stale job`, see docs/hardening.md). Requests have no
 * such limit: a process killed several times in a row shortly after each start would otherwise fail
 * the requests it had just taken (docs/hardening.md, "Crash safety").
 */
export const MAX_ATTEMPTS = 3;

/** How often a live process looks for rows of dead holders: half the stale limit, within 1 s – 60 s. */
export function reclaimIntervalMs(staleMs: number): number {
  return Math.max(1000, Math.min(60_000, Math.round(staleMs / 2)));
}

export class Lease {
  constructor(
    /** The table, schema-qualified. */
    readonly table: string,
    /** This process's instance id. */
    readonly owner: string,
    /** A running row whose heartbeat is older than this has lost its holder. */
    readonly staleMs: number,
    /** Rows taken this many times are not handed back by `reclaim`; unlimited when undefined. */
    readonly maxAttempts?: number,
  ) {}

  /** Heartbeats at or after this time are alive. */
  aliveSince(now: number): Date {
    return new Date(now - this.staleMs);
  }

  /** Refreshes the heartbeat of every row this process holds. */
  async heartbeat(db: Queryable, now: number): Promise<void> {
    await db.query(`UPDATE ${this.table} SET heartbeat_at = $2 WHERE locked_by = $1 AND state = 'running'`, [
      this.owner,
      new Date(now),
    ]);
  }

  /**
   * Running rows whose holder is dead go back to the queue (`runAfter` their new not-before time), whatever
   * process took them, when taken fewer than `maxAttempts` times. Dead: the heartbeat is older than the
   * stale limit and the holder is another process (this one is alive). When `starting`, also this
   * instance id's rows (a restart under the same id), and with `all` every running row (the embedded
   * database's single owner starting: whoever held them is gone). One conditional UPDATE: a row changes
   * only while it is still running, so two processes reclaiming at once never both hand back (and then
   * take) the same row. Returns the ids handed back.
   */
  async reclaim(
    db: Queryable,
    now: number,
    opts: { starting?: { all: boolean }; runAfter?: number } = {},
  ): Promise<string[]> {
    const res = await db.query<{ id: string }>(
      `UPDATE ${this.table} SET ${GIVE_BACK}, run_after = GREATEST(run_after, $4)
       WHERE state = 'running' AND attempts < $3
         AND ((heartbeat_at < $2 AND locked_by IS DISTINCT FROM $1)
              OR ($5::boolean AND locked_by = $1) OR $6::boolean)
       RETURNING id`,
      [
        this.owner,
        this.aliveSince(now),
        this.maxAttempts ?? 2_147_483_647,
        new Date(opts.runAfter ?? now),
        opts.starting !== undefined,
        opts.starting?.all ?? false,
      ],
    );
    return res.rows.map((r) => r.id);
  }

  /**
   * This process's running rows go back to the queue (a clean stop): the attempt cut off by the stop is
   * not counted.
   */
  async giveBackMine(db: Queryable): Promise<number> {
    const res = await db.query(
      `UPDATE ${this.table} SET ${GIVE_BACK}, attempts = GREATEST(attempts - 1, 0)
       WHERE state = 'running' AND locked_by = $1`,
      [this.owner],
    );
    return res.rowCount;
  }
}
