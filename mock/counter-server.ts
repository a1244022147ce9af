/**
 * Scenario-driven mock COUNTER API server for tests and benchmarks: real HTTP on 127.0.0.1 (node:http),
 * bodies generated or streamed (never a huge body in memory), every request recorded with its timing so
 * tests can prove deferral, back-off and politeness (`maxInFlight`).
 *
 * URL LAYOUT. `${url}/<endpoint key>/<path>`. The endpoint key is `<scenario>[:<param>...][-<tag>]`:
 * anything after the first dash is an instance tag, so `ok-1` … `ok-20` are 20 distinct endpoints with
 * the same behaviour (counters, recordings and `maxInFlight` are per key); equal keys share an endpoint.
 *
 * | path (after the key)                   | release | answer                                                    |
 * |----------------------------------------|---------|-----------------------------------------------------------|
 * | `GET /r51/reports/{id}` (`/R51` too)   | 5.1     | the report, as the scenario says                          |
 * | `GET /reports/{id}`                    | 5       | the report, as the scenario says                          |
 * | `GET /r51/status`, `GET /status`       | 5.1 / 5 | `[{Description, Service_Active, Registry_Record / _URL}]` |
 * | `GET /r51/members`, `GET /members`     | 5.1 / 5 | `members.get(<endpoint key>)` when a test set it, else    |
 * |                                        |         | one member: the requested `customer_id`                   |
 * | `GET /r51/reports`, `GET /reports`     | 5.1 / 5 | the 16 reports; R5.1 with `First_Month_Available`         |
 * |                                        |         | `2018-01` and `Last_Month_Available` = previous UTC month |
 * | `POST /sushi4`                         | 4       | SOAP 1.1 `ReportResponse` (COUNTER 4, `counter4Items`)    |
 * | `GET /nss?APIKey=&RequestorID=&...`    | nss     | the same `ReportResponse` without the envelope            |
 * | anything else                          | other   | 404 with exception 3000                                   |
 *
 * Report ids are case-insensitive; an unknown id → 404 + exception 3000. A report request without
 * `customer_id`, `begin_date` or `end_date` → 400 + 1030; unparseable or reversed dates → 400 + 3020.
 * With `apiKey` set, every request except `/status` must carry `api_key` (NSS: `APIKey`) equal to it, or
 * gets 401 + 2020 (NSS: a `ReportResponse` with Exception 2020). SOAP requests are not checked.
 * Scenarios act on report requests (REST reports, SOAP, NSS); `/status`, `/members` and `/reports`
 * answer normally, except `badcreds` (members and list fail like the report) and `unavailable`
 * (`Service_Active: false` until its N failures are used up). Bodies are JSON with
 * `application/json; charset=utf-8` unless said otherwise. "N" defaults to 1.
 *
 * | scenario                  | answer                                                                | end state                     |
 * |---------------------------|-----------------------------------------------------------------------|-------------------------------|
 * | `ok`                      | 200, the official sample of the release and report, CUT to the        | data; sums = `okExpectedSums` |
 * |                           | requested months (rule below)                                         |                               |
 * | `queued:N`                | first N requests per (release, report, begin month, end month): 202,  | `ok` from attempt N+1         |
 * |                           | `{Report_Header}` with Exceptions [1011] and no `Report_Items`        |                               |
 * | `busy:N`                  | first N report requests of the endpoint: 503 + naked 1010             | `ok` from attempt N+1         |
 * | `busy200:N`               | the same with HTTP 200                                                | `ok` from attempt N+1         |
 * | `unavailable:N`           | first N: 503 + naked 1000 (`/status`: `Service_Active: false`)        | `ok` from attempt N+1         |
 * | `ratelimit:N[:secs]`      | first N: 429, `Retry-After: secs` (default 1), naked 1020 with Data   | `ok` from attempt N+1         |
 * | `ratelimit1020:N`         | first N: 200, header Exceptions [1020], `Report_Items: []`            | `ok` from attempt N+1         |
 * | `nousage`                 | 200, header Exceptions [3030], `Report_Items: []`                     | always (empty months)         |
 * | `empty`                   | 200, header without exceptions, `Report_Items: []`                    | always                        |
 * | `notready`                | 200, [3031, Data "Months not processed: yyyy-mm, ..."], no items      | always (not ready)            |
 * | `nolonger`                | 200, [3032, Data naming the requested months], no items               | always (unavailable)          |
 * | `partial`                 | 200, the `ok` data with header Exceptions [3040]                      | always (data, partial)        |
 * | `warning`                 | 200, the `ok` data with header Exceptions [3050, 3062] (with Data)    | always (data, warnings)       |
 * | `badcreds`                | 401 + naked 2010 (status deliberately not the CoP's 403)              | always                        |
 * | `badcreds:2020`           | 200 + `{"Code":"2020","Severity":"Error","Message":"api_key Invalid"}` | always                       |
 * | `badcreds:403`            | 403 + `[{Code: 2000, ...}]` (array)                                   | always                        |
 * | `naked[:code[:status]]`   | status (200) + top-level exception object, code default 3030          | always                        |
 * | `lowercase[:code[:st]]`   | the same with keys `code`, `severity`, `message`, `data`              | always                        |
 * | `array[:code[:st]]`       | `[exception(code), exception(3060)]`                                  | always                        |
 * | `stringjson[:code[:st]]`  | a JSON string containing the exception's JSON                         | always                        |
 * | `severitynum[:code[:st]]` | naked exception with `"Severity": 4`                                  | always                        |
 * | `html`                    | 200 `text/html` login page                                            | always                        |
 * | `text`                    | 200 `text/plain` "Service temporarily unavailable"                    | always                        |
 * | `truncated`               | the `ok` body's first half, chunked, response ended cleanly           | always                        |
 * | `reset`                   | `Content-Length` of the `ok` body, first half, then socket reset      | always                        |
 * | `slow[:ms]`               | the `ok` body in 20 chunks spread over ms (default 2000)              | data, slowly                  |
 * | `garbage`                 | 200, 2048 deterministic random bytes, content type JSON               | always                        |
 * | `null`                    | 200, body `null`                                                      | always                        |
 * | `badtext`                 | 200, the `ok` data with a NUL (`\u0000`) in the first item's name and | data (text made storable)     |
 * |                           | a member named by a lone surrogate (`\ud800`) in that item            |                               |
 * | `huge[:MB]`               | TR only (other ids: `ok`): a generated TR of the release of about MB  | data; `hugeReportPlan` gives  |
 * |                           | MiB (default `hugeReportBytes`, 50 MiB) streamed with Content-Length  | size and sums                 |
 * | `redirect[:status]`       | 302 (or status) to the same path and query on `ok[-tag]`              | `ok`                          |
 * | `r4error[:code]`          | SOAP/NSS: `ReportResponse` with Exception Number=code (3030) Error    | always                        |
 * | `r4fault`                 | SOAP: 500 SOAP fault with header `testheaderkey: TestHeaderValue`     | always                        |
 * | `nssfail`                 | NSS: `ReportResponse` with 4 × Exception 1030 "Insufficient           | always                        |
 * |                           | Information to process Request", Data "Parameter: RequestorID"        |                               |
 * | `echo[:status]`           | status (401) + 2020 quoting the received `api_key` and `requestor_id`:  | always                        |
 * |                           | raw in `Data`, URL- and form-encoded in `Echo_Encoded`, inside a JSON |                               |
 * |                           | string in `Echo_Json`. SOAP/NSS: Exception 2010 whose Data quotes the |                               |
 * |                           | requestor and customer ids (XML-escaped on the wire)                  |                               |
 *
 * Rate-limiting providers (`alternate`, `bucket`, `only429`) are described in mock/pace.ts, providers whose
 * report list or status say something (`offers`, `nolist`) in mock/offers.ts.
 *
 * On SOAP and NSS paths only `ok`, `r4error`, `r4fault` (SOAP), `nssfail` (NSS), `echo`, `redirect` and the
 * transport scenarios (`html` … `null` except `huge`) differ from `ok`; other scenarios answer as `ok`.
 * An unknown scenario name → 400 + exception 1030 on every path.
 *
 * THE `ok` CUT. The official COUNTER samples are read at run time from test/fixtures/counter (one
 * copy, with their licence, that the tests read too). The sample covers the months of its header (R5.1: 2022-01..2022-12, R5.0:
 * 2016-01..2016-03). Requested month m is served from sample month
 * `S + ((m − S) mod L)` (S = the sample's first month, L = its length in months): months inside the
 * sample's range verbatim, months outside by cyclic relabelling (R5.1 samples: same calendar month of
 * 2022; R5.0: 2016-04 ← 2016-01, 2015-12 ← 2016-03). R5.1 count keys and R5.0 `Performance[].Period`
 * are rewritten to m; metrics, attribute entries, items, parent groups and components left without
 * usage are dropped; the header's `Begin_Date`/`End_Date` become the first and last day of the
 * requested range; everything else is the sample's. `okExpectedSums(release, id, begin, end)` gives the
 * per-month, per-metric sums computed from the untouched sample.
 *
 * LATENCY. Every request waits `latencyMs` before it is answered (it is in flight meanwhile).
 * IN FLIGHT. A request counts from its arrival until its response finished or its socket closed.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { counterException, type MockRelease } from './exceptions.ts';
import { isGone, sendJson } from './respond.ts';
import { handleMembers, handleReport, handleReportList, handleStatus } from './rest.ts';
import {
  ALL_SCENARIOS,
  keyMatches,
  numberParam,
  parseEndpointKey,
  type Ctx,
  type MockOptions,
  type MockState,
  type RecordedRelease,
  type RecordedRequest,
} from './scenarios.ts';
import { handleNss, handleSoap } from './xml.ts';

export type { MockOptions, RecordedRelease, RecordedRequest } from './scenarios.ts';
export {
  okExpectedSums,
  okReport,
  sourceMonth,
  sumCounts,
  MOCK_REPORT_IDS,
  type MonthSums,
} from './samples.ts';
export {
  hugeReportPlan,
  hugeReportSize,
  hugeCount,
  HUGE_METRICS,
  type HugePlan,
  type HugeRequest,
} from './huge.ts';
export { counter4Items, type Counter4Item, type Counter4Request } from './counter4.ts';
export { FIRST_MONTH_AVAILABLE, lastMonthAvailable } from './rest.ts';

export interface MockCounterServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** Every request, in arrival order. */
  requests: RecordedRequest[];
  /** Max number of requests that were in flight at the same time, overall or for one scenario prefix. */
  maxInFlight(scenario?: string): number;
  /** The requests whose endpoint key is `scenario` or starts with `scenario-` or `scenario:`. */
  requestsFor(scenario: string): RecordedRequest[];
  /**
   * The members list `/members` answers for an endpoint key (the JSON array as given, e.g. the files of
   * test/fixtures/members/); without an entry it answers one member, the requested customer id.
   */
  readonly members: Map<string, unknown[]>;
  /** Forgets the recorded requests and the `:N` attempt counters. */
  reset(): void;
  close(): Promise<void>;
}

