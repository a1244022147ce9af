/** COUNTER 5.0 and 5.1 (REST/JSON) answers of the mock server, per scenario. */
import { counterException, lowerCaseKeys, messageFor, statusFor, type MockRelease } from './exceptions.ts';
import { DEFAULT_HUGE_BYTES, hugeReportChunks, hugeReportSize } from './huge.ts';
import { monthFromIndex, monthsBetween, parseDateParam, type Month } from './months.ts';
import {
  garbageBytes,
  JSON_TYPE,
  sendDripped,
  sendJson,
  sendReset,
  sendTruncated,
  sendWhole,
  streamChunks,
  type Headers,
} from './respond.ts';
import {
  loadSample,
  MOCK_REPORT_IDS,
  okReport,
  reportHeader,
  toReportId,
  type MockReportId,
} from './samples.ts';
import { isOffered, offersAnswer } from './offers.ts';
import { paceAnswer } from './pace.ts';
import { nextAttempt, numberParam, type Ctx } from './scenarios.ts';
import { TRUTH_HANDLERS } from './truth.ts';

export interface ReportRequest {
  release: MockRelease;
  id: MockReportId;
  begin: Month;
  end: Month;
}

type ReportHandler = (ctx: Ctx, request: ReportRequest) => void | Promise<void>;

/** First month of the `/reports` availability window. */
export const FIRST_MONTH_AVAILABLE = '2018-01';

/** Last month of the `/reports` availability window: the month before the current UTC month. */
export function lastMonthAvailable(now = new Date()): Month {
  return monthFromIndex(now.getUTCFullYear() * 12 + now.getUTCMonth() - 1);
}

/**
 * Sends a body the way the transport scenarios want it (`truncated`, `reset`, `slow`), whole otherwise.
 * Also used for the SOAP and NSS answers.
 */
export async function deliver(
  ctx: Ctx,
  status: number,
  type: string,
  body: string,
  headers: Headers = {},
): Promise<void> {
  switch (ctx.endpoint.name) {
    case 'truncated':
      return sendTruncated(ctx.res, status, type, body, headers);
    case 'reset':
      return sendReset(ctx.res, status, type, body, headers);
    case 'slow':
      return sendDripped(ctx.res, status, type, body, numberParam(ctx.endpoint, 0, 2000), headers);
    default:
      return sendWhole(ctx.res, status, type, body, headers);
  }
}

const LOGIN_PAGE =
  '<!DOCTYPE html><html><head><title>Sign in</title></head><body><h1>Please sign in</h1>' +
  '<form method="post" action="/login"><input name="username"><input name="password" type="password">' +
  '<button type="submit">Sign in</button></form></body></html>';

/**
 * Answers of the scenarios that replace the body entirely (`html`, `text`, `garbage`, `null`); true when
 * one of them answered.
 */
export function replacedBody(ctx: Ctx): boolean {
  switch (ctx.endpoint.name) {
    case 'html':
      sendWhole(ctx.res, 200, 'text/html; charset=utf-8', LOGIN_PAGE);
      return true;
    case 'text':
      sendWhole(ctx.res, 200, 'text/plain; charset=utf-8', 'Service temporarily unavailable');
      return true;
    case 'garbage':
      sendWhole(ctx.res, 200, JSON_TYPE, garbageBytes(2048));
      return true;
    case 'null':
      sendWhole(ctx.res, 200, JSON_TYPE, 'null');
      return true;
    default:
      return false;
  }
}

export function sendException(
  ctx: Ctx,
  release: MockRelease,
  code: number,
  data?: string,
  status = statusFor(code),
): void {
  sendJson(ctx.res, status, counterException(code, release, data));
}

/** `begin_date`/`end_date`/`customer_id` of a report request; answers 400 and returns undefined when bad. */
function readRange(ctx: Ctx, release: MockRelease): { begin: Month; end: Month } | undefined {
  const missing = ['customer_id', 'begin_date', 'end_date'].filter((name) => !ctx.query[name]);
  if (missing.length > 0) {
    sendException(ctx, release, 1030, `Missing parameter(s): ${missing.join(', ')}`);
    return undefined;
  }
  const begin = parseDateParam(ctx.query.begin_date);
  const end = parseDateParam(ctx.query.end_date);
  if (!begin || !end || begin > end) {
    sendException(ctx, release, 3020, `begin_date=${ctx.query.begin_date}, end_date=${ctx.query.end_date}`);
    return undefined;
  }
  return { begin, end };
}

