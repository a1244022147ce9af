/**
 * Real service processes for multi-process and crash tests: `node --import tsx src/cli/main.ts serve` as a
 * child with its own environment, its output collected, started until it says "listening on", killed
 * (SIGKILL for a crash, SIGTERM for a clean stop) and restarted on the same database.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { freePort } from './pg-server.ts';
import { TEST_SECRET_KEY } from './service.ts';

const cli = join(import.meta.dirname, '../../src/cli/main.ts');

/** Environment for fast tests: quick polling and heartbeats, no delays or spacing, no cleanup timer. */
export const FAST_ENV: Record<string, string> = {
  HARVESTER_DEFAULT_TENANT: 'diku',
  QUEUE_POLL_MS: '50',
  SCHEDULER_TICK_MS: '200',
  HEARTBEAT_INTERVAL_MS: '300',
  ENDPOINT_MIN_INTERVAL_MS: '0',
  DEFER_QUEUED_MS: '0',
  DEFER_BUSY_MS: '0',
  PACE_STEP_MS: '0',
  RATE_LIMITED_SPACING_MS: '0',
  MAX_RETRY_AFTER_MS: '0',
  CLEANUP_INTERVAL_MINUTES: '0',
  LOG_LEVEL: 'info',
  // The key of test/helpers/service.ts (TEST_SECRET_KEY): children and in-process services share databases.
  HARVESTER_SECRET_KEY: TEST_SECRET_KEY,
};

export interface ChildService {
  readonly name: string;
  readonly child: ChildProcess;
  readonly port: number;
  /** `http://127.0.0.1:<port>` (known once started). */
  url: string;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** The output's lines that parse as JSON (the service's log records). */
  logRecords(): Record<string, any>[];
  /** Resolves with the exit code (or the signal name) when the process has ended. */
  readonly exited: Promise<number | string | null>;
  /** Waits until the output matches `re`; throws with the output when the process ends or time is up. */
  waitForOutput(re: RegExp, timeoutMs?: number): Promise<void>;
  /** SIGKILL: a crash, nothing is cleaned up. */
  kill(): Promise<void>;
  /** SIGTERM: a clean stop (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<void>;
}

const all = new Set<ChildService>();

/**
 * Starts a `serve` child with FAST_ENV plus `env`, on a free port, and waits until it listens. `nodeArgs`
 * replace the TypeScript CLI run through tsx (e.g. a compiled `dist/src/cli/main.js`).
 */
