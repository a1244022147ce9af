/**
 * Streaming HTTP for the service implementations (counter-notes §1.2 and §4 (timing rules); folio-contract §7.10, §8.4).
 *
 * One GET or POST with four separate timeouts (connect, response headers, idle between body chunks,
 * total), a maximum decompressed body size, redirects (the method and body are kept, so a SOAP POST is
 * re-sent to the `Location`), gzip/deflate/br decompression while streaming, `HTTP(S)_PROXY`/`NO_PROXY`
 * and keep-alive connections. Failures are values: `Connection error: <code> <message>` or the
 * too-large text; nothing is thrown except from the body iterator, whose error is also kept on the body.
 */
import { createBrotliDecompress, createGunzip, createInflate, createInflateRaw } from 'node:zlib';
import { pipeline, Readable, type Transform } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import { isIP } from 'node:net';
import { Agent, buildConnector, EnvHttpProxyAgent, request, type Dispatcher } from 'undici';
import { DEFAULT_HOST_POLICY, HostDeniedError, type HostPolicy } from './host-policy.ts';
import type { TransportOptions } from './types.ts';

export interface HttpRequest {
  method: 'GET' | 'POST';
  url: string;
  headers?: Record<string, string>;
  body?: string;
  /** Redirects to follow; default 5. */
  maxRedirects?: number;
  signal?: AbortSignal;
}

export type ResponseHeaders = Record<string, string | string[] | undefined>;

/** Why a request produced no (complete) answer. */
export interface TransportFailure {
  kind: 'transport-failure';
  cause: 'transport' | 'too-large' | 'host-denied';
  /** `ECONNREFUSED`, `UND_ERR_HEADERS_TIMEOUT`, `TOTAL_TIMEOUT`, `TOO_LARGE`, `HOST_DENIED`, ... */
  code: string;
  /**
   * `Connection error: <code> <message>`, `Report not valid: response exceeds <n> bytes`, or the host
   * policy's `provider address <a> is not allowed (<why>); see ...`.
   */
  reason: string;
}

/** A response body: decompressed chunks, size-checked; iterate once, or `dump()` it. */
export interface ResponseBody extends AsyncIterable<Uint8Array> {
  /** The failure that ended the body early (timeout, reset, too large), once iteration has stopped. */
  failure(): TransportFailure | undefined;
  /** The first bytes of the body as read so far (up to the capture limit), and whether that is all. */
  captured(): { text: string; complete: boolean };
  /** Reads the whole body as text (up to `maxChars`), or returns the failure. */
  text(maxChars?: number): Promise<string | TransportFailure>;
  /** Discards the rest of the body and frees the connection. */
  dump(): Promise<void>;
}

export interface HttpResponse {
  kind: 'response';
  status: number;
  /** The server's reason phrase, or the standard one when it sent none. */
  statusText: string;
  headers: ResponseHeaders;
  /** The URL that answered (after redirects). */
  url: string;
  body: ResponseBody;
}

export type HttpResult = HttpResponse | TransportFailure;

const DEFAULT_MAX_REDIRECTS = 5;
const CAPTURE_LIMIT = 1024 * 1024;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

// ---------------------------------------------------------------------------------------------
// Dispatchers

const dispatchers = new Map<string, Dispatcher>();

function proxyEnvKey(): string {
  const env = process.env;
  return [env.http_proxy, env.HTTP_PROXY, env.https_proxy, env.HTTPS_PROXY, env.no_proxy, env.NO_PROXY]
    .map((v) => v ?? '')
    .join('|');
}

function hasProxyEnv(): boolean {
  const env = process.env;
  return Boolean(env.http_proxy || env.HTTP_PROXY || env.https_proxy || env.HTTPS_PROXY);
}

/**
 * Connects only where the host policy allows: a literal address is checked before connecting, a host
 * name inside the socket's own DNS lookup, so the address checked is the address connected to.
 */
function guardedConnector(policy: HostPolicy, timeout: number): buildConnector.connector {
  const connect = buildConnector({ timeout, lookup: policy.lookup });
  return (options, callback) => {
    const refusal = isIP(options.hostname) ? policy.checkAddress(options.hostname) : undefined;
    if (refusal) callback(new HostDeniedError(refusal), null);
    else connect(options, callback);
  };
}

/**
 * A keep-alive dispatcher for the connect timeout, the host policy and the proxy environment of the
 * moment. HTTP targets behind an HTTP proxy are sent as absolute-URI requests (no CONNECT), as Java's
 * clients do; the proxy itself is the operator's choice and is not checked against the policy.
 */
