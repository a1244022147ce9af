/**
 * What a COUNTER 5 provider says about itself (counter-notes §1.3): `GET {base}/status` and
 * `GET {base}/reports` with the provider's credentials. Used before planning (skip the reports the
 * provider does not list) and by the provider check. Every message is scrubbed of the credentials.
 */
import { findExceptions, isWarningCode, primaryException } from '../counter/index.ts';
import { redactSecrets } from '../redact.ts';
import { httpRequest, isTransportFailure } from './transport.ts';
import type { FetchContext, TransportOptions } from './types.ts';
import { queryString, withQuery } from './url.ts';

/** What the provider answered; a field is absent when its answer said nothing about it. */
export interface ProviderOffer {
  /** Some answer came (any HTTP status); false when no connection or no complete answer. */
  reachable: boolean;
  /** false when an answer rejected the credentials (401, 403, 2000–2030); true when a list came. */
  credentialsAccepted?: boolean;
  /** `Service_Active` of `/status`. */
  serviceActive?: boolean;
  /** The report ids `/reports` lists, upper case; absent when the list failed or is not offered. */
  reportsOffered?: string[];
  /** The release the report list names (`5.1` or `5`). */
  releaseDetected?: string;
  /** What was found, one line each, for people. */
  messages: string[];
}

const CREDENTIAL_CODES = new Set([2000, 2010, 2020, 2030]);
const MAX_BODY_CHARS = 1024 * 1024;

/** Short timeouts: a look before planning must not hold a job for the long report timeouts. */
function probeTransport(t: TransportOptions): TransportOptions {
  return {
    ...t,
    headersTimeoutMs: Math.min(t.headersTimeoutMs, 30_000),
    idleTimeoutMs: Math.min(t.idleTimeoutMs, 30_000),
    totalTimeoutMs: Math.min(t.totalTimeoutMs, 60_000),
    maxResponseBytes: Math.min(t.maxResponseBytes, 8 * 1024 * 1024),
  };
}

type Answer =
  | { kind: 'none'; reason: string }
  | { kind: 'http'; status: number; statusText: string; body: unknown; text: string };

async function get(url: string, transport: TransportOptions, ctx: FetchContext): Promise<Answer> {
  const response = await httpRequest(
    { method: 'GET', url, headers: { accept: 'application/json' }, signal: ctx.signal },
    probeTransport(transport),
  );
  if (isTransportFailure(response)) return { kind: 'none', reason: response.reason };
  const text = await response.body.text(MAX_BODY_CHARS);
  if (typeof text !== 'string') return { kind: 'none', reason: text.reason };
  let body: unknown;
  try {
    body = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch {
    body = undefined;
  }
  return { kind: 'http', status: response.status, statusText: response.statusText, body, text };
}

/** The release a `Release` value names: `5.1` for 5.1.x, `5` for 5 and 5.0.x. */
function releaseOf(value: unknown): string | undefined {
  const text = typeof value === 'string' || typeof value === 'number' ? String(value).trim() : '';
  if (/^5\.1(\.|$)/.test(text)) return '5.1';
  if (/^5(\.0)?(\.|$)/.test(text)) return '5';
  return undefined;
}

function exceptionCode(body: unknown): { code?: number; text: string } {
  const primary = primaryException(findExceptions(body));
  if (!primary || isWarningCode(primary.code)) return { text: '' };
  return { code: primary.code, text: `${primary.code} ${primary.message ?? ''}`.trim() };
}

/** Reads the `/reports` answer into the offer. */
function readList(answer: Answer, offer: ProviderOffer): void {
  if (answer.kind === 'none') {
    offer.messages.push(`report list: no answer (${answer.reason})`);
    return;
  }
  offer.reachable = true;
  const exception = exceptionCode(answer.body);
  const rejected =
    answer.status === 401 ||
    answer.status === 403 ||
    (exception.code !== undefined && CREDENTIAL_CODES.has(exception.code));
  if (rejected) {
    offer.credentialsAccepted = false;
    offer.messages.push(
      `credentials rejected: HTTP ${answer.status}${exception.text ? `, exception ${exception.text}` : ''}`,
    );
    return;
  }
  if (answer.status < 200 || answer.status >= 300 || !Array.isArray(answer.body)) {
    const what = exception.text
      ? `exception ${exception.text}`
      : `HTTP ${answer.status} ${answer.statusText}`;
    offer.messages.push(`report list not available (${what}); every configured report is requested`);
    return;
  }
  const entries = answer.body.filter((e): e is Record<string, unknown> => !!e && typeof e === 'object');
  const ids = entries
    .map((e) => e.Report_ID ?? e.report_id)
    .filter((id): id is string => typeof id === 'string' && id.trim() !== '')
    .map((id) => id.trim().toUpperCase());
  offer.credentialsAccepted = true;
  offer.reportsOffered = [...new Set(ids)];
  const releases = new Set(entries.map((e) => releaseOf(e.Release)).filter((r) => r !== undefined));
  if (releases.size === 1) offer.releaseDetected = [...releases][0];
  offer.messages.push(`reports offered: ${offer.reportsOffered.join(', ') || 'none'}`);
  if (offer.releaseDetected) offer.messages.push(`release detected: ${offer.releaseDetected}`);
}

/** Reads the `/status` answer into the offer. */
function readStatus(answer: Answer, offer: ProviderOffer): void {
  if (answer.kind === 'none') {
    offer.messages.push(`status: no answer (${answer.reason})`);
    return;
  }
  offer.reachable = true;
  const entry = Array.isArray(answer.body) ? answer.body[0] : answer.body;
  const active =
    entry && typeof entry === 'object' ? (entry as Record<string, unknown>).Service_Active : undefined;
  if (answer.status >= 200 && answer.status < 300 && typeof active === 'boolean') {
    offer.serviceActive = active;
    offer.messages.push(active ? 'service active' : 'service not active (status says so)');
  } else offer.messages.push(`status not available (HTTP ${answer.status})`);
}

export interface ProbeTarget {
  /** `{base}` of `{base}/reports/{id}`. */
  base: string;
  /** Query parameters that identify the customer and the requestor (customer_id, api_key, ...). */
  query: Array<[string, string]>;
  secrets: readonly string[];
  transport: TransportOptions;
}

/** Asks `/reports`, and with `status` also `/status`. */
export async function probeProvider(
  target: ProbeTarget,
  opts: { status: boolean } & FetchContext,
): Promise<ProviderOffer> {
  const offer: ProviderOffer = { reachable: false, messages: [] };
  const query = queryString(target.query);
  const [list, status] = await Promise.all([
    get(withQuery(`${target.base}/reports`, query), target.transport, opts),
    opts.status ? get(withQuery(`${target.base}/status`, query), target.transport, opts) : undefined,
  ]);
  if (status) readStatus(status, offer);
  readList(list, offer);
  if (!offer.reachable) offer.messages.unshift('provider not reachable');
  offer.messages = offer.messages.map((m) => redactSecrets(m, target.secrets));
  return offer;
}
