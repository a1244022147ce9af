/** Building FetchFailure values and FOLIO's failedReason texts (folio-contract §7.9), always scrubbed (§8.6). */
import type { SushiException } from '../counter/index.ts';
import { redactSecrets } from '../redact.ts';
import { headerValue, parseRetryAfter, type ResponseHeaders, type TransportFailure } from './transport.ts';
import type { FailureCause, FetchFailure } from './types.ts';

export interface FailureFacts {
  httpStatus?: number;
  exceptions?: SushiException[];
  retryAfterMs?: number;
}

export function makeFailure(
  cause: FailureCause,
  reason: string,
  secrets: readonly string[],
  facts: FailureFacts = {},
): FetchFailure {
  const text = reason === '' ? 'Error' : reason;
  return {
    kind: 'failure',
    cause,
    ...(facts.httpStatus !== undefined && { httpStatus: facts.httpStatus }),
    exceptions: facts.exceptions ?? [],
    ...(facts.retryAfterMs !== undefined && { retryAfterMs: facts.retryAfterMs }),
    reason: redactSecrets(text, secrets),
  };
}

export function fromTransportFailure(
  failure: TransportFailure,
  secrets: readonly string[],
  facts: FailureFacts = {},
): FetchFailure {
  return makeFailure(failure.cause, failure.reason, secrets, facts);
}

/** `Retry-After` of a response, as facts for a failure. */
export function retryAfterFacts(headers: ResponseHeaders): FailureFacts {
  const retryAfterMs = parseRetryAfter(headerValue(headers, 'retry-after'));
  return retryAfterMs === undefined ? {} : { retryAfterMs };
}

const MAX_BODY_CHARS = 2000;

/** The body as FOLIO quotes it: at most 2000 characters (1997 + `...`), `[no body]` when empty. */
export function abbreviateBody(body: string): string {
  if (body === '') return '[no body]';
  return body.length > MAX_BODY_CHARS ? `${body.slice(0, MAX_BODY_CHARS - 3)}...` : body;
}

/** `HTTP <status>: <reason phrase> - <body>` (cs50, cs51). */
export function httpErrorReason(status: number, statusText: string, body: string): string {
  return `HTTP ${status}: ${statusText} - ${abbreviateBody(body)}`;
}

const SECRET_HEADERS = new Set(['authorization', 'cookie', 'set-cookie', 'proxy-authorization']);

/** Response headers as Java prints a `Map<String, List<String>>`: `{name=[v1, v2], ...}`. */
export function javaHeaderMap(headers: ResponseHeaders): string {
  const entries = Object.entries(headers)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => {
      const values = SECRET_HEADERS.has(name.toLowerCase())
        ? ['***']
        : Array.isArray(value)
          ? value
          : [String(value)];
      return `${name}=[${values.join(', ')}]`;
    });
  return `{${entries.join(', ')}}`;
}

/** `Report not valid: <message>` unless the message already says so. */
export function reportNotValid(message: string): string {
  return message.startsWith('Report not valid:') ? message : `Report not valid: ${message}`;
}
