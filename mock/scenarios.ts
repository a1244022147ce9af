/** Endpoint keys (`<scenario>[:<param>...][-<tag>]`) and the per-request context of the mock server. */
import type { IncomingMessage, ServerResponse } from 'node:http';

export const REST_SCENARIOS = [
  'ok',
  'queued',
  'busy',
  'busy200',
  'unavailable',
  'ratelimit',
  'ratelimit1020',
  'nousage',
  'empty',
  'notready',
  'nolonger',
  'partial',
  'warning',
  'badcreds',
  'naked',
  'lowercase',
  'array',
  'stringjson',
  'severitynum',
  'huge',
  'echo',
  'badtext',
  // mock/truth.ts
  'file',
  'layout',
  'outside',
  'restate',
] as const;

/** Scenarios about how the body travels; they apply to every path (REST, SOAP, NSS). */
export const TRANSPORT_SCENARIOS = ['html', 'text', 'truncated', 'reset', 'slow', 'garbage', 'null'] as const;

export const XML_SCENARIOS = ['r4error', 'r4fault', 'nssfail'] as const;

/** Rate-limiting providers (mock/pace.ts). */
export const PACE_SCENARIOS = ['alternate', 'bucket', 'only429'] as const;

/** Providers whose report list and status say something (mock/offers.ts). */
export const OFFER_SCENARIOS = ['offers', 'nolist'] as const;

export const ALL_SCENARIOS: readonly string[] = [
  ...REST_SCENARIOS,
  ...TRANSPORT_SCENARIOS,
  ...XML_SCENARIOS,
  ...PACE_SCENARIOS,
  ...OFFER_SCENARIOS,
  'redirect',
];

export interface EndpointKey {
  /** The whole first path segment, decoded: `queued:2-17`. */
  key: string;
  /** Lower-case scenario name: `queued`. */
  name: string;
  /** Parameters after colons: `['2']`. */
  params: string[];
  /** Instance tag after the first dash: `17`. */
  tag?: string;
}

export function parseEndpointKey(segment: string): EndpointKey {
  const key = decodeURIComponent(segment);
  const dash = key.indexOf('-');
  const spec = dash < 0 ? key : key.slice(0, dash);
  const [name = '', ...params] = spec.split(':');
  return { key, name: name.toLowerCase(), params, tag: dash < 0 ? undefined : key.slice(dash + 1) };
}

/** True when a recorded endpoint key belongs to `scenario`: equal, or followed by `-` or `:`. */
export function keyMatches(key: string, scenario: string): boolean {
  return key === scenario || key.startsWith(`${scenario}-`) || key.startsWith(`${scenario}:`);
}

/** The numeric parameter `index`, or `fallback` when absent or not a number. */
export function numberParam(endpoint: EndpointKey, index: number, fallback: number): number {
  const value = endpoint.params[index];
  if (value === undefined || value.trim() === '') return fallback;
  const number = Number(value);
  return Number.isFinite(number) ? number : fallback;
}

export type RecordedRelease = '5.1' | '5' | '4' | 'nss' | 'other';

export interface RecordedRequest {
  /** The endpoint key (first path segment), e.g. `ok-17` or `queued:2`. */
  scenario: string;
  /** The scenario name without parameters and tag, e.g. `queued`. */
  scenarioName: string;
  tag?: string;
  method: string;
  release: RecordedRelease;
  /** The path after the endpoint key, e.g. `/r51/reports/tr`. */
  path: string;
  /** Lower-case report id of a REST report request, or the R4 report name (SOAP, NSS). */
  reportId?: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  /** The request body (SOAP requests), as text. */
  body?: string;
  /** Epoch milliseconds (fractional) when the request arrived. */
  startedAt: number;
  /** Epoch milliseconds when the response finished or the connection closed. */
  finishedAt?: number;
  /** HTTP status sent (0 while unknown, or when the socket closed before any header). */
  status: number;
  /** True when the response did not finish (socket reset or client gone). */
  aborted: boolean;
  /** A rate-limited answer (mock/pace.ts): the earliest time its Retry-After allows the next request. */
  notBefore?: number;
}

export interface MockOptions {
  latencyMs?: number;
  apiKey?: string;
  hugeReportBytes?: number;
}

/** State shared by all requests of one server. */
export interface MockState {
  options: MockOptions;
  /** Members lists served by `/members` per endpoint key (MockCounterServer.members). */
  members: Map<string, unknown[]>;
  /** Attempt counters of the `:N` scenarios. */
  counters: Map<string, number>;
}

export interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  endpoint: EndpointKey;
  /** Path segments after the endpoint key. */
  segments: string[];
  query: Record<string, string>;
  record: RecordedRequest;
  state: MockState;
}

/** Counts an attempt under `counterKey` and returns its 1-based number. */
export function nextAttempt(state: MockState, counterKey: string): number {
  const attempt = (state.counters.get(counterKey) ?? 0) + 1;
  state.counters.set(counterKey, attempt);
  return attempt;
}
