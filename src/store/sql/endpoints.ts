/**
 * `harvester.endpoints`: the politeness of each remote service (normalised service URL), shared by all
 * processes: requests in flight at most, spacing between requests, and when the next may start.
 */
import type { Queryable } from '../db.ts';
import { systemTable } from './schema.ts';

export const ENDPOINTS = systemTable('endpoints');

export interface EndpointPoliteness {
  maxInFlight: number;
  minIntervalMs: number;
}

/** Records the politeness settings of an endpoint (the latest provider to plan wins). */
export async function configureEndpoint(tx: Queryable, key: string, p: EndpointPoliteness): Promise<void> {
  await tx.query(
    `INSERT INTO ${ENDPOINTS} (key, max_in_flight, min_interval_ms) VALUES ($1, $2, $3)
     ON CONFLICT (key) DO UPDATE SET max_in_flight = EXCLUDED.max_in_flight, min_interval_ms = EXCLUDED.min_interval_ms`,
    [key, p.maxInFlight, p.minIntervalMs],
  );
}

/** The release's SET clause: $2 the time of the release, $3 the extra wait (ms). */
export const RELEASE_ENDPOINT = `next_allowed_at = GREATEST(next_allowed_at,
  $2::timestamptz + make_interval(secs => (min_interval_ms + $3::int) / 1000.0))`;

/** After a request: the endpoint may be used again after its spacing (or a longer back-off). */
export async function releaseEndpoint(
  db: Queryable,
  key: string,
  now: number,
  extraWaitMs = 0,
): Promise<void> {
  await db.query(`UPDATE ${ENDPOINTS} SET ${RELEASE_ENDPOINT} WHERE key = $1`, [
    key,
    new Date(now),
    extraWaitMs,
  ]);
}

/** Endpoints that may not be asked before a time after `now`, for the metrics. */
export async function countEndpointsInBackoff(db: Queryable, now: number): Promise<number> {
  const res = await db.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM ${ENDPOINTS} WHERE next_allowed_at > $1`,
    [new Date(now)],
  );
  return Number(res.rows[0]?.n ?? 0);
}