/** `GET .../reports/{id}`: validates, then answers as the endpoint's scenario says. */
export async function handleReport(ctx: Ctx, release: MockRelease, rawId: string): Promise<void> {
  ctx.record.reportId = rawId.toLowerCase();
  const id = toReportId(rawId);
  if (!id) return sendException(ctx, release, 3000, `Unknown report id: ${rawId}`);
  const range = readRange(ctx, release);
  if (!range) return;
  if (replacedBody(ctx)) return;
  if (offersAnswer(ctx, release, id) || paceAnswer(ctx, release)) return;
  const handler = REPORT_HANDLERS[ctx.endpoint.name] ?? serveOk;
  await handler(ctx, { release, id, ...range });
}

function okBody(request: ReportRequest, exceptions?: unknown[]): string {
  return JSON.stringify(okReport(request.release, request.id, request.begin, request.end, exceptions));
}

async function serveOk(ctx: Ctx, request: ReportRequest): Promise<void> {
  await deliver(ctx, 200, JSON_TYPE, okBody(request));
}

/**
 * `badtext`: the `ok` data with text PostgreSQL cannot store: a NUL character in the first item's name
 * and a member name that is a lone UTF-16 surrogate (both escaped in the JSON, as JSON allows).
 */
async function badtext(ctx: Ctx, request: ReportRequest): Promise<void> {
  const report = okReport(request.release, request.id, request.begin, request.end) as {
    Report_Items?: Record<string, unknown>[];
  };
  const first = report.Report_Items?.[0];
  if (first) {
    for (const key of ['Title', 'Platform', 'Database']) {
      if (typeof first[key] === 'string') {
        first[key] = `${first[key]}\u0000`;
        break;
      }
    }
    first['\ud800'] = 'lone';
  }
  await deliver(ctx, 200, JSON_TYPE, JSON.stringify(report));
}

function headerOnly(request: ReportRequest, exceptions: unknown[], withItems = true): unknown {
  const header = reportHeader(request.release, request.id, request.begin, request.end, exceptions);
  return withItems ? { Report_Header: header, Report_Items: [] } : { Report_Header: header };
}

function monthList(request: ReportRequest): string {
  return monthsBetween(request.begin, request.end).join(', ');
}

/** Whether this attempt is one of the first N (N = first parameter, default 1), counted under `scope`. */
function failsThisTime(ctx: Ctx, scope: string): { fails: boolean; attempt: number; limit: number } {
  const limit = numberParam(ctx.endpoint, 0, 1);
  const attempt = nextAttempt(ctx.state, `${ctx.endpoint.key}|${ctx.endpoint.name}|${scope}`);
  return { fails: attempt <= limit, attempt, limit };
}

function queued(ctx: Ctx, request: ReportRequest): Promise<void> | void {
  const scope = `${request.release}|${request.id}|${request.begin}|${request.end}`;
  const { fails, attempt, limit } = failsThisTime(ctx, scope);
  if (!fails) return serveOk(ctx, request);
  const exception = counterException(1011, request.release, `Attempt ${attempt} of ${limit} queued`);
  sendJson(ctx.res, 202, headerOnly(request, [exception], false));
}

function serviceFailure(code: number, status: number): ReportHandler {
  return (ctx, request) => {
    if (!failsThisTime(ctx, 'endpoint').fails) return serveOk(ctx, request);
    sendException(ctx, request.release, code, undefined, status);
  };
}

function rateLimited(ctx: Ctx, request: ReportRequest): Promise<void> | void {
  if (!failsThisTime(ctx, 'endpoint').fails) return serveOk(ctx, request);
  const seconds = numberParam(ctx.endpoint, 1, 1);
  const data = `Too many requests; retry after ${seconds} second(s)`;
  sendJson(ctx.res, 429, counterException(1020, request.release, data), { 'Retry-After': String(seconds) });
}

