/**
 * The exception policy: one declarative table from the facts of a response (COUNTER exception code,
 * HTTP status, failure cause, whether report items came) to an action. The same table serves 5.0 and
 * 5.1 (and R4's Exception numbers). counter-notes §2.5–§2.7, folio-contract §8.1–§8.3.
 *
 * Besides the action, every other decision about a response is made here: the state and counting of
 * the months it leaves stored, how long a deferred or rate-limited request waits and when it gives up,
 * and the error a stopped run ends its job with. actions.ts carries the decisions out.
 */
import { primaryException, isWarningCode, type SushiException } from '../counter/index.ts';
import type { HarvestConfig } from '../config.ts';
import type { CounterReport } from '../model/records.ts';
import type { FailureCause, FetchResult } from '../sushi/types.ts';
import { notReadyState, type HarvestState } from './month-state.ts';

export type PolicyAction =
  /** Store the months of the data (warnings are kept in the stored header). */
  | 'store'
  /** Store the data and flag the months partial (3040). */
  | 'store-partial'
  /** Store each month of the item as harvested with no usage (3030, an empty report). */
  | 'store-empty'
  /**
   * Retry the same request later, not counted (1011 queued, 1010 busy, 1000 unavailable, 502/503/504,
   * the harvester's own storage failed).
   */
  | 'defer'
  /** Back off the whole endpoint (honouring Retry-After) and retry the same request (1020, 429). */
  | 'rate-limit'
  /** Credentials or configuration rejected: fail this item's months and stop the rest of the run. */
  | 'stop-job'
  /** The report is not supported: fail this item's months and skip the rest of this report. */
  | 'stop-report'
  /** Not ready (3031): uncounted failure, re-checked on a schedule of days. */
  | 'not-ready'
  /** No longer available (3032): terminal failure for these months. */
  | 'terminal'
  /** A counted failure of every month of the item; multi-month ranges are split first when `expand`. */
  | 'fail';

export interface PolicyDecision {
  action: PolicyAction;
  /** The code that decided (exception code, or the HTTP status as a pseudo-code when no exception). */
  code?: number;
  /** Split a multi-month range into single months before failing (invalid answers, too large). */
  expand?: boolean;
  /** Server-requested wait (Retry-After). */
  retryAfterMs?: number;
  /** Which row of the table matched, for logs and tests. */
  rule: string;
  /** A failure of the harvester itself (`local`): its deferral does not rest the provider's endpoint. */
  ownFault?: boolean;
}

interface Rule {
  name: string;
  codes?: readonly number[];
  statuses?: readonly number[];
  /** Failure causes that match whatever the code and status (a request the harvester refused itself). */
  causes?: readonly FailureCause[];
  action: PolicyAction;
  expand?: boolean;
  /** The harvester's own fault, not the provider's (see `PolicyDecision.ownFault`). */
  ownFault?: boolean;
}

/**
 * Exception code × HTTP status → action. A rule matches when the primary exception's code is in
 * `codes` OR the HTTP status is in `statuses` OR the failure cause is in `causes`; the first match wins,
 * so the order matters.
 */
export const EXCEPTION_POLICY: readonly Rule[] = [
  { name: 'provider address not allowed (host policy)', causes: ['host-denied'], action: 'stop-job' },
  { name: "harvester's own storage failed (local)", causes: ['local'], action: 'defer', ownFault: true },
  { name: 'rate limited (1020 / 429)', codes: [1020], statuses: [429], action: 'rate-limit' },
  { name: 'queued (1011)', codes: [1011], action: 'defer' },
  {
    name: 'busy or unavailable (1000, 1010 / 502, 503, 504)',
    codes: [1000, 1010],
    statuses: [502, 503, 504],
    action: 'defer',
  },
  {
    name: 'credentials rejected (2000, 2010, 2020, 2030 / 401, 403)',
    codes: [2000, 2010, 2020, 2030],
    statuses: [401, 403],
    action: 'stop-job',
  },
  { name: 'insufficient information (1030)', codes: [1030], action: 'stop-job' },
  { name: 'report or release not supported (3000, 3010)', codes: [3000, 3010], action: 'stop-report' },
  { name: 'global reports not supported (2011)', codes: [2011], action: 'terminal' },
  { name: 'no usage (3030)', codes: [3030], action: 'store-empty' },
  { name: 'not ready (3031)', codes: [3031], action: 'not-ready' },
  { name: 'no longer available (3032)', codes: [3032], action: 'terminal' },
  { name: 'invalid dates (3020)', codes: [3020], action: 'fail' },
];

