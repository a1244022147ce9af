/**
 * The lease both queues use: `harvester.queue` (jobs) and `harvester.work_items` (requests of provider
 * jobs). A row is `queued` until a process takes it: `state = 'running'`, `locked_by` = the process's
 * instance id, `heartbeat_at` refreshed while the process works on it. A running row whose heartbeat is
 * older than the stale limit has lost its holder.
 *
 * What differs stays with each queue: how a row is chosen (jobs: the oldest due one, `FOR UPDATE SKIP
 * LOCKED`; requests: politeness under an advisory lock) and what becomes of a dead holder's row (a job is
 * dropped and later marked stale, a request is queued again). The rest is here.
 */
import type { Queryable } from '../db.ts';

/** SET assignments that take a row for the process `$1` at the time `$2`. */
export const TAKE = `state = 'running', locked_by = $1, heartbeat_at = $2`;

/** SET assignments that hand a row back to the queue. */
export const GIVE_BACK = `state = 'queued', locked_by = NULL, heartbeat_at = NULL`;

export interface GiveBackOptions {
  /** Every running row (the embedded database's single owner starting), not only this process's. */
  all: boolean;
  /** New not-before time of the rows handed back. */
  runAfter?: number;
  /** Only rows taken fewer times than this (a table with an `attempts` column). */
  maxAttempts?: number;
}

export class Lease {
  constructor(
    /** The table, schema-qualified. */
    readonly table: string,
    /** This process's instance id. */
    readonly owner: string,
    /** A running row whose heartbeat is older than this has lost its holder. */
    readonly staleMs: number,
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

  /** Running rows of this process (or all of them) go back to the queue. Returns their ids. */
  async giveBack(db: Queryable, opts: GiveBackOptions): Promise<string[]> {
    const params: unknown[] = [opts.all, this.owner];
    let set = GIVE_BACK;
    let where = `state = 'running' AND ($1 OR locked_by = $2)`;
    if (opts.runAfter !== undefined) {
      params.push(new Date(opts.runAfter));
      set += `, run_after = $${params.length}`;
    }
    if (opts.maxAttempts !== undefined) {
      params.push(opts.maxAttempts);
      where += ` AND attempts < $${params.length}`;
    }
    const res = await db.query<{ id: string }>(
      `UPDATE ${this.table} SET ${set} WHERE ${where} RETURNING id`,
      params,
    );
    return res.rows.map((r) => r.id);
  }

  /** Running rows whose holder stopped heartbeating go back to the queue. Returns how many. */
  async giveBackDead(db: Queryable, now: number): Promise<number> {
    const res = await db.query(
      `UPDATE ${this.table} SET ${GIVE_BACK} WHERE state = 'running' AND heartbeat_at < $1`,
      [this.aliveSince(now)],
    );
    return res.rowCount;
  }
}