function rateLimitedInHeader(ctx: Ctx, request: ReportRequest): Promise<void> | void {
  if (!failsThisTime(ctx, 'endpoint').fails) return serveOk(ctx, request);
  const data = 'This server allows 5 requests per day per requestor_id and customer_id';
  sendJson(ctx.res, 200, headerOnly(request, [counterException(1020, request.release, data)]));
}

function dataState(code: number, data: (request: ReportRequest) => string): ReportHandler {
  return (ctx, request) => {
    sendJson(ctx.res, 200, headerOnly(request, [counterException(code, request.release, data(request))]));
  };
}

async function partial(ctx: Ctx, request: ReportRequest): Promise<void> {
  const exception = counterException(
    3040,
    request.release,
    `Usage for ${monthList(request)} may be incomplete`,
  );
  await deliver(ctx, 200, JSON_TYPE, okBody(request, [exception]));
}

async function warning(ctx: Ctx, request: ReportRequest): Promise<void> {
  const exceptions = [
    counterException(3050, request.release, 'Parameter: mock_unknown_parameter'),
    counterException(3062, request.release, 'Attributes_To_Show: Section_Type'),
  ];
  await deliver(ctx, 200, JSON_TYPE, okBody(request, exceptions));
}

function badCredentials(ctx: Ctx, release: MockRelease): void {
  const variant = ctx.endpoint.params[0];
  if (variant === '2020') {
    sendJson(ctx.res, 200, { Code: '2020', Severity: 'Error', Message: 'api_key Invalid' });
  } else if (variant === '403') {
    sendJson(ctx.res, 403, [counterException(2000, release)]);
  } else {
    sendException(ctx, release, 2010, 'Unknown customer_id or requestor_id', 401);
  }
}

/** `naked`, `lowercase`, `array`, `stringjson`, `severitynum`: code = 1st parameter (3030), status = 2nd (200). */
function oddPlacement(ctx: Ctx, request: ReportRequest): void {
  const code = numberParam(ctx.endpoint, 0, 3030);
  const status = numberParam(ctx.endpoint, 1, 200);
  const exception = {
    Code: code,
    Severity: 'Error',
    Message: messageFor(code),
    Data: `Mock ${ctx.endpoint.name}`,
  };
  const bodies: Record<string, unknown> = {
    naked: exception,
    lowercase: lowerCaseKeys(exception),
    array: [exception, counterException(3060, request.release, 'Mock second exception')],
    stringjson: JSON.stringify(exception),
    severitynum: { ...exception, Severity: 4 },
  };
  sendJson(ctx.res, status, bodies[ctx.endpoint.name]);
}

async function huge(ctx: Ctx, request: ReportRequest): Promise<void> {
  if (request.id !== 'tr') return serveOk(ctx, request);
  const megabytes = numberParam(ctx.endpoint, 0, 0);
  const bytes =
    megabytes > 0
      ? Math.round(megabytes * 1024 * 1024)
      : (ctx.state.options.hugeReportBytes ?? DEFAULT_HUGE_BYTES);
  const hugeRequest = { release: request.release, begin: request.begin, end: request.end, bytes };
  const { totalBytes } = hugeReportSize(hugeRequest);
  await streamChunks(ctx.res, 200, JSON_TYPE, hugeReportChunks(hugeRequest), {
    'Content-Length': totalBytes,
  });
}

/**
 * `echo[:status]`: a provider that quotes the credentials it received in its error (401 + 2020): raw in
 * `Data`, URL-encoded and form-encoded in `Echo_Encoded`, inside a JSON string in `Echo_Json`. The body is
 * JSON, so the raw values travel JSON-escaped and the JSON string doubly escaped.
 */
function echo(ctx: Ctx, request: ReportRequest): void {
  const key = ctx.query.api_key ?? '';
  const requestor = ctx.query.requestor_id ?? '';
  const exception = counterException(
    2020,
    request.release,
    `api_key ${key} is not valid for requestor_id ${requestor}`,
  );
  const form = new URLSearchParams([['k', key]]).toString().slice(2);
  sendJson(ctx.res, numberParam(ctx.endpoint, 0, 401), {
    ...exception,
    Echo_Encoded: `${encodeURIComponent(key)} ${form} ${encodeURIComponent(requestor)}`,
    Echo_Json: JSON.stringify({ received: [key, requestor] }),
  });
}

