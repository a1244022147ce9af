/**
 * How the client sends one request: through an undici `Agent` (keep-alive connection pool, the default)
 * or through a caller-supplied `fetch` (tests, other runtimes).
 */
import { STATUS_CODES } from 'node:http';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { Agent, request } from 'undici';

export interface HttpRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
}

export interface HttpResponse {
  status: number;
  statusText: string;
  headers: { get(name: string): string | null };
  text: string;
}

/** An answer whose body is read as a stream (downloads); `timeoutMs` bounds the wait for the headers. */
export interface HttpStreamResponse extends Omit<HttpResponse, 'text'> {
  body: Readable;
}

/** The part of the WHATWG `fetch` the client uses; the global `fetch` and undici's both fit. */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string; signal?: AbortSignal },
) => Promise<{
  status: number;
  statusText: string;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
  /** Streamed downloads read this when present (the global `fetch` has it), `text()` otherwise. */
  body?: unknown;
}>;

export interface Transport {
  send(req: HttpRequest): Promise<HttpResponse>;
  stream(req: HttpRequest): Promise<HttpStreamResponse>;
  close(): Promise<void>;
}

/** undici `request` over one `Agent`: connections are kept alive and reused between calls. */
export function undiciTransport(): Transport {
  const agent = new Agent({ keepAliveTimeout: 10_000, connections: 8 });
  let closed: Promise<void> | undefined;
  return {
    async send(req) {
      const res = await request(req.url, {
        method: req.method as 'GET',
        headers: req.headers,
        body: req.body,
        dispatcher: agent,
        signal: AbortSignal.timeout(req.timeoutMs),
      });
      const text = await res.body.text();
      return {
        status: res.statusCode,
        statusText: STATUS_CODES[res.statusCode] ?? '',
        headers: { get: (name) => headerValue(res.headers[name.toLowerCase()]) },
        text,
      };
    },
    async stream(req) {
      const abort = new AbortController();
      const timer = setTimeout(
        () => abort.abort(new Error(`no answer in ${req.timeoutMs} ms`)),
        req.timeoutMs,
      );
      try {
        const res = await request(req.url, {
          method: req.method as 'GET',
          headers: req.headers,
          body: req.body,
          dispatcher: agent,
          signal: abort.signal,
        });
        return {
          status: res.statusCode,
          statusText: STATUS_CODES[res.statusCode] ?? '',
          headers: { get: (name) => headerValue(res.headers[name.toLowerCase()]) },
          body: res.body,
        };
      } finally {
        clearTimeout(timer);
      }
    },
    close: () => (closed ??= agent.close()),
  };
}

export function fetchTransport(fetchFn: FetchLike): Transport {
  return {
    async send(req) {
      const res = await fetchFn(req.url, {
        method: req.method,
        headers: req.headers,
        body: req.body,
        signal: AbortSignal.timeout(req.timeoutMs),
      });
      return { status: res.status, statusText: res.statusText, headers: res.headers, text: await res.text() };
    },
    async stream(req) {
      const abort = new AbortController();
      const timer = setTimeout(
        () => abort.abort(new Error(`no answer in ${req.timeoutMs} ms`)),
        req.timeoutMs,
      );
      try {
        const res = await fetchFn(req.url, {
          method: req.method,
          headers: req.headers,
          body: req.body,
          signal: abort.signal,
        });
        const body =
          res.body !== undefined && res.body !== null
            ? Readable.fromWeb(res.body as WebReadableStream<Uint8Array>)
            : Readable.from([Buffer.from(await res.text(), 'utf8')]);
        return { status: res.status, statusText: res.statusText, headers: res.headers, body };
      } finally {
        clearTimeout(timer);
      }
    },
    close: async () => {},
  };
}

function headerValue(v: string | string[] | undefined): string | null {
  if (v === undefined) return null;
  return Array.isArray(v) ? v.join(', ') : v;
}
