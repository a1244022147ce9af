/** Shared helpers of the store API tests (test/api/store-*.test.ts). */
import type { RunningService } from '../../src/server.ts';
import type { Backend } from './service.ts';
import { call } from './service.ts';

export const INVALID_UUID =
  'Invalid UUID format of id, should be xxxxxxxx-xxxx-Mxxx-Nxxx-xxxxxxxxxxxx where M is 1-5 and N is 8, 9, a, b, A or B and x is 0-9, a-f or A-F.';

/** folio-contract H7 output format. */
export const H7 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+00:00$/;

/** Starts the service in standalone mode with the given tenants enabled. */
export async function startStore(backend: Backend, tenants = ['diku']): Promise<RunningService> {
  return backend.start({ config: { mode: 'standalone' }, tenants });
}

export function udp(label: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    label,
    status: 'active',
    harvestingConfig: {
      harvestingStatus: 'active',
      harvestVia: 'sushi',
      reportRelease: '5',
      requestedReports: ['TR'],
    },
    ...extra,
  };
}

export function report(providerId: string, yearMonth: string, extra: Record<string, unknown> = {}) {
  return {
    providerId,
    yearMonth,
    release: '5',
    reportName: 'TR',
    downloadTime: '2024-02-01T10:00:00.000+00:00',
    ...extra,
  };
}

/** POSTs and asserts 201; returns the created record. */
export async function create(svc: RunningService, path: string, body: unknown): Promise<any> {
  const res = await call(svc, 'POST', path, { body });
  if (res.status !== 201) throw new Error(`POST ${path} → ${res.status} ${res.text}`);
  return res.json;
}

export async function get(svc: RunningService, path: string): Promise<any> {
  const res = await call(svc, 'GET', path);
  if (res.status !== 200) throw new Error(`GET ${path} → ${res.status} ${res.text}`);
  return res.json;
}

/** GET a collection with a CQL query; returns the labels / ids in answer order. */
export async function query(svc: RunningService, path: string, cql: string, extra = ''): Promise<any> {
  return get(svc, `${path}?query=${encodeURIComponent(cql)}&limit=1000${extra}`);
}
