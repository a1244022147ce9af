/**
 * `harvester.endpoint_pace`: the adaptive pace of each remote service (the same key as
 * `harvester.endpoints`), shared by every process: the spacing the endpoint's rate limits added, since
 * when it has answered nothing but rate limits, and when it last answered otherwise. The rules that
 * change it are src/harvest/pace.ts's; the time before which the next request may not start is the
 * endpoint's `next_allowed_at` (endpoints.ts).
 */
import type { Db, Queryable } from '../db.ts';
import { systemTable } from './schema.ts';

export const ENDPOINT_PACE = systemTable('endpoint_pace');

/** The migration (system v4) that creates the table. */
export const ENDPOINT_PACE_DDL = [
  `CREATE TABLE IF NOT EXISTS ${ENDPOINT_PACE} (
     key text PRIMARY KEY,
     interval_ms integer NOT NULL DEFAULT 0,
     limited_since timestamptz,
     last_limit_at timestamptz,
     last_answer_at timestamptz,
     rate_limits integer NOT NULL DEFAULT 0,
     updated_at timestamptz NOT NULL
   )`,
];

export interface EndpointPace {
  /** Spacing added to the endpoint's own, ms (0: none). */
  intervalMs: number;
  /** First rate limit since the endpoint last answered anything else; undefined while it answers. */
  limitedSince?: number;
  /** Last rate limit. */
  lastLimitAt?: number;
  /** Last answer that was not a rate limit. */
  lastAnswerAt?: number;
  /** Rate limits seen in all. */
  rateLimits: number;
}

export interface PaceRow {
  interval_ms: number;
  limited_since: Date | string | null;
  last_limit_at: Date | string | null;
  last_answer_at: Date | string | null;
  rate_limits: number;
}

const time = (v: Date | string | null): number | undefined =>
  v === null ? undefined : new Date(v).getTime();
const date = (v: number | undefined): Date | null => (v === undefined ? null : new Date(v));

export function toPace(row: PaceRow): EndpointPace {
  return {
    intervalMs: row.interval_ms,
    limitedSince: time(row.limited_since),
    lastLimitAt: time(row.last_limit_at),
    lastAnswerAt: time(row.last_answer_at),
    rateLimits: row.rate_limits,
  };
}

export const NO_PACE: EndpointPace = { intervalMs: 0, rateLimits: 0 };

export async function getPace(db: Queryable, key: string): Promise<EndpointPace> {
  const res = await db.query<PaceRow>(
    `SELECT interval_ms, limited_since, last_limit_at, last_answer_at, rate_limits FROM ${ENDPOINT_PACE} WHERE key = $1`,
    [key],
  );
  return res.rows[0] ? toPace(res.rows[0]) : NO_PACE;
}

/**
 * Changes the endpoint's pace with `change` under a row lock, so that processes answering at the same
 * time each see the other's change; returns the new pace. Without `create`, an endpoint that has no
 * pace yet (never rate limited) keeps none.
 */
export async function changePace(
  db: Db,
  key: string,
  now: number,
  change: (current: EndpointPace) => EndpointPace,
  create: boolean,
): Promise<EndpointPace> {
  return db.transaction(async (tx) => {
    if (create)
      await tx.query(
        `INSERT INTO ${ENDPOINT_PACE} (key, updated_at) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`,
        [key, new Date(now)],
      );
    const res = await tx.query<PaceRow>(
      `SELECT interval_ms, limited_since, last_limit_at, last_answer_at, rate_limits FROM ${ENDPOINT_PACE}
       WHERE key = $1 FOR UPDATE`,
      [key],
    );
    if (!res.rows[0]) return NO_PACE;
    const next = change(toPace(res.rows[0]));
    await tx.query(
      `UPDATE ${ENDPOINT_PACE}
       SET interval_ms = $2, limited_since = $3, last_limit_at = $4, last_answer_at = $5, rate_limits = $6,
           updated_at = $7
       WHERE key = $1`,
      [
        key,
        Math.round(next.intervalMs),
        date(next.limitedSince),
        date(next.lastLimitAt),
        date(next.lastAnswerAt),
        next.rateLimits,
        new Date(now),
      ],
    );
    return next;
  });
}
