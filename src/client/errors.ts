import type { RmbErrors } from './types.ts';

/** Base class of everything the client throws on purpose. */
export class HarvesterClientError extends Error {
  override name = 'HarvesterClientError';
}

/**
 * The service answered with a status the endpoint does not define as success. `message` is the server's
 * text: the body of a `text/plain` answer, or `errors[0].message` of an RMB errors JSON (422).
 */
export class HarvesterApiError extends HarvesterClientError {
  override name = 'HarvesterApiError';
  /** The parsed RMB errors document when the body was one. */
  readonly errors?: RmbErrors;

  constructor(
    readonly status: number,
    readonly body: string,
    readonly method: string,
    readonly path: string,
    statusText = '',
  ) {
    const parsed = parseRmbErrors(body);
    super(serverMessage(body, parsed) ?? fallbackMessage(status, statusText));
    if (parsed) this.errors = parsed;
  }
}

/** The service could not be reached at all (refused, unknown host, reset, timeout). */
export class HarvesterConnectionError extends HarvesterClientError {
  override name = 'HarvesterConnectionError';
  constructor(
    readonly baseUrl: string,
    override readonly cause: unknown,
  ) {
    super(`cannot reach the service at ${baseUrl}: ${causeText(cause)}`);
  }

  /** The low-level error code, e.g. `ECONNREFUSED`, when known. */
  get code(): string | undefined {
    return errorCode(this.cause);
  }
}

/** A tenant operation (`POST /_/tenant`) completed with an error, or did not complete in time. */
export class TenantOperationError extends HarvesterClientError {
  override name = 'TenantOperationError';
}

/** `waitForJobs` gave up before the jobs finished. */
export class WaitTimeoutError extends HarvesterClientError {
  override name = 'WaitTimeoutError';
}

function parseRmbErrors(body: string): RmbErrors | undefined {
  if (!body.trimStart().startsWith('{')) return undefined;
  try {
    const json: unknown = JSON.parse(body);
    if (isRmbErrors(json)) return json;
  } catch {
    // not JSON: the text itself is the message
  }
  return undefined;
}

function isRmbErrors(json: unknown): json is RmbErrors {
  if (typeof json !== 'object' || json === null) return false;
  const errors = (json as { errors?: unknown }).errors;
  return (
    Array.isArray(errors) &&
    errors.length > 0 &&
    typeof (errors[0] as { message?: unknown } | null)?.message === 'string'
  );
}

function serverMessage(body: string, parsed: RmbErrors | undefined): string | undefined {
  if (parsed) return parsed.errors[0].message;
  const text = body.trim();
  return text === '' ? undefined : text;
}

function fallbackMessage(status: number, statusText: string): string {
  return `HTTP ${status}${statusText ? ` ${statusText}` : ''}`;
}

function errorCode(err: unknown): string | undefined {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

function causeText(err: unknown): string {
  const code = errorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND') return 'host not found';
  return code && !message.includes(code) ? `${message} (${code})` : message;
}