function matchRule(
  code: number | undefined,
  status: number | undefined,
  cause?: FailureCause,
): Rule | undefined {
  return EXCEPTION_POLICY.find(
    (r) =>
      (cause !== undefined && r.causes?.includes(cause)) ||
      (code !== undefined && r.codes?.includes(code)) ||
      (status !== undefined && r.statuses?.includes(status)),
  );
}

function decisionFor(
  rule: Rule,
  code: number | undefined,
  status: number | undefined,
  retryAfterMs?: number,
): PolicyDecision {
  return {
    action: rule.action,
    code: code ?? status,
    expand: rule.expand,
    retryAfterMs,
    rule: rule.name,
    ...(rule.ownFault && { ownFault: true }),
  };
}

/** Exceptions that came with data: 3040 flags partial, everything informational is kept. */
function decideData(
  exceptions: readonly SushiException[],
  itemCount: number,
  status: number,
): PolicyDecision {
  if (itemCount > 0) {
    if (exceptions.some((e) => e.code === 3040))
      return { action: 'store-partial', code: 3040, rule: 'partial data (3040)' };
    return { action: 'store', rule: exceptions.length > 0 ? 'data with exceptions kept' : 'data' };
  }
  // No items: only a warning-only (or no) exception list is a plain empty report.
  const primary = primaryException(exceptions);
  if (primary && !isWarningCode(primary.code)) {
    const rule = matchRule(primary.code, undefined);
    if (rule) return decisionFor(rule, primary.code, undefined);
    return { action: 'fail', code: primary.code, expand: true, rule: 'unknown exception without data' };
  }
  if (status === 202) return { action: 'defer', code: 1011, rule: 'HTTP 202 without data (queued)' };
  return { action: 'store', rule: 'empty report' };
}

export function decide(result: FetchResult): PolicyDecision {
  if (result.kind === 'data')
    return decideData(result.data.exceptions, result.data.itemCount, result.httpStatus);
  const primary = primaryException(result.exceptions);
  const code = primary && !isWarningCode(primary.code) ? primary.code : undefined;
  const status = result.cause === 'http' ? result.httpStatus : undefined;
  const rule =
    matchRule(code, status, result.cause) ??
    (result.httpStatus === 202 ? matchRule(1011, undefined) : undefined);
  if (rule)
    return decisionFor(
      rule,
      code ?? (result.httpStatus === 202 ? 1011 : undefined),
      status,
      result.retryAfterMs,
    );
  switch (result.cause) {
    case 'unsupported':
      return { action: 'stop-report', rule: 'unsupported report type' };
    case 'invalid':
    case 'too-large':
      return { action: 'fail', expand: true, code, rule: `invalid answer (${result.cause})` };
    case 'exception':
      return { action: 'fail', expand: true, code, rule: 'exception without data' };
    default:
      return { action: 'fail', expand: false, code: code ?? status, rule: `${result.cause} failure` };
  }
}

// -------------------------------------------------------------------------------------------------
// What a decision means for the months, the retries and the job

/** The state stored with the months of a data answer (none for plain data). */
export function storedState(decision: PolicyDecision): HarvestState | undefined {
  if (decision.action === 'store-partial') return { state: 'partial', code: 3040 };
  if (decision.action === 'store-empty') return { state: 'empty', code: decision.code ?? 3030 };
  return undefined;
}