export function dispatcherFor(
  connectTimeoutMs: number,
  policy: HostPolicy = DEFAULT_HOST_POLICY,
): Dispatcher {
  const key = `${connectTimeoutMs}|${policy.key}|${proxyEnvKey()}`;
  const existing = dispatchers.get(key);
  if (existing) return existing;
  const agentOptions = { connect: guardedConnector(policy, connectTimeoutMs), keepAliveTimeout: 4_000 };
  const created: Dispatcher = hasProxyEnv()
    ? new EnvHttpProxyAgent({ ...agentOptions, proxyTunnel: false })
    : new Agent(agentOptions);
  dispatchers.set(key, created);
  return created;
}

/** Closes every cached dispatcher (tests, shutdown). */
export async function closeDispatchers(): Promise<void> {
  const all = [...dispatchers.values()];
  dispatchers.clear();
  await Promise.allSettled(all.map((d) => d.close()));
}

// ---------------------------------------------------------------------------------------------
// Errors

function transportFailure(code: string, message: string): TransportFailure {
  return {
    kind: 'transport-failure',
    cause: 'transport',
    code,
    reason: `Connection error: ${code} ${message}`,
  };
}

function hostDenied(reason: string): TransportFailure {
  return { kind: 'transport-failure', cause: 'host-denied', code: 'HOST_DENIED', reason };
}

export function tooLargeFailure(maxBytes: number): TransportFailure {
  return {
    kind: 'transport-failure',
    cause: 'too-large',
    code: 'TOO_LARGE',
    reason: `Report not valid: response exceeds ${maxBytes} bytes`,
  };
}

export function isTransportFailure(value: unknown): value is TransportFailure {
  return (
    typeof value === 'object' && value !== null && (value as TransportFailure).kind === 'transport-failure'
  );
}

/** Thrown by the body iterator so that consumers stop; carries the failure. */
export class BodyError extends Error {
  override name = 'BodyError';
  constructor(readonly failure: TransportFailure) {
    super(failure.reason);
  }
}

/** Which of our own deadlines ended the request, if any. */
interface Deadline {
  fired: 'total' | 'external' | undefined;
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && code !== '') return code;
  const cause = (error as { cause?: unknown }).cause;
  return cause === undefined ? undefined : errorCode(cause);
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) {
    const message = error.message || error.name;
    if (error instanceof AggregateError && error.errors.length > 0) return errorMessage(error.errors[0]);
    return message;
  }
  return String(error);
}

function hostDeniedIn(error: unknown): HostDeniedError | undefined {
  if (error instanceof HostDeniedError) return error;
  const cause =
    typeof error === 'object' && error !== null ? (error as { cause?: unknown }).cause : undefined;
  return cause === undefined ? undefined : hostDeniedIn(cause);
}

/** Maps an undici/socket error (or one of our deadlines) to a failure with a clear reason. */
export function failureFromError(
  error: unknown,
  options: TransportOptions,
  deadline: Deadline,
): TransportFailure {
  if (error instanceof BodyError) return error.failure;
  const denied = hostDeniedIn(error);
  if (denied) return hostDenied(denied.message);
  if (deadline.fired === 'total')
    return transportFailure('TOTAL_TIMEOUT', `request not complete within ${options.totalTimeoutMs} ms`);
  if (deadline.fired === 'external') return transportFailure('ABORTED', 'request aborted');
  const code = errorCode(error) ?? (error instanceof Error ? error.name : 'UNKNOWN');
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return transportFailure(code, `no connection within ${options.connectTimeoutMs} ms`);
    case 'UND_ERR_HEADERS_TIMEOUT':
      return transportFailure(code, `no response headers within ${options.headersTimeoutMs} ms`);
    case 'UND_ERR_BODY_TIMEOUT':
      return transportFailure(code, `no data received for ${options.idleTimeoutMs} ms`);
    default:
      return transportFailure(code, errorMessage(error));
  }
}

// ---------------------------------------------------------------------------------------------
// Retry-After