/** A recorded request with the sequence numbers of its start and end, for exact overlap counting. */
interface Interval {
  record: RecordedRequest;
  start: number;
  end?: number;
}

function now(): number {
  return performance.timeOrigin + performance.now();
}

function queryOf(url: URL): Record<string, string> {
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) query[name] = value;
  return query;
}

function headersOf(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

/** Splits `/r51/reports/tr` into release and the rest; `/R51` counts as 5.1. */
function releaseOf(segments: string[]): { release: MockRelease; rest: string[] } {
  if (segments[0]?.toLowerCase() === 'r51') return { release: '5.1', rest: segments.slice(1) };
  return { release: '5', rest: segments };
}

function recordedRelease(segments: string[]): RecordedRelease {
  const last = segments[segments.length - 1]?.toLowerCase();
  if (segments.length === 1 && last === 'sushi4') return '4';
  if (segments.length === 1 && last === 'nss') return 'nss';
  const { release, rest } = releaseOf(segments);
  const known = ['status', 'members', 'reports'];
  if ((rest.length === 1 && known.includes(rest[0])) || (rest.length === 2 && rest[0] === 'reports'))
    return release;
  return 'other';
}

function badRequest(ctx: Ctx, release: MockRelease, code: number, data: string, status = 400): void {
  sendJson(ctx.res, status, counterException(code, release, data));
}

function apiKeyRejected(ctx: Ctx, rest: string[]): boolean {
  const apiKey = ctx.state.options.apiKey;
  if (apiKey === undefined || rest[0] === 'status') return false;
  return ctx.query.api_key !== apiKey;
}

async function routeRest(ctx: Ctx): Promise<void> {
  const { release, rest } = releaseOf(ctx.segments);
  if (ctx.record.release === 'other')
    return badRequest(ctx, release, 3000, `Unknown path: ${ctx.record.path}`, 404);
  if (ctx.req.method !== 'GET')
    return badRequest(ctx, release, 1030, `Method ${ctx.req.method} not supported`);
  if (apiKeyRejected(ctx, rest)) return badRequest(ctx, release, 2020, 'api_key missing or invalid', 401);
  if (rest[0] === 'status') return handleStatus(ctx, release);
  if (rest[0] === 'members') return handleMembers(ctx, release);
  if (rest.length === 1) return handleReportList(ctx, release);
  return handleReport(ctx, release, rest[1]);
}

function redirect(ctx: Ctx): void {
  const target = ['ok', ctx.endpoint.tag].filter((part) => part !== undefined).join('-');
  const host = ctx.req.headers.host ?? ctx.url.host;
  const location = `http://${host}/${target}${ctx.record.path}${ctx.url.search}`;
  ctx.res.writeHead(numberParam(ctx.endpoint, 0, 302), { Location: location, 'Content-Length': 0 });
  ctx.res.end();
}

async function route(ctx: Ctx): Promise<void> {
  if (!ALL_SCENARIOS.includes(ctx.endpoint.name)) {
    return badRequest(ctx, '5.1', 1030, `Unknown mock scenario: ${ctx.endpoint.name}`);
  }
  if (ctx.endpoint.name === 'redirect') return redirect(ctx);
  if (ctx.record.release === '4') return handleSoap(ctx);
  if (ctx.record.release === 'nss') return handleNss(ctx);
  return routeRest(ctx);
}

function answerFailure(res: ServerResponse, error: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, 500, counterException(1000, '5.1', `Mock server error: ${(error as Error)?.message}`));
}