export async function startChild(
  name: string,
  env: Record<string, string | undefined>,
  timeoutMs = 90_000,
  nodeArgs = ['--import', 'tsx', cli],
): Promise<ChildService> {
  const port = await freePort();
  let out = '';
  const child = spawn(process.execPath, [...nodeArgs, 'serve'], {
    env: { ...process.env, ...FAST_ENV, PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const onData = (d: Buffer) => {
    out += d.toString();
    if (process.env.TEST_LOG) process.stderr.write(`[${name}] ${d.toString()}`);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  let ended = false;
  const exited = new Promise<number | string | null>((resolve) =>
    child.once('exit', (code, signal) => {
      ended = true;
      resolve(code ?? signal);
    }),
  );
  const svc: ChildService = {
    name,
    child,
    port,
    url: '',
    output: () => out,
    logRecords() {
      const records: Record<string, any>[] = [];
      for (const line of out.split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          records.push(JSON.parse(line) as Record<string, any>);
        } catch {
          // a partial last line
        }
      }
      return records;
    },
    exited,
    async waitForOutput(re, waitMs = 180_000) {
      const end = Date.now() + waitMs;
      for (;;) {
        if (re.test(out)) return;
        if (ended) throw new Error(`${name} exited while waiting for ${re}; output:\n${out.slice(-4000)}`);
        if (Date.now() > end)
          throw new Error(`${name}: timed out waiting for ${re}; output:\n${out.slice(-4000)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async kill() {
      if (!ended) child.kill('SIGKILL');
      await exited;
      all.delete(svc);
    },
    async stop(graceMs = 15_000) {
      if (!ended) child.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (!ended) child.kill('SIGKILL');
      }, graceMs);
      await exited;
      clearTimeout(timer);
      all.delete(svc);
    },
  };
  all.add(svc);
  try {
    await svc.waitForOutput(/listening on (http:\/\/[^\s]+)/, timeoutMs);
  } catch (err) {
    await svc.kill();
    throw err;
  }
  svc.url = /listening on (http:\/\/[^\s]+)/.exec(out)![1];
  return svc;
}

/** Kills every child still running (for `after` hooks). */
export async function killAllChildren(): Promise<void> {
  await Promise.all([...all].map((c) => c.kill()));
}

/** A JSON request to a service with X-Okapi-Tenant (default diku). */
export async function request(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  tenant = 'diku',
): Promise<{ status: number; text: string; json: any }> {
  const headers: Record<string, string> = { 'x-okapi-tenant': tenant };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(base + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json };
}

/** Polls `check` until it returns a value other than undefined; throws `describe()` on time-out. */
export async function until<T>(
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  describe: () => string | Promise<string>,
  intervalMs = 100,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out: ${await describe()}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** A usage data provider record for `POST /usage-data-providers`. */
export function providerRecord(
  id: string,
  spec: {
    label: string;
    serviceUrl: string;
    release?: string;
    reports: string[];
    start: string;
    end: string;
  },
): Record<string, unknown> {
  const release = spec.release ?? '5.1';
  return {
    id,
    label: spec.label,
    status: 'active',
    harvestingConfig: {
      harvestingStatus: 'active',
      harvestVia: 'sushi',
      sushiConfig: {
        serviceType: release === '5' ? 'cs50' : release === '4' ? 'cs41' : 'cs51',
        serviceUrl: spec.serviceUrl,
      },
      reportRelease: release,
      requestedReports: spec.reports,
      harvestingStart: spec.start,
      harvestingEnd: spec.end,
    },
    sushiCredentials: { customerId: 'cust-1', requestorId: 'req-secret-77', apiKey: 'key-secret-99' },
  };
}

/** Months from `start` to `end` inclusive (`yyyy-mm`). */
export function monthsBetween(start: string, end: string): string[] {
  const out: string[] = [];
  let [y, m] = start.split('-').map(Number);
  for (;;) {
    const ym = `${y}-${String(m).padStart(2, '0')}`;
    if (ym > end) return out;
    out.push(ym);
    m += 1;
    if (m > 12) {
      m = 1;
      y += 1;
    }
  }
}

export interface OkapiFront {
  url: string;
  server: Server;
  /** GET /settings/entries requests answered. */
  settings(): number;
  /** GET requests whose path matches are held unanswered (a slow mod-erm-usage) while set. */
  hold: RegExp | undefined;
  /** Requests held so far. */
  held(): number;
  close(): Promise<void>;
}

/**
 * A stand-in for Okapi in front of a standalone service playing mod-erm-usage: passes every request
 * through, and answers `/settings/entries` (mod-settings) itself with an empty page.
 */
export async function okapiFront(target: string): Promise<OkapiFront> {
  const to = new URL(target);
  let settings = 0;
  let held = 0;
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const path = req.url ?? '';
    if (path.startsWith('/settings/entries')) {
      settings++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ items: [], resultInfo: { totalRecords: 0 } }));
      return;
    }
    if (req.method === 'GET' && front.hold?.test(path.split('?')[0])) {
      held++;
      return;
    }
    const upstream = httpRequest(
      {
        host: to.hostname,
        port: to.port,
        method: req.method,
        path,
        headers: { ...req.headers, host: to.host },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(String(err));
    });
    req.pipe(upstream);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const front: OkapiFront = {
    url: `http://127.0.0.1:${port}`,
    server,
    settings: () => settings,
    hold: undefined,
    held: () => held,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  return front;
}