/** `Retry-After` as milliseconds from `now`: delta-seconds or an HTTP-date; undefined when unusable. */
export function parseRetryAfter(value: unknown, now: number = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (typeof text !== 'string') return undefined;
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  if (!/[a-z]/i.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export function headerValue(headers: ResponseHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value;
}

// ---------------------------------------------------------------------------------------------
// Body

type Chunks = AsyncIterable<Uint8Array>;

function decompressorFor(encoding: string, first: Uint8Array): Transform | undefined {
  switch (encoding) {
    case 'gzip':
    case 'x-gzip':
      return createGunzip();
    case 'br':
      return createBrotliDecompress();
    case 'deflate':
      // RFC 9110 deflate is zlib-wrapped; some servers send raw deflate (no 0x78 header byte).
      return (first[0] & 0x0f) === 0x08 ? createInflate() : createInflateRaw();
    default:
      return undefined;
  }
}

/** Decodes `Content-Encoding` layers (last applied first), streaming. Unknown codings pass through. */
async function* decompress(raw: Chunks, encodings: string[]): AsyncGenerator<Uint8Array> {
  if (encodings.length === 0) {
    yield* raw;
    return;
  }
  const iterator = raw[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) return;
  const coding = encodings[encodings.length - 1];
  const decoder = decompressorFor(coding, first.value);
  async function* rest(): AsyncGenerator<Uint8Array> {
    yield first.value as Uint8Array;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
  }
  if (!decoder) {
    yield* rest();
    return;
  }
  // pipeline() forwards errors of the source (timeouts, resets) into the decoder, and so to the consumer.
  const decoded = pipeline(Readable.from(rest()), decoder, () => undefined);
  const source = (async function* () {
    for await (const chunk of decoded) yield chunk as Uint8Array;
  })();
  yield* decompress(source, encodings.slice(0, -1));
}

function contentEncodings(headers: ResponseHeaders): string[] {
  const value = headerValue(headers, 'content-encoding') ?? '';
  return value
    .split(',')
    .map((v) => v.trim().toLowerCase())
    .filter((v) => v !== '' && v !== 'identity');
}

interface BodyControl {
  options: TransportOptions;
  deadline: Deadline;
  /** Called once when the body is finished (read, failed or dumped). */
  finish(): void;
}

/** Frees the connection of an unread body without an unhandled 'error' event. */
function destroyQuietly(raw: Dispatcher.ResponseData['body']): void {
  raw.on('error', () => undefined);
  raw.destroy();
}

class StreamingBody implements ResponseBody {
  private failed: TransportFailure | undefined;
  private readonly capture: Buffer[] = [];
  private captureBytes = 0;
  private complete = false;
  private consumed = false;

  constructor(
    private readonly raw: Dispatcher.ResponseData['body'],
    private readonly encodings: string[],
    private readonly control: BodyControl,
  ) {}

  failure(): TransportFailure | undefined {
    return this.failed;
  }

  captured(): { text: string; complete: boolean } {
    return { text: Buffer.concat(this.capture).toString('utf8'), complete: this.complete };
  }

  private keep(chunk: Uint8Array): void {
    if (this.captureBytes >= CAPTURE_LIMIT) return;
    const part = chunk.subarray(0, CAPTURE_LIMIT - this.captureBytes);
    this.capture.push(Buffer.from(part));
    this.captureBytes += part.byteLength;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    if (this.consumed) throw new Error('response body already consumed');
    this.consumed = true;
    const max = this.control.options.maxResponseBytes;
    let total = 0;
    try {
      for await (const chunk of decompress(this.raw, this.encodings)) {
        total += chunk.byteLength;
        this.control.options.onBytes?.(chunk.byteLength);
        if (total > max) throw new BodyError(tooLargeFailure(max));
        this.keep(chunk);
        yield chunk;
      }
      this.complete = true;
    } catch (error) {
      this.failed = failureFromError(error, this.control.options, this.control.deadline);
      throw new BodyError(this.failed);
    } finally {
      if (!this.complete) destroyQuietly(this.raw);
      this.control.finish();
    }
  }

  async text(maxChars = Number.MAX_SAFE_INTEGER): Promise<string | TransportFailure> {
    const parts: Buffer[] = [];
    let length = 0;
    try {
      for await (const chunk of this) {
        if (length < maxChars * 4) parts.push(Buffer.from(chunk));
        length += chunk.byteLength;
      }
    } catch (error) {
      return error instanceof BodyError
        ? error.failure
        : failureFromError(error, this.control.options, this.control.deadline);
    }
    return Buffer.concat(parts).toString('utf8').slice(0, maxChars);
  }

  async dump(): Promise<void> {
    if (!this.consumed) {
      this.consumed = true;
      destroyQuietly(this.raw);
      this.control.finish();
    }
    return Promise.resolve();
  }
}

// ---------------------------------------------------------------------------------------------
// Request

function linkSignal(
  external: AbortSignal | undefined,
  controller: AbortController,
  deadline: Deadline,
): () => void {
  if (!external) return () => undefined;
  const onAbort = (): void => {
    deadline.fired ??= 'external';
    controller.abort(external.reason);
  };
  if (external.aborted) onAbort();
  else external.addEventListener('abort', onAbort, { once: true });
  return () => external.removeEventListener('abort', onAbort);
}

function requestHeaders(req: HttpRequest, options: TransportOptions): Record<string, string> {
  return {
    'user-agent': options.userAgent,
    'accept-encoding': 'gzip, deflate, br',
    ...Object.fromEntries(Object.entries(req.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
  };
}

function resolveLocation(location: string | undefined, base: string): string | undefined {
  if (!location) return undefined;
  try {
    return new URL(location, base).toString();
  } catch {
    return undefined;
  }
}

/**
 * Sends one request and returns the response with a streaming body, or a failure. The total timeout
 * keeps running while the body is read; consume the body or `dump()` it.
 */
export async function httpRequest(req: HttpRequest, options: TransportOptions): Promise<HttpResult> {
  const deadline: Deadline = { fired: undefined };
  const controller = new AbortController();
  const unlink = linkSignal(req.signal, controller, deadline);
  const timer = setTimeout(() => {
    deadline.fired ??= 'total';
    controller.abort(new Error('total timeout'));
  }, options.totalTimeoutMs);
  let finished = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    unlink();
  };
  const policy = options.hostPolicy ?? DEFAULT_HOST_POLICY;
  const dispatcher = dispatcherFor(options.connectTimeoutMs, policy);
  const headers = requestHeaders(req, options);
  let url = req.url;
  const maxRedirects = req.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  try {
    for (let hop = 0; ; hop += 1) {
      const target = url;
      const refusal = await precheck(policy, target);
      if (refusal) {
        finish();
        return hostDenied(refusal);
      }
      const response = await retryOnStaleSocket(
        () =>
          request(target, {
            method: req.method,
            headers,
            body: req.body,
            dispatcher,
            signal: controller.signal,
            headersTimeout: options.headersTimeoutMs,
            bodyTimeout: options.idleTimeoutMs,
          }),
        controller.signal,
      );
      const location = REDIRECT_STATUSES.has(response.statusCode)
        ? resolveLocation(headerValue(response.headers, 'location'), url)
        : undefined;
      if (location !== undefined && hop < maxRedirects) {
        await response.body.dump().catch(() => undefined);
        url = location;
        continue;
      }
      return toResponse(response, url, { options, deadline, finish });
    }
  } catch (error) {
    finish();
    return failureFromError(error, options, deadline);
  }
}

/**
 * The policy's verdict before any connection: literal addresses and denied names at once; through a proxy
 * (which resolves names itself) also every address the name resolves to here.
 */
async function precheck(policy: HostPolicy, url: string): Promise<string | undefined> {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return undefined; // undici reports the invalid URL
  }
  return hasProxyEnv() ? policy.checkResolved(host) : policy.checkHost(host);
}

/**
 * A kept-alive socket that the server closed just before it was reused fails before any byte of the
 * answer arrives (`UND_ERR_SOCKET` / `ECONNRESET`); nothing reached the provider's report generator, so
 * the request is sent once more, on a new connection. Failures after the answer began are not retried.
 */
async function retryOnStaleSocket(
  send: () => Promise<Dispatcher.ResponseData>,
  signal: AbortSignal,
): Promise<Dispatcher.ResponseData> {
  try {
    return await send();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (signal.aborted || (code !== 'UND_ERR_SOCKET' && code !== 'ECONNRESET')) throw error;
    return send();
  }
}

function toResponse(response: Dispatcher.ResponseData, url: string, control: BodyControl): HttpResponse {
  const declared = Number(headerValue(response.headers, 'content-length'));
  const encodings = contentEncodings(response.headers);
  const body = new StreamingBody(response.body, encodings, control);
  if (encodings.length === 0 && Number.isFinite(declared) && declared > control.options.maxResponseBytes) {
    // Known to be too large before reading: fail the body at once.
    void body.dump();
    return {
      kind: 'response',
      status: response.statusCode,
      statusText: statusTextOf(response),
      headers: response.headers,
      url,
      body: failedBody(tooLargeFailure(control.options.maxResponseBytes)),
    };
  }
  return {
    kind: 'response',
    status: response.statusCode,
    statusText: statusTextOf(response),
    headers: response.headers,
    url,
    body,
  };
}

function statusTextOf(response: Dispatcher.ResponseData): string {
  return response.statusText || STATUS_CODES[response.statusCode] || '';
}

function failedBody(failure: TransportFailure): ResponseBody {
  return {
    failure: () => failure,
    captured: () => ({ text: '', complete: false }),
    text: () => Promise.resolve(failure),
    dump: () => Promise.resolve(),
    [Symbol.asyncIterator]: async function* () {
      yield* [];
      throw new BodyError(failure);
    },
  };
}
