/** Stub HTTP servers on 127.0.0.1 and fixtures for the service implementation tests. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AggregatorSetting, UsageDataProvider } from '../../src/model/records.ts';
import type { FetchFailure, FetchResult, MonthData, TransportOptions } from '../../src/sushi/types.ts';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'counter');

export function fixture(path: string): string {
  return readFileSync(join(FIXTURES, path), 'utf8');
}

export interface Recorded {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface Stub {
  url: string;
  port: number;
  requests: Recorded[];
  close(): Promise<void>;
}

export type Handler = (req: Recorded, res: ServerResponse, raw: IncomingMessage) => unknown;

/** A recording HTTP server; `handler` answers each request after its body has been read. */
export async function startStub(handler: Handler): Promise<Stub> {
  const requests: Recorded[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((raw, res) => {
    const chunks: Buffer[] = [];
    raw.on('data', (c: Buffer) => chunks.push(c));
    raw.on('end', () => {
      const rec: Recorded = {
        method: raw.method ?? '',
        url: raw.url ?? '',
        headers: raw.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(rec);
      void Promise.resolve(handler(rec, res, raw)).catch((error: unknown) => {
        res.destroy(error instanceof Error ? error : new Error(String(error)));
      });
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export function reply(
  res: ServerResponse,
  status: number,
  body: string | Buffer = '',
  headers: Record<string, string> = {},
  statusMessage?: string,
): void {
  if (statusMessage !== undefined) res.statusMessage = statusMessage;
  res.writeHead(status, headers);
  res.end(body);
}

export function json(res: ServerResponse, status: number, body: unknown, statusMessage?: string): void {
  reply(
    res,
    status,
    typeof body === 'string' ? body : JSON.stringify(body),
    { 'content-type': 'application/json' },
    statusMessage,
  );
}

export const TRANSPORT: TransportOptions = {
  connectTimeoutMs: 2_000,
  headersTimeoutMs: 5_000,
  idleTimeoutMs: 5_000,
  totalTimeoutMs: 10_000,
  maxResponseBytes: 50 * 1024 * 1024,
  userAgent: 'erm-usage-harvester-test',
};

export function provider(
  serviceType: string,
  serviceUrl: string,
  credentials: UsageDataProvider['sushiCredentials'] = { customerId: 'C1', requestorId: 'R1' },
  release = serviceType === 'cs51' ? '5.1' : serviceType === 'cs50' ? '5' : '4',
): UsageDataProvider {
  return {
    id: '67339c41-a3a7-4d19-83e2-c808ab99c8fe',
    label: 'Test provider',
    harvestingConfig: {
      harvestingStatus: 'active',
      harvestVia: 'sushi',
      sushiConfig: { serviceType, serviceUrl },
      reportRelease: release,
      requestedReports: ['TR'],
      harvestingStart: '2020-01',
    },
    sushiCredentials: credentials,
  };
}

export function aggregatorSetting(
  serviceUrl: string,
  config: Record<string, string> | undefined,
): AggregatorSetting {
  return {
    id: '54e8d70e-0000-4000-8000-000000000001',
    label: 'Nationaler Statistikserver',
    serviceType: 'NSS',
    serviceUrl,
    ...(config && { aggregatorConfig: config }),
    accountConfig: { configType: 'Manual' },
  };
}

export function assertFailure(result: FetchResult): FetchFailure {
  if (result.kind !== 'failure') {
    void result.data.dispose();
    throw new Error(`expected a failure, got data for ${result.data.yearMonths.join(',')}`);
  }
  return result;
}

export async function assertMonths(result: FetchResult): Promise<MonthData[]> {
  if (result.kind !== 'data') throw new Error(`expected data, got ${result.cause}: ${result.reason}`);
  const months: MonthData[] = [];
  for await (const m of result.data.months()) months.push(m);
  return months;
}

/** Query parameters of a recorded request in order, decoded. */
export function queryOf(rec: Recorded): Array<[string, string]> {
  return [...new URL(rec.url, 'http://x').searchParams.entries()];
}

export function rawQuery(rec: Recorded): string {
  const i = rec.url.indexOf('?');
  return i < 0 ? '' : rec.url.slice(i + 1);
}