/** How the months of a failed request are recorded: whether the failure counts, and in which state. */
export interface MonthFailure {
  /** counted: +1; uncounted: keep the existing count; terminal: at least `maxFailedAttempts`. */
  counting: 'counted' | 'uncounted' | 'terminal';
  state(existing: CounterReport | undefined, now: number): HarvestState;
}

/**
 * The months' failure for a decision that ends a request without data: not ready (re-checked on a
 * schedule of days), no longer available, a deferral whose budget ran out (not counted), rate-limit
 * retries exhausted, or a counted failure (`fail`, `stop-job`, `stop-report`).
 */
export function monthFailure(decision: PolicyDecision): MonthFailure {
  const code = decision.code;
  switch (decision.action) {
    case 'not-ready':
      return { counting: 'uncounted', state: (existing, now) => notReadyState(existing, now) };
    case 'terminal':
      return { counting: 'terminal', state: () => ({ state: 'unavailable', code }) };
    case 'defer':
      return { counting: 'uncounted', state: () => ({ state: 'deferred_timeout', code }) };
    case 'rate-limit':
      // Only an endpoint that answered nothing but rate limits for the deferral budget gets here.
      return { counting: 'uncounted', state: () => ({ state: 'deferred_timeout', code: 1020 }) };
    default:
      return { counting: 'counted', state: () => ({ state: 'failed', code }) };
  }
}

/**
 * Requested months a data answer left out: when its exceptions name them not ready (3031) they are
 * recorded as not ready and wait for the re-check; otherwise nothing is recorded (planned again).
 */
export function leftOutMonths(
  exceptions: readonly SushiException[],
): { exception: SushiException; failure: MonthFailure } | undefined {
  const exception = exceptions.find((e) => e.code === 3031);
  return exception && { exception, failure: monthFailure({ action: 'not-ready', rule: 'left out' }) };
}

// -------------------------------------------------------------------------------------------------
// What an answer does to a month that is already stored (re-harvest window, "harvest again")

/** A record that holds a harvested month (data or a confirmed empty month), not a failure. */
export function isStoredSuccess(record: CounterReport | undefined): boolean {
  return (
    record !== undefined &&
    (record.failedAttempts === undefined || record.failedAttempts === null) &&
    (record.failedReason === undefined || record.failedReason === null)
  );
}

export type Replacement =
  /** Nothing stored yet, or a failure stored: write. */
  | 'write'
  /** The same items as stored: leave the record as it is. */
  | 'unchanged'
  /** Other items than stored (a restatement): write and record the change. */
  | 'restated'
  /** Stored without a hash (before hashes were kept): write, nothing to compare. */
  | 'rewrite'
  /** Stored usage is kept: an answer with no usage never empties a month that has usage. */
  | 'keep';

/**
 * What a successful answer for a month does to the stored record. A failure never replaces a stored
 * month (see `failureReplaces`).
 */
export function replacement(
  existing: CounterReport | undefined,
  incoming: { contentHash?: string; itemCount?: number },
): Replacement {
  if (!isStoredSuccess(existing)) return 'write';
  const storedItems = Number(existing?.itemCount);
  if (incoming.itemCount === 0 && storedItems > 0) return 'keep';
  const previous = existing?.contentHash;
  if (typeof previous !== 'string' || incoming.contentHash === undefined) return 'rewrite';
  return previous === incoming.contentHash ? 'unchanged' : 'restated';
}

/** A failed request of a stored month (re-harvest) leaves the month as it was. */
export function failureReplaces(existing: CounterReport | undefined): boolean {
  return !isStoredSuccess(existing);
}

/** The limits of retries, from the harvest configuration. */
export type RetryLimits = Pick<
  HarvestConfig,
  'deferQueuedMs' | 'deferBusyMs' | 'maxDeferrals' | 'deferBudgetMs' | 'maxRetryAfterMs'
>;

/** A deferred request: given up (its months recorded with `monthFailure`), or retried later. */
export type Deferral =
  | { exhausted: true }
  | {
      exhausted: false;
      /** Deferrals of the request including this one. */
      deferrals: number;
      firstDeferredAt: number;
      /** The request waits this long. */
      delayMs: number;
      /** The endpoint rests this long beyond its spacing. */
      endpointRestMs: number;
    };