class MockServer implements MockCounterServer {
  url = '';
  readonly members = new Map<string, unknown[]>();
  readonly requests: RecordedRequest[] = [];
  private readonly intervals: Interval[] = [];
  private sequence = 0;
  private readonly state: MockState;
  private readonly server: Server;

  constructor(options: MockOptions) {
    this.state = { options, counters: new Map(), members: this.members };
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.on('clientError', (_error, socket) => {
      if (socket.writable)
        socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      else socket.destroy();
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const ctx = this.begin(req, res);
    this.serve(ctx).catch((error: unknown) => answerFailure(res, error));
  }

  /** Records the request and builds its context (the in-flight interval starts here). */
  private begin(req: IncomingMessage, res: ServerResponse): Ctx {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const [first = '', ...segments] = url.pathname.split('/').filter((s) => s !== '');
    let endpoint;
    try {
      endpoint = parseEndpointKey(first);
    } catch {
      endpoint = { key: first, name: '', params: [] };
    }
    const record: RecordedRequest = {
      scenario: endpoint.key,
      scenarioName: endpoint.name,
      tag: endpoint.tag,
      method: req.method ?? 'GET',
      release: recordedRelease(segments),
      path: `/${segments.join('/')}`,
      query: queryOf(url),
      headers: headersOf(req),
      startedAt: now(),
      status: 0,
      aborted: false,
    };
    const interval: Interval = { record, start: ++this.sequence };
    this.requests.push(record);
    this.intervals.push(interval);
    res.once('close', () => this.finish(interval, res));
    return { req, res, url, endpoint, segments, query: record.query, record, state: this.state };
  }

  private finish(interval: Interval, res: ServerResponse): void {
    interval.end = ++this.sequence;
    interval.record.finishedAt = now();
    interval.record.status = res.headersSent ? res.statusCode : 0;
    interval.record.aborted = !res.writableFinished;
  }

  private async serve(ctx: Ctx): Promise<void> {
    const latency = this.state.options.latencyMs ?? 0;
    if (latency > 0) await delay(latency);
    if (isGone(ctx.res)) return;
    await route(ctx);
  }

  maxInFlight(scenario?: string): number {
    const events: [number, number][] = [];
    for (const { record, start, end } of this.intervals) {
      if (scenario !== undefined && !keyMatches(record.scenario, scenario)) continue;
      events.push([start, 1]);
      if (end !== undefined) events.push([end, -1]);
    }
    events.sort((a, b) => a[0] - b[0]);
    let current = 0;
    let max = 0;
    for (const [, change] of events) {
      current += change;
      max = Math.max(max, current);
    }
    return max;
  }

  requestsFor(scenario: string): RecordedRequest[] {
    return this.requests.filter((record) => keyMatches(record.scenario, scenario));
  }

  reset(): void {
    this.requests.length = 0;
    this.intervals.length = 0;
    this.state.counters.clear();
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }
}

export async function startMockCounterServer(opts: MockOptions = {}): Promise<MockCounterServer> {
  const server = new MockServer(opts);
  await server.listen();
  return server;
}
