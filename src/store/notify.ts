/**
 * Wakeups between the service processes on one PostgreSQL database (docs/decisions.md, "Wakeups through
 * LISTEN/NOTIFY"). A process that queues work sends `pg_notify` on one channel in the transaction that
 * queues it (payload: the topic); every process LISTENs on a dedicated connection of its own and wakes the
 * workers of that topic at once. The workers still poll, less often (`QUEUE_IDLE_POLL_MS`): a notification
 * lost while the connection was down delays work until the next poll, it never loses it. After every
 * (re)connection every topic is woken once, for what was sent while no one listened.
 *
 * On the embedded database there is one process: it wakes its own workers directly, no listener.
 */
import pg from 'pg';
import type { Queryable } from './db.ts';
import type { Logger } from '../log.ts';

/** What a wakeup is about: queued jobs (the job lanes) or queued work items (the item workers). */
export type WakeTopic = 'jobs' | 'items';

const CHANNEL = 'erm_usage_harvester_wake';
/** First wait before reconnecting a lost listener connection; doubled up to RETRY_MAX_MS. */
const RETRY_MS = 500;
const RETRY_MAX_MS = 30_000;

/** Tells every listening process that work of `topic` was queued: sent when `tx` commits. */
export async function notifyWake(tx: Queryable, topic: WakeTopic): Promise<void> {
  await tx.query('SELECT pg_notify($1, $2)', [CHANNEL, topic]);
}

/** One LISTEN connection of a process; handlers per topic; reconnects when the connection is lost. */
export class WakeListener {
  private client: pg.Client | undefined;
  private readonly handlers = new Map<WakeTopic, Set<() => void>>();
  private retryTimer: NodeJS.Timeout | undefined;
  private retryMs = RETRY_MS;
  private stopped = true;
  private listening = false;
  /** Connections made so far (tests wait for a reconnection with it). */
  connections = 0;

  constructor(
    private readonly connectionString: string,
    private readonly log: Logger,
  ) {}

  /** True while LISTEN is in effect: notifications arrive. */
  get connected(): boolean {
    return this.listening;
  }

  /** Runs `fn` on every wakeup of `topic` (and after every connection); returns the unsubscribe. */
  on(topic: WakeTopic, fn: () => void): () => void {
    let set = this.handlers.get(topic);
    if (!set) this.handlers.set(topic, (set = new Set()));
    set.add(fn);
    return () => set.delete(fn);
  }

  /** Connects in the background (never throws; a failed attempt is retried). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    this.listening = false;
    await client?.end().catch(() => undefined);
  }

  private wakeAll(topic?: WakeTopic): void {
    for (const [t, set] of this.handlers) if (topic === undefined || t === topic) for (const fn of set) fn();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({
      connectionString: this.connectionString,
      application_name: 'erm-usage-harvester listen',
    });
    this.client = client;
    let lost = false;
    const onLost = (err?: Error) => {
      if (lost) return;
      lost = true;
      if (this.client !== client) return;
      this.client = undefined;
      this.listening = false;
      void client.end().catch(() => undefined);
      if (this.stopped) return;
      this.log.warn(
        { err: err?.message, retryMs: this.retryMs },
        'wakeup connection lost; workers poll until it is back',
      );
      this.retry();
      // The workers look now, and then at the short poll until the connection is back.
      this.wakeAll();
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
    client.on('notification', (msg) => {
      if (msg.channel !== CHANNEL) return;
      if (msg.payload === 'jobs' || msg.payload === 'items') this.wakeAll(msg.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (err) {
      onLost(err as Error);
      return;
    }
    if (lost || this.client !== client) return;
    this.listening = true;
    this.connections++;
    this.retryMs = RETRY_MS;
    // What was queued while no one listened.
    this.wakeAll();
  }

  private retry(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.connect(), this.retryMs);
    this.retryTimer.unref();
    this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
  }
}

/** The listener of each database (one per process, shared by the job lanes and the item workers). */
const listeners = new WeakMap<object, { listener: WakeListener; users: number }>();

/**
 * Subscribes `fn` to wakeups of `topic` on the PostgreSQL database `db` (connection string
 * `databaseUrl`), starting the process's listener with its first user. Undefined on the embedded
 * database (no other process to hear from). The returned `release` unsubscribes and stops the listener
 * with its last user.
 */
export function subscribeWakeups(
  db: { kind: string },
  databaseUrl: string | undefined,
  topic: WakeTopic,
  fn: () => void,
  log: Logger,
): { listener: WakeListener; release: () => Promise<void> } | undefined {
  if (db.kind !== 'postgres' || !databaseUrl) return undefined;
  let entry = listeners.get(db);
  if (!entry) listeners.set(db, (entry = { listener: new WakeListener(databaseUrl, log), users: 0 }));
  const { listener } = entry;
  const off = listener.on(topic, fn);
  entry.users++;
  listener.start();
  let released = false;
  const shared = entry;
  return {
    listener,
    release: async () => {
      if (released) return;
      released = true;
      off();
      if (--shared.users > 0) return;
      listeners.delete(db);
      await listener.stop();
    },
  };
}