/**
 * The next deferral of a request (`defer`): a queued report (1011, 202) is asked again after 1, 1, 2,
 * 3, 6 × `deferQueuedMs`, a busy or unavailable service (and a request the harvester's own storage
 * failed) after `deferBusyMs` doubled each time, never sooner than the server's (capped) Retry-After;
 * given up after `maxDeferrals` or `deferBudgetMs`. Only a busy or unavailable service rests as a whole.
 */
export function deferral(
  decision: PolicyDecision,
  item: { deferrals: number; firstDeferredAt?: number },
  now: number,
  limits: RetryLimits,
): Deferral {
  const deferrals = item.deferrals + 1;
  const firstDeferredAt = item.firstDeferredAt ?? now;
  if (deferrals > limits.maxDeferrals || now - firstDeferredAt > limits.deferBudgetMs)
    return { exhausted: true };
  const queued = decision.code === 1011 || decision.code === 202;
  const base = queued ? limits.deferQueuedMs : limits.deferBusyMs;
  const growth = queued ? [1, 1, 2, 3, 6][Math.min(deferrals - 1, 4)] : 2 ** (deferrals - 1);
  const retryAfter = Math.min(decision.retryAfterMs ?? 0, limits.maxRetryAfterMs);
  const delayMs = Math.max(base * growth, retryAfter);
  // A busy or unavailable service rests as a whole; a queued report does not block other requests, nor
  // does a request the harvester failed itself.
  const rests = !queued && !decision.ownFault;
  return { exhausted: false, deferrals, firstDeferredAt, delayMs, endpointRestMs: rests ? delayMs : 0 };
}

/**
 * How an answer changes its endpoint's pace (src/harvest/pace.ts): a rate limit slows it down; data (or
 * an empty report) speeds it up again; any other answer only shows that the endpoint still answers; no
 * answer at all (transport failure, a request refused before it was sent) changes nothing.
 */
export type PaceSignal = 'slower' | 'faster' | 'answered' | 'none';

export function paceSignal(result: FetchResult, decision: PolicyDecision): PaceSignal {
  if (decision.action === 'rate-limit') return 'slower';
  if (result.kind === 'data' || decision.action.startsWith('store')) return 'faster';
  if (result.cause === 'transport' || result.cause === 'unsupported' || result.cause === 'host-denied')
    return 'none';
  return 'answered';
}

/**
 * A rate-limited request (429, 1020) waits for the server's (capped) Retry-After and at least the
 * endpoint's paced spacing, and is not counted: it is given up only when its endpoint has answered
 * nothing but rate limits for the whole deferral budget (`limitedSince`), and then its months are
 * recorded as deferred, not failed (`monthFailure`). The endpoint rests as long as the request waits.
 */
export function rateLimitWait(
  decision: PolicyDecision,
  pace: { intervalMs: number; limitedSince?: number },
  now: number,
  limits: RetryLimits,
): { waitMs: number; exhausted: boolean } {
  const retryAfter = Math.min(decision.retryAfterMs ?? 0, limits.maxRetryAfterMs);
  const waitMs = Math.max(retryAfter, pace.intervalMs);
  const starvedMs = now - (pace.limitedSince ?? now);
  return { waitMs, exhausted: starvedMs >= limits.deferBudgetMs && starvedMs > 0 };
}

/** COUNTER codes and HTTP statuses that say the credentials were rejected. */
const CREDENTIAL_CODES = new Set([2000, 2010, 2020, 2030, 401, 403]);

/** The error name a `stop-job` decision ends its job with (the first part of the JobInfo errorMessage). */
export function stopJobError(decision: PolicyDecision): 'CredentialsRejected' | 'ConfigurationError' {
  return decision.code !== undefined && CREDENTIAL_CODES.has(decision.code)
    ? 'CredentialsRejected'
    : 'ConfigurationError';
}
