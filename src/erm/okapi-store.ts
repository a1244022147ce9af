/**
 * The FOLIO adapter of the ErmStore port (folio-contract §7.12, §6.9): usage data providers, aggregator
 * settings and counter reports in mod-erm-usage, tenant settings in mod-settings, all reached through
 * Okapi or the Eureka sidecar at OKAPI_URL.
 *
 * Every request carries `X-Okapi-Tenant` and `X-Okapi-Url`, plus `X-Okapi-Token` when a token is known:
 * either a configured one, or one obtained by a system user's `POST /authn/login-with-expiry` (per tenant,
 * renewed before it expires and once more after a 401). On Eureka no token is needed; the sidecar adds
 * credentials.
 */
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import { Readable } from 'node:stream';
import { EnvHttpProxyAgent, request, type Dispatcher } from 'undici';
import { systemClock, type Clock } from '../clock.ts';
import { cqlQuote } from '../cql/index.ts';
import { secrets, type Logger } from '../log.ts';
import type { AggregatorSetting, CounterReport, JsonRecord, UsageDataProvider } from '../model/records.ts';
import { ErmError, type ErmStore, type Page, type StreamedReport } from './port.ts';

export interface SystemUser {
  username: string;
  password: string;
}

export interface OkapiErmStoreOptions {
  /** Okapi or sidecar base URL, e.g. `http://okapi:9130`. */
  okapiUrl: string;
  /** A fixed token sent as X-Okapi-Token on every call (classic Okapi without a sidecar). */
  token?: string;
  /** Logs in per tenant to obtain a token; used when no fixed token is configured. */
  systemUser?: SystemUser;
  /**
   * Where requests go. Default: a keep-alive pool that honours HTTP_PROXY, HTTPS_PROXY and NO_PROXY,
   * closed by `close()`. A dispatcher passed in here is not closed by the store.
   */
  dispatcher?: Dispatcher;
  log?: Logger;
  /** Decides when a system-user token has expired (tests). */
  clock?: Clock;
}

const SETTINGS_SCOPE = 'mod-erm-usage-harvester.manage';
const ACCEPT = 'application/json, text/plain';
const CONNECT_TIMEOUT_MS = 10_000;
const HEADERS_TIMEOUT_MS = 60_000;
const BODY_TIMEOUT_MS = 120_000;
/** A system-user token is renewed this long before its announced expiry. */
const TOKEN_RENEW_MARGIN_MS = 30_000;
const ACCESS_COOKIE = 'folioAccessToken';

type Method = 'GET' | 'POST' | 'PUT';
type RequestBody = string | (() => Readable);