const REPORT_HANDLERS: Record<string, ReportHandler> = {
  ok: serveOk,
  queued,
  busy: serviceFailure(1010, 503),
  busy200: serviceFailure(1010, 200),
  unavailable: serviceFailure(1000, 503),
  ratelimit: rateLimited,
  ratelimit1020: rateLimitedInHeader,
  nousage: dataState(3030, () => 'No usage for the requested dates'),
  empty: (ctx, request) => sendJson(ctx.res, 200, headerOnly(request, [])),
  notready: dataState(3031, (request) => `Months not processed: ${monthList(request)}`),
  nolonger: dataState(3032, (request) => `Usage no longer available for: ${monthList(request)}`),
  partial,
  warning,
  badcreds: (ctx, request) => badCredentials(ctx, request.release),
  naked: oddPlacement,
  lowercase: oddPlacement,
  array: oddPlacement,
  stringjson: oddPlacement,
  severitynum: oddPlacement,
  huge,
  echo,
  badtext,
  ...TRUTH_HANDLERS,
};

/** `/status` (R5.0) and `/r51/status`; `unavailable` reports `Service_Active: false` while it fails. */
export function handleStatus(ctx: Ctx, release: MockRelease): void {
  if (offersAnswer(ctx, release)) return;
  const failing =
    ctx.endpoint.name === 'unavailable' &&
    (ctx.state.counters.get(`${ctx.endpoint.key}|unavailable|endpoint`) ?? 0) <
      numberParam(ctx.endpoint, 0, 1);
  const status: Record<string, unknown> = {
    Description: failing ? 'Mock COUNTER service (maintenance)' : 'Mock COUNTER service',
    Service_Active: !failing,
  };
  if (release === '5.1') status.Registry_Record = '';
  else status.Registry_URL = 'https://registry.countermetrics.org/';
  sendJson(ctx.res, 200, [status]);
}

/** Answers `badcreds` on `/members` and `/reports`; true when it did. */
function credentialFailure(ctx: Ctx, release: MockRelease): boolean {
  if (ctx.endpoint.name !== 'badcreds') return false;
  badCredentials(ctx, release);
  return true;
}

export function handleMembers(ctx: Ctx, release: MockRelease): void {
  if (!ctx.query.customer_id) return sendException(ctx, release, 1030, 'Missing parameter(s): customer_id');
  if (credentialFailure(ctx, release)) return;
  const list = ctx.state.members.get(ctx.endpoint.key);
  if (list) return sendJson(ctx.res, 200, list);
  const customerId = ctx.query.customer_id;
  const member =
    release === '5.1'
      ? {
          Customer_ID: customerId,
          Institution_Name: 'Mock Institution',
          Institution_ID: { Proprietary: [`mock:${customerId}`] },
        }
      : {
          Customer_ID: customerId,
          Name: 'Mock Institution',
          Institution_ID: [{ Type: 'Proprietary', Value: `mock:${customerId}` }],
        };
  sendJson(ctx.res, 200, [member]);
}

export function handleReportList(ctx: Ctx, release: MockRelease): void {
  if (!ctx.query.customer_id) return sendException(ctx, release, 1030, 'Missing parameter(s): customer_id');
  if (credentialFailure(ctx, release) || offersAnswer(ctx, release)) return;
  const list = MOCK_REPORT_IDS.filter((id) => isOffered(ctx, id)).map((id) => {
    const header = loadSample(release, id).Report_Header;
    const entry: Record<string, unknown> = {
      Report_Name: header.Report_Name,
      Report_ID: header.Report_ID,
      Release: release,
      Report_Description: `${header.Report_Name} (mock)`,
      Path: `${release === '5.1' ? '/r51' : ''}/reports/${id}`,
    };
    if (release === '5.1') {
      entry.First_Month_Available = FIRST_MONTH_AVAILABLE;
      entry.Last_Month_Available = lastMonthAvailable();
    }
    return entry;
  });
  sendJson(ctx.res, 200, list);
}
