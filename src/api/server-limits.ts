/**
 * The HTTP server's defences against slow and idle clients (docs/hardening.md, "Slow clients"): Fastify
 * options for the timeouts of `ServerLimits`, and the connection cap.
 */
import type { Server, ServerOptions } from 'node:http';
import type { ServerLimits } from '../config.ts';

export interface ServerTimeoutOptions {
  connectionTimeout: number;
  keepAliveTimeout: number;
  requestTimeout: number;
  http: ServerOptions;
}

/** Options for `Fastify({...})`; Fastify hands `http` to `http.createServer`. */
export function serverTimeoutOptions(limits: ServerLimits): ServerTimeoutOptions {
  return {
    connectionTimeout: limits.idleTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    http: {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // Node looks for connections past the headers or request timeout at this interval (default 30 s,
      // which would let an idle socket live up to 30 s longer than configured).
      connectionsCheckingInterval: Math.max(100, Math.min(5_000, Math.floor(limits.headersTimeoutMs / 4))),
    },
  };
}

/** Connections beyond the cap are closed by Node as soon as they are accepted. */
export function capConnections(server: Server, limits: ServerLimits): void {
  if (limits.maxConnections > 0) server.maxConnections = limits.maxConnections;
}
