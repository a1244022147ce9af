/** The messages between `ThreadSession` (pglite.ts) and the database's worker thread (pglite-thread.ts). */
import type { QueryResult } from './db.ts';

export type ThreadRequest =
  | { id: number; op: 'query'; sql: string; params?: unknown[]; alone?: boolean }
  | { id: number; op: 'commit' }
  | { id: number; op: 'close' };

/** The answer to request `id` (sent in arrays of answers); id 0 answers the opening of the database. */
export type ThreadAnswer =
  | { id: number; ok: true; result?: QueryResult<unknown> }
  | { id: number; ok: false; error: Record<string, unknown> };

/**
 * An error's fields as a message can carry them: name, message, stack and the database's own fields
 * (code, severity, detail, ...). The statement's parameters are left out: they can be large (a
 * report's text) and are not needed to report the error.
 */
export function errorFields(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err) };
  const fields: Record<string, unknown> = { name: err.name, message: err.message, stack: err.stack };
  for (const [key, value] of Object.entries(err))
    if (key !== 'params' && key !== 'queryOptions' && isPlain(value)) fields[key] = value;
  return fields;
}

function isPlain(value: unknown): boolean {
  return value === null || ['string', 'number', 'boolean', 'undefined'].includes(typeof value);
}

/** The error `errorFields` described, rebuilt in the receiving thread. */
export function errorFrom(fields: Record<string, unknown>): Error {
  const err = new Error(String(fields.message));
  Object.assign(err, fields);
  return err;
}
