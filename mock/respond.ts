/** Ways of sending a body: whole, cut, reset mid-body, dripped, streamed with back-pressure. */
import type { ServerResponse } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';

export type Headers = Record<string, string | number>;

export const JSON_TYPE = 'application/json; charset=utf-8';

export function isGone(res: ServerResponse): boolean {
  return res.destroyed || res.writableEnded;
}

/** The whole body with a Content-Length. */
export function sendWhole(
  res: ServerResponse,
  status: number,
  type: string,
  body: string | Buffer,
  headers: Headers = {},
): void {
  if (isGone(res)) return;
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  res.writeHead(status, { ...headers, 'Content-Type': type, 'Content-Length': bytes.length });
  res.end(bytes);
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Headers = {}): void {
  sendWhole(res, status, JSON_TYPE, JSON.stringify(value), headers);
}

/** The first half of the body, chunked, then a clean end of the response. */
export function sendTruncated(
  res: ServerResponse,
  status: number,
  type: string,
  body: string,
  headers: Headers = {},
): void {
  if (isGone(res)) return;
  const bytes = Buffer.from(body, 'utf8');
  res.writeHead(status, { ...headers, 'Content-Type': type });
  res.end(bytes.subarray(0, Math.floor(bytes.length / 2)));
}

/** Announces the full length, sends the first half, then destroys the socket (RST where possible). */
export function sendReset(
  res: ServerResponse,
  status: number,
  type: string,
  body: string,
  headers: Headers = {},
): void {
  if (isGone(res)) return;
  const bytes = Buffer.from(body, 'utf8');
  res.writeHead(status, { ...headers, 'Content-Type': type, 'Content-Length': bytes.length });
  res.write(bytes.subarray(0, Math.floor(bytes.length / 2)), () => destroySocket(res));
}

function destroySocket(res: ServerResponse): void {
  const socket = res.socket;
  if (!socket || socket.destroyed) return;
  if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
  else socket.destroy();
}

/** Resolves when the response can take more data, or when it is gone. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** Writes the chunks one after another, waiting for `drain`; stops when the client goes away. */
export async function streamChunks(
  res: ServerResponse,
  status: number,
  type: string,
  chunks: Iterable<string>,
  headers: Headers = {},
): Promise<void> {
  if (isGone(res)) return;
  res.writeHead(status, { ...headers, 'Content-Type': type });
  for (const chunk of chunks) {
    if (isGone(res)) return;
    if (!res.write(chunk)) await drained(res);
  }
  if (!isGone(res)) res.end();
}

/** The body in `pieces` small chunks spread over `totalMs` milliseconds. */
export async function sendDripped(
  res: ServerResponse,
  status: number,
  type: string,
  body: string,
  totalMs: number,
  headers: Headers = {},
  pieces = 20,
): Promise<void> {
  if (isGone(res)) return;
  const bytes = Buffer.from(body, 'utf8');
  const size = Math.max(1, Math.ceil(bytes.length / pieces));
  res.writeHead(status, { ...headers, 'Content-Type': type, 'Content-Length': bytes.length });
  const count = Math.ceil(bytes.length / size);
  for (let i = 0; i < count; i++) {
    if (i > 0) await delay(totalMs / Math.max(1, count - 1));
    if (isGone(res)) return;
    res.write(bytes.subarray(i * size, (i + 1) * size));
  }
  if (!isGone(res)) res.end();
}

/** Deterministic pseudo-random bytes (xorshift), never starting like JSON. */
export function garbageBytes(length: number, seed = 0x2545f491): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  out[0] = 0xfe;
  return out;
}
