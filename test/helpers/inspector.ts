/**
 * Reaching into a worker thread of a service child from outside, through Node's inspector (the child
 * runs with `--inspect=127.0.0.1:0`): the test sees the child's threads as the inspector lists them and
 * evaluates an expression in one of them, as a developer would from Chrome's DevTools. Nothing in the
 * service is there for the test.
 */
import { join } from 'node:path';
import { WebSocket } from 'undici';

/** The node arguments for `startChild`: the CLI run through tsx, with the inspector on a free port. */
export const INSPECTED_CLI = [
  '--inspect=127.0.0.1:0',
  '--import',
  'tsx',
  join(import.meta.dirname, '../../src/cli/main.ts'),
];

interface Message {
  id?: number;
  method?: string;
  params?: Record<string, any>;
  result?: Record<string, any>;
  error?: { message: string };
}

/** One inspector connection to a process: its worker threads and evaluation inside them. */
export class InspectorClient {
  private nextId = 1;
  private readonly pending = new Map<number, (msg: Message) => void>();
  /** Answers from worker sessions, by session and id. */
  private readonly workerPending = new Map<string, (msg: Message) => void>();
  /** Worker sessions attached so far. */
  readonly workers: { sessionId: string; url: string }[] = [];

  private constructor(private readonly ws: WebSocket) {
    ws.addEventListener('message', (event) => {
      const msg = JSON.parse(String(event.data)) as Message;
      if (msg.id !== undefined) {
        this.pending.get(msg.id)?.(msg);
        this.pending.delete(msg.id);
      } else if (msg.method === 'NodeWorker.attachedToWorker') {
        this.workers.push({ sessionId: msg.params!.sessionId, url: msg.params!.workerInfo.url });
      } else if (msg.method === 'NodeWorker.receivedMessageFromWorker') {
        const inner = JSON.parse(msg.params!.message as string) as Message;
        if (inner.id === undefined) return;
        const key = `${msg.params!.sessionId}/${inner.id}`;
        this.workerPending.get(key)?.(inner);
        this.workerPending.delete(key);
      }
    });
  }

  /** Connects to the inspector whose address the child printed (`Debugger listening on ws://…`). */
  static async connect(childOutput: string): Promise<InspectorClient> {
    const address = /Debugger listening on (ws:\/\/\S+)/.exec(childOutput)?.[1];
    if (!address) throw new Error(`no inspector address in the output:\n${childOutput.slice(-2000)}`);
    const ws = new WebSocket(address);
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener('open', () => resolve());
      ws.addEventListener('error', () => reject(new Error(`could not connect to ${address}`)));
    });
    const client = new InspectorClient(ws);
    // The worker threads that exist are announced before this answer.
    await client.call('NodeWorker.enable', { waitForDebuggerOnStart: false });
    return client;
  }

  private call(method: string, params: Record<string, unknown>): Promise<Message> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, (msg) => (msg.error ? reject(new Error(msg.error.message)) : resolve(msg)));
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /** Evaluates `expression` in a worker thread; its value, which must be JSON. */
  async evaluateIn(sessionId: string, expression: string): Promise<unknown> {
    const id = this.nextId++;
    const answer = new Promise<Message>((resolve) => this.workerPending.set(`${sessionId}/${id}`, resolve));
    await this.call('NodeWorker.sendMessageToWorker', {
      sessionId,
      message: JSON.stringify({
        id,
        method: 'Runtime.evaluate',
        params: { expression, returnByValue: true },
      }),
    });
    let timer: NodeJS.Timeout | undefined;
    const msg = await Promise.race([
      answer,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer from worker session ${sessionId}`)), 10_000);
      }),
    ]).finally(() => clearTimeout(timer));
    if (msg.error) throw new Error(msg.error.message);
    const result = msg.result as { result: { value?: unknown }; exceptionDetails?: { text: string } };
    if (result.exceptionDetails) throw new Error(`evaluation failed: ${result.exceptionDetails.text}`);
    return result.result.value;
  }

  /**
   * The session of the thread that holds the embedded database: the one whose `workerData` is the
   * PGlite session's parameters (pglite-thread.ts). Only threads started from that script (compiled)
   * or from code text (its loader under tsx) are asked: Node's module hooks thread and esbuild's may
   * sit blocked and never answer.
   */
  async databaseThread(): Promise<string> {
    const found: string[] = [];
    const candidates = this.workers.filter((w) => w.url === '' || /pglite-thread\.[jt]s$/.test(w.url));
    for (const { sessionId } of candidates) {
      const isDatabase = await this.evaluateIn(
        sessionId,
        `Array.isArray(process.getBuiltinModule('node:worker_threads').workerData?.startParams)`,
      );
      if (isDatabase === true) found.push(sessionId);
    }
    if (found.length !== 1)
      throw new Error(`expected one database thread, found ${found.length} of ${this.workers.length}`);
    return found[0];
  }

  close(): void {
    this.ws.close();
  }
}
