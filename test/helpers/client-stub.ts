/** A small node:http server for client unit tests: records every request and answers from a handler. */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** Path and raw query string exactly as sent. */
  url: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: string;
  /** Remote port of the connection: equal values mean a reused keep-alive connection. */
  remotePort: number;
}

export interface StubAnswer {
  status?: number;
  headers?: Record<string, string>;
  /** Objects are sent as JSON. */
  body?: unknown;
}

export type StubHandler = (req: RecordedRequest) => StubAnswer | Promise<StubAnswer>;

export interface Stub {
  url: string;
  requests: RecordedRequest[];
  handle(handler: StubHandler): void;
  close(): Promise<void>;
}

export async function startStub(): Promise<Stub> {
  let handler: StubHandler = () => ({ status: 200, body: {} });
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = req.url ?? '/';
      const [path, qs = ''] = url.split('?');
      const rec: RecordedRequest = {
        method: req.method ?? 'GET',
        url,
        path,
        query: new URLSearchParams(qs),
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        remotePort: req.socket.remotePort ?? 0,
      };
      requests.push(rec);
      void Promise.resolve(handler(rec)).then((answer) => {
        const headers = { ...answer.headers };
        let body = '';
        if (typeof answer.body === 'string') {
          body = answer.body;
          headers['content-type'] ??= 'text/plain';
        } else if (answer.body !== undefined) {
          body = JSON.stringify(answer.body);
          headers['content-type'] ??= 'application/json';
        }
        res.writeHead(answer.status ?? 200, headers);
        res.end(body);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    handle(h) {
      handler = h;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