/** `JSON.stringify({...record, report: {Report_Header, Report_Items}})`, in pieces, items one by one. */
async function* recordJsonPieces(
  record: JsonRecord,
  report: StreamedReport,
): AsyncGenerator<string | Buffer> {
  const head = JSON.stringify(record);
  yield `${head.slice(0, -1)}${head === '{}' ? '' : ','}"report":{"Report_Header":${JSON.stringify(report.header)},"Report_Items":[`;
  if (report.itemChunks) {
    // Already comma-joined in UTF-8 pieces of a few MiB: sent as they are, each copied (a piece is
    // valid only until the next is asked for, and the request body may still hold it then).
    let first = true;
    for await (const chunk of report.itemChunks()) {
      if (chunk.length === 0) continue;
      if (!first) yield ',';
      yield Buffer.from(chunk);
      first = false;
    }
    yield ']}}';
    return;
  }
  // Items are small; sending them in ~64 KiB pieces keeps writes few.
  let batch = '';
  let first = true;
  for await (const item of report.items()) {
    batch += first ? item : `,${item}`;
    first = false;
    if (batch.length >= 65_536) {
      yield batch;
      batch = '';
    }
  }
  yield `${batch}]}}`;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

interface CachedToken {
  token: string;
  /** Epoch ms after which the token is no longer used; undefined = until a 401. */
  expiresAt?: number;
}

/** The keep-alive connection pool used when the caller does not supply a dispatcher. */
function defaultOkapiDispatcher(): Dispatcher {
  return new EnvHttpProxyAgent({
    connect: { timeout: CONNECT_TIMEOUT_MS },
    headersTimeout: HEADERS_TIMEOUT_MS,
    bodyTimeout: BODY_TIMEOUT_MS,
    keepAliveTimeout: 30_000,
  });
}

/** `(scope=="mod-erm-usage-harvester.manage" AND key=="<key>")`, the key quoted. */
function settingsQuery(key: string): string {
  return `(scope=="${SETTINGS_SCOPE}" AND key==${cqlQuote(key)})`;
}

/** RFC 3986 strict: also `!'()*`, which encodeURIComponent leaves alone. Spaces become `%20`. */
function encodeValue(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function queryString(params: Record<string, string | number | boolean>): string {
  return Object.entries(params)
    .map(([k, v]) => `${encodeValue(k)}=${encodeValue(String(v))}`)
    .join('&');
}

function reasonPhrase(status: number): string {
  return STATUS_CODES[status] ?? 'Unknown Status';
}

function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

/** The message of a transport error; Node's AggregateError (several addresses tried) has an empty one. */
function transportMessage(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.message) return err.message;
  const code = (err as { code?: unknown }).code;
  const inner = err instanceof AggregateError ? err.errors.map(transportMessage).filter(Boolean) : [];
  if (inner.length > 0) return inner.join('; ');
  return typeof code === 'string' ? code : err.name;
}

function headerValues(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** The folioAccessToken cookie among Set-Cookie headers, with its expiry when stated. */
function accessCookie(
  setCookie: string | string[] | undefined,
  now: number,
): { token: string; expiresAt?: number } | undefined {
  for (const cookie of headerValues(setCookie)) {
    const [pair, ...attributes] = cookie.split(';').map((s) => s.trim());
    const eq = pair.indexOf('=');
    if (eq < 0 || pair.slice(0, eq) !== ACCESS_COOKIE) continue;
    const token = pair.slice(eq + 1);
    if (!token) continue;
    return { token, expiresAt: cookieExpiry(attributes, now) };
  }
  return undefined;
}

function cookieExpiry(attributes: string[], now: number): number | undefined {
  for (const attribute of attributes) {
    const [name, value = ''] = attribute.split('=', 2);
    if (name.toLowerCase() === 'max-age' && /^-?\d+$/.test(value)) return now + Number(value) * 1000;
  }
  for (const attribute of attributes) {
    const [name, value = ''] = attribute.split('=', 2);
    const at = Date.parse(value);
    if (name.toLowerCase() === 'expires' && Number.isFinite(at)) return at;
  }
  return undefined;
}

/** `accessTokenExpiration` of a login-with-expiry body, as epoch ms. */
function bodyExpiry(text: string): number | undefined {
  try {
    const body: unknown = JSON.parse(text);
    const at = (body as { accessTokenExpiration?: unknown } | null)?.accessTokenExpiration;
    if (typeof at !== 'string') return undefined;
    const ms = Date.parse(at);
    return Number.isFinite(ms) ? ms : undefined;
  } catch {
    return undefined;
  }
}

function requestLabel(method: Method, path: string): string {
  return `${method} ${path.split('?')[0]}`;
}

/** The JSON object of a 2xx answer that must have one. */
function jsonBody(answer: Answer, what: string): JsonRecord {
  if (answer.text.trim() === '') throw new Error('Response body is null');
  let body: unknown;
  try {
    body = JSON.parse(answer.text);
  } catch (err) {
    throw new Error(`Invalid JSON in the response to ${what}: ${(err as Error).message}`);
  }
  if (body === null) throw new Error('Response body is null');
  if (typeof body !== 'object' || Array.isArray(body))
    throw new Error(`The response to ${what} is not a JSON object`);
  return body as JsonRecord;
}

function page<T>(body: JsonRecord, key: string, what: string): Page<T> {
  const records = body[key];
  if (!Array.isArray(records)) throw new Error(`The response to ${what} has no "${key}" array`);
  const total = body.totalRecords;
  return { records: records as T[], totalRecords: typeof total === 'number' ? total : records.length };
}

export class OkapiErmStore implements ErmStore {
  private readonly base: string;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly clock: Clock;
  private readonly tokens = new Map<string, CachedToken>();
  private readonly logins = new Map<string, Promise<CachedToken>>();

  constructor(private readonly opts: OkapiErmStoreOptions) {
    this.base = opts.okapiUrl.replace(/\/+$/, '');
    this.ownsDispatcher = opts.dispatcher === undefined;
    this.dispatcher = opts.dispatcher ?? defaultOkapiDispatcher();
    this.clock = opts.clock ?? systemClock;
    secrets.add(opts.token, opts.systemUser?.password);
  }

  /** Closes the connection pool, unless it was supplied by the caller. */
  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  async getProvider(tenant: string, id: string): Promise<UsageDataProvider> {
    const provider = await this.getJson(tenant, `/usage-data-providers/${encodeURIComponent(id)}`);
    secrets.addFromRecord(provider);
    return provider as UsageDataProvider;
  }

  async putProvider(tenant: string, provider: UsageDataProvider): Promise<void> {
    await this.write(tenant, 'PUT', `/usage-data-providers/${encodeURIComponent(provider.id)}`, provider);
  }

  async findProviders(
    tenant: string,
    cql: string,
    offset: number,
    limit: number,
  ): Promise<Page<UsageDataProvider>> {
    const path = `/usage-data-providers?${queryString({ query: cql, offset, limit })}`;
    const result = page<UsageDataProvider>(await this.getJson(tenant, path), 'usageDataProviders', path);
    for (const provider of result.records) secrets.addFromRecord(provider);
    return result;
  }

  async getAggregator(tenant: string, id: string): Promise<AggregatorSetting> {
    const aggregator = await this.getJson(tenant, `/aggregator-settings/${encodeURIComponent(id)}`);
    secrets.addFromRecord(aggregator);
    return aggregator as AggregatorSetting;
  }

  async findCounterReports(
    tenant: string,
    cql: string,
    offset: number,
    limit: number,
    tiny: boolean,
  ): Promise<Page<CounterReport>> {
    const path = `/counter-reports?${queryString({ tiny, query: cql, offset, limit })}`;
    return page<CounterReport>(await this.getJson(tenant, path), 'counterReports', path);
  }

  /** Creates the record; an id is assigned here when it has none, so that it is known whatever comes back. */
  async postCounterReport(tenant: string, report: CounterReport): Promise<string> {
    const id = report.id ?? randomUUID();
    await this.write(tenant, 'POST', '/counter-reports', { ...report, id });
    return id;
  }

  async putCounterReport(tenant: string, id: string, report: CounterReport): Promise<void> {
    await this.write(tenant, 'PUT', `/counter-reports/${encodeURIComponent(id)}`, report);
  }

  /** POST with the JSON body streamed from the header and item texts (never one string). */
  async postCounterReportStream(
    tenant: string,
    record: CounterReport,
    report: StreamedReport,
  ): Promise<string> {
    const id = record.id ?? randomUUID();
    await this.writeStreamed(tenant, 'POST', '/counter-reports', { ...record, id }, report);
    return id;
  }

  async putCounterReportStream(
    tenant: string,
    id: string,
    record: CounterReport,
    report: StreamedReport,
  ): Promise<void> {
    await this.writeStreamed(tenant, 'PUT', `/counter-reports/${encodeURIComponent(id)}`, record, report);
  }

  /** The value of the first mod-settings entry; undefined when there is none or it is null. Throws on failure. */
  async getSetting(tenant: string, key: string): Promise<unknown> {
    const path = `/settings/entries?${queryString({ query: settingsQuery(key) })}`;
    const body = await this.getJson(tenant, path);
    const items = body.items;
    if (!Array.isArray(items)) throw new Error(`The response to GET /settings/entries has no "items" array`);
    const first: unknown = items[0];
    if (first === null || typeof first !== 'object') return undefined;
    return (first as { value?: unknown }).value ?? undefined;
  }

  // ---- requests ----

  private async getJson(tenant: string, path: string): Promise<JsonRecord> {
    const answer = await this.call(tenant, 'GET', path);
    this.check(answer, 'GET', path);
    return jsonBody(answer, requestLabel('GET', path));
  }

  private async write(tenant: string, method: Method, path: string, body: unknown): Promise<void> {
    const answer = await this.call(tenant, method, path, JSON.stringify(body));
    this.check(answer, method, path);
  }

  private async writeStreamed(
    tenant: string,
    method: Method,
    path: string,
    record: CounterReport,
    report: StreamedReport,
  ): Promise<void> {
    const { report: _report, ...rest } = record;
    const answer = await this.call(tenant, method, path, () => Readable.from(recordJsonPieces(rest, report)));
    this.check(answer, method, path);
  }

  /** Non-2xx → ErmError; the body is logged at debug level only (it may echo request data). */
  private check(answer: Answer, method: Method, path: string): void {
    if (isSuccess(answer.status)) return;
    this.opts.log?.debug(
      { status: answer.status, request: requestLabel(method, path), body: answer.text.slice(0, 500) },
      'okapi request failed',
    );
    throw new ErmError(answer.status, reasonPhrase(answer.status));
  }

  /** One call with the tenant's token; a system-user token refused with 401 is renewed and the call repeated once. */
  /** A body given as a function is a stream, created anew for the retry. */
  private async call(tenant: string, method: Method, path: string, body?: RequestBody): Promise<Answer> {
    const token = await this.tokenFor(tenant);
    const answer = await this.send(tenant, method, path, body, token);
    if (answer.status !== 401 || this.opts.token || !this.opts.systemUser) return answer;
    this.tokens.delete(tenant);
    return this.send(tenant, method, path, body, await this.tokenFor(tenant));
  }

  private async send(
    tenant: string,
    method: Method,
    path: string,
    body: RequestBody | undefined,
    token: string | undefined,
  ): Promise<Answer> {
    const headers: Record<string, string> = {
      'x-okapi-tenant': tenant,
      'x-okapi-url': this.opts.okapiUrl,
      accept: ACCEPT,
    };
    if (token) headers['x-okapi-token'] = token;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const started = this.clock.now();
    try {
      const payload = typeof body === 'function' ? body() : body;
      const res = await request(this.base + path, {
        method,
        headers,
        body: payload,
        dispatcher: this.dispatcher,
      });
      const text = await res.body.text();
      this.opts.log?.debug(
        { request: requestLabel(method, path), status: res.statusCode, ms: this.clock.now() - started },
        'okapi request',
      );
      return { status: res.statusCode, headers: res.headers, text };
    } catch (err) {
      throw new Error(transportMessage(err), { cause: err });
    }
  }

  // ---- tokens ----

  private async tokenFor(tenant: string): Promise<string | undefined> {
    if (this.opts.token) return this.opts.token;
    if (!this.opts.systemUser) return undefined;
    const cached = this.tokens.get(tenant);
    if (cached && !this.expired(cached)) return cached.token;
    return (await this.login(tenant)).token;
  }

  private expired(cached: CachedToken): boolean {
    return cached.expiresAt !== undefined && this.clock.now() >= cached.expiresAt - TOKEN_RENEW_MARGIN_MS;
  }

  /** One login per tenant at a time; concurrent callers share it. */
  private login(tenant: string): Promise<CachedToken> {
    let pending = this.logins.get(tenant);
    if (!pending) {
      pending = this.doLogin(tenant).finally(() => this.logins.delete(tenant));
      this.logins.set(tenant, pending);
    }
    return pending;
  }

  private async doLogin(tenant: string): Promise<CachedToken> {
    const user = this.opts.systemUser!;
    const path = '/authn/login-with-expiry';
    const body = JSON.stringify({ username: user.username, password: user.password });
    let answer: Answer;
    try {
      answer = await this.send(tenant, 'POST', path, body, undefined);
    } catch (err) {
      throw new Error(`System user login failed: ${(err as Error).message}`, { cause: err });
    }
    if (!isSuccess(answer.status))
      throw new Error(
        `System user login failed: ${new ErmError(answer.status, reasonPhrase(answer.status)).message}`,
      );
    const cached = this.tokenFromLogin(answer);
    secrets.add(cached.token);
    this.tokens.set(tenant, cached);
    this.opts.log?.info({ tenant, username: user.username }, 'system user logged in');
    return cached;
  }

  private tokenFromLogin(answer: Answer): CachedToken {
    const now = this.clock.now();
    const cookie = accessCookie(answer.headers['set-cookie'], now);
    const header = headerValues(answer.headers['x-okapi-token'])[0];
    const token = cookie?.token ?? header;
    if (!token) throw new Error('System user login failed: the response carries no folioAccessToken cookie');
    return { token, expiresAt: bodyExpiry(answer.text) ?? cookie?.expiresAt };
  }
}
