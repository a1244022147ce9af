/**
 * The worker thread that holds the embedded database when `PgliteDb` runs it in a thread of its own
 * (`thread: true`): it opens PGlite from `workerData` (a `SessionParams`) and answers the messages of
 * `ThreadSession` (pglite.ts) one after the other, in the order they came.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { LocalSession, openPglite, type SessionParams } from './pglite-session.ts';
import type { ThreadAnswer, ThreadRequest } from './pglite-thread-protocol.ts';
import { errorFields } from './pglite-thread-protocol.ts';

const port = parentPort!;

/**
 * Answers go out together once the requests that arrived together are done (a message to another
 * thread costs more than a statement of the harvest's); a lone request's answer goes out at once,
 * after this turn of the event loop.
 */
let outbox: ThreadAnswer[] = [];
function post(answer: ThreadAnswer): void {
  if (outbox.length === 0) setImmediate(flush);
  outbox.push(answer);
}
function flush(): void {
  const answers = outbox;
  outbox = [];
  port.postMessage(answers);
}

try {
  const session = new LocalSession(await openPglite(workerData as SessionParams));
  port.on('message', (request: ThreadRequest) => {
    void answer(session, request).then(post);
  });
  post({ id: 0, ok: true });
} catch (err) {
  post({ id: 0, ok: false, error: errorFields(err) });
}

let queue: Promise<unknown> = Promise.resolve();

/** Runs each request after the one before it (PGlite has one connection). */
function answer(session: LocalSession, request: ThreadRequest): Promise<ThreadAnswer> {
  const run = queue.then(async (): Promise<ThreadAnswer> => {
    try {
      switch (request.op) {
        case 'query':
          return { id: request.id, ok: true, result: await session.query(request.sql, request.params) };
        case 'commit':
          await session.commit();
          return { id: request.id, ok: true };
        case 'close':
          await session.close();
          return { id: request.id, ok: true };
      }
    } catch (err) {
      // A statement outside a transaction left the connection clean unless the engine itself failed
      // (see `PgliteDb.exclusive`); the next request may already be waiting, so make sure here.
      if (request.op === 'query' && request.alone) await session.query('ROLLBACK').catch(() => {});
      return { id: request.id, ok: false, error: errorFields(err) };
    }
  });
  queue = run;
  return run;
}
