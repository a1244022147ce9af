/**
 * A stand-in COUNTER Registry on 127.0.0.1 that serves the recorded answers of
 * test/fixtures/registry/ (see its README), plus a server that accepts connections and never answers.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';

const FIXTURES = join(import.meta.dirname, '..', 'test', 'fixtures', 'registry');

export type Json = Record<string, any>;

/** The recorded platform list and services (fresh copies, free to change in a test). */
export function registryFixtures(): { platforms: Json[]; services: Map<string, Json> } {
  const platforms = JSON.parse(readFileSync(join(FIXTURES, 'platforms.json'), 'utf8')) as Json[];
  const services = new Map<string, Json>();
  for (const file of readdirSync(join(FIXTURES, 'sushi-service'))) {
    const service = JSON.parse(readFileSync(join(FIXTURES, 'sushi-service', file), 'utf8')) as Json;
    services.set(service.id as string, service);
  }
  return { platforms, services };
}

export interface RegistryServer {
  /** The API root, `http://127.0.0.1:<port>/api/v1/`. */
  url: string;
  /** Paths with query of every request, in order. */
  requests: string[];
  /** Headers of the last request. */
  lastHeaders(): IncomingMessage['headers'];
  /** Answers for paths (without query) that override the recorded ones. */
  answers: Map<string, { status: number; body: string; headers?: Record<string, string> }>;
  platforms: Json[];
  services: Map<string, Json>;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(body);
}

async function listen(server: Server, sockets: Set<Socket>): Promise<number> {
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function shut(server: Server, sockets: Set<Socket>): Promise<void> {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

export async function startRegistryServer(): Promise<RegistryServer> {
  const { platforms, services } = registryFixtures();
  const requests: string[] = [];
  const answers: RegistryServer['answers'] = new Map();
  let headers: IncomingMessage['headers'] = {};
  const notFound = JSON.stringify({ detail: 'Not found.' });

  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    requests.push(url);
    headers = req.headers;
    const path = url.split('?')[0];
    const override = answers.get(path);
    if (override) return send(res, override.status, override.body, override.headers);
    if (path === '/api/v1/platform/') return send(res, 200, JSON.stringify(platforms));
    const platform = /^\/api\/v1\/platform\/([^/]+)\/$/.exec(path);
    if (platform) {
      const found = platforms.find((p) => p.id === platform[1]);
      return found ? send(res, 200, JSON.stringify(found)) : send(res, 404, notFound);
    }
    const service = /^\/api\/v1\/sushi-service\/([^/]+)\/$/.exec(path);
    if (service) {
      const found = services.get(service[1]);
      return found ? send(res, 200, JSON.stringify(found)) : send(res, 404, notFound);
    }
    send(res, 404, notFound);
  });
  const sockets = new Set<Socket>();
  const port = await listen(server, sockets);
  return {
    url: `http://127.0.0.1:${port}/api/v1/`,
    requests,
    lastHeaders: () => headers,
    answers,
    platforms,
    services,
    close: () => shut(server, sockets),
  };
}

/** A server that takes the request and never answers. */
export async function startSilentServer(): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer(() => {
    // never answers
  });
  const sockets = new Set<Socket>();
  const port = await listen(server, sockets);
  return { url: `http://127.0.0.1:${port}/api/v1/`, close: () => shut(server, sockets) };
}

/** A port on 127.0.0.1 where nothing listens (it was free a moment ago). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  const sockets = new Set<Socket>();
  const port = await listen(server, sockets);
  await shut(server, sockets);
  return port;
}
