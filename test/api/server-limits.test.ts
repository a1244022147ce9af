/**
 * Slow and idle clients: sockets that send nothing, that trickle their headers or that idle after a
 * request are closed after the configured times (small ones here; Node's defaults would keep them for a
 * minute or more), and connections beyond the cap are refused while the others are served.
 */
import { strict as assert } from 'node:assert';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { ConfigError, loadConfig, type ServerLimits } from '../../src/config.ts';
import type { RunningService } from '../../src/server.ts';
import { call, startOn } from '../helpers/service.ts';

/** Far below Node's own defaults (headers 60 s checked every 30 s, Fastify's keep-alive 72 s). */
const BOUND_MS = 15_000;

function limits(overrides: Partial<ServerLimits>): ServerLimits {
  return { ...loadConfig({}).server, ...overrides };
}

function open(svc: RunningService): Promise<Socket> {
  const { port } = new URL(svc.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Resolves with what the server sent once the socket is closed; rejects after BOUND_MS. */
function closedWithin(socket: Socket, what: string): Promise<string> {
  const received: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  socket.on('error', () => undefined);
  return new Promise((resolve, reject) => {
    if (socket.destroyed) return resolve('');
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`${what}: still open after ${BOUND_MS} ms`));
    }, BOUND_MS);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(received).toString('latin1'));
    });
  });
}

describe('the HTTP server closes slow and idle connections', () => {
  let svc: RunningService;

  before(async () => {
    svc = await startOn('pglite', undefined, {
      config: { server: limits({ headersTimeoutMs: 400, keepAliveTimeoutMs: 400, idleTimeoutMs: 3_000 }) },
    });
  });
  after(() => svc?.close());

  it('sockets that never send a byte are closed', async () => {
    const sockets = await Promise.all(Array.from({ length: 20 }, () => open(svc)));
    await Promise.all(sockets.map((s, i) => closedWithin(s, `idle socket ${i}`)));
    assert.equal((await call(svc, 'GET', '/admin/health', { tenant: null })).status, 200);
  });

  it('a client that trickles its headers is cut off, although bytes keep coming', async () => {
    const socket = await open(svc);
    socket.write('GET /admin/health HTTP/1.1\r\nHost: x\r\n');
    const closed = closedWithin(socket, 'trickling socket');
    const trickle = setInterval(() => socket.writable && socket.write('X-Slow: 1\r\n'), 100);
    try {
      const answer = await closed;
      assert.ok(answer === '' || answer.startsWith('HTTP/1.1 408'), answer);
    } finally {
      clearInterval(trickle);
    }
  });

  it('a kept-alive connection that stays idle after its answer is closed', async () => {
    const socket = await open(svc);
    const closed = closedWithin(socket, 'kept-alive socket');
    socket.write('GET /admin/health HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
    const answer = await closed;
    assert.match(answer, /^HTTP\/1\.1 200 /, 'the request itself was answered');
  });

  it('a client that stops in the middle of its body is closed by the idle timeout', async () => {
    const socket = await open(svc);
    socket.write(
      'POST /usage-data-providers HTTP/1.1\r\nHost: x\r\nX-Okapi-Tenant: diku\r\n' +
        'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"label":',
    );
    await closedWithin(socket, 'stalled upload');
  });
});

describe('the connection cap', () => {
  let svc: RunningService;

  before(async () => {
    svc = await startOn('pglite', undefined, { config: { server: limits({ maxConnections: 3 }) } });
  });
  after(() => svc?.close());

  async function serverConnections(): Promise<number> {
    return new Promise((resolve, reject) =>
      svc.app.server.getConnections((err, n) => (err ? reject(err) : resolve(n))),
    );
  }

  it('refuses connections beyond the cap and serves again when one is gone', async () => {
    const held = await Promise.all([open(svc), open(svc), open(svc)]);
    for (let i = 0; (await serverConnections()) < 3; i++) {
      assert.ok(i < 200, 'the server accepted the three connections');
      await delay(10);
    }
    const extra = await open(svc).catch(() => undefined);
    if (extra) {
      const closed = closedWithin(extra, 'connection over the cap');
      extra.write('GET /admin/health HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.equal(await closed, '', 'no answer over the cap');
    }
    assert.ok(
      held.every((s) => !s.destroyed),
      'the connections within the cap stay open',
    );
    held[0].destroy();
    for (let i = 0; (await serverConnections()) > 2; i++) {
      assert.ok(i < 200, 'the server saw the connection go');
      await delay(10);
    }
    const res = await fetch(`${svc.url}/admin/health`, { headers: { connection: 'close' } });
    assert.equal(res.status, 200);
    for (const s of held) s.destroy();
  });
});

describe('server limit settings', () => {
  it('are read from the environment, with documented defaults', () => {
    assert.deepEqual(loadConfig({}).server, {
      headersTimeoutMs: 20_000,
      requestTimeoutMs: 7_200_000,
      idleTimeoutMs: 120_000,
      keepAliveTimeoutMs: 65_000,
      maxConnections: 1000,
      bodyLimitBytes: 262_144,
      reportBodyLimitBytes: 1_073_741_824,
    });
    const server = loadConfig({
      SERVER_HEADERS_TIMEOUT_MS: '5000',
      SERVER_REQUEST_TIMEOUT_MS: '0',
      SERVER_IDLE_TIMEOUT_MS: '30000',
      SERVER_KEEP_ALIVE_TIMEOUT_MS: '10000',
      SERVER_MAX_CONNECTIONS: '50',
      SERVER_BODY_LIMIT_BYTES: '1024',
      SERVER_REPORT_BODY_LIMIT_BYTES: '2048',
    }).server;
    assert.deepEqual(server, {
      headersTimeoutMs: 5000,
      requestTimeoutMs: 0,
      idleTimeoutMs: 30_000,
      keepAliveTimeoutMs: 10_000,
      maxConnections: 50,
      bodyLimitBytes: 1024,
      reportBodyLimitBytes: 2048,
    });
  });

  it('refuse a headers timeout longer than the request timeout, naming both', () => {
    assert.throws(
      () => loadConfig({ SERVER_HEADERS_TIMEOUT_MS: '9000', SERVER_REQUEST_TIMEOUT_MS: '5000' }),
      (e: Error) =>
        e instanceof ConfigError && /SERVER_HEADERS_TIMEOUT_MS.*SERVER_REQUEST_TIMEOUT_MS/.test(e.message),
    );
  });
});
