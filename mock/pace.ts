/**
 * Rate-limiting providers (docs/counter-notes.md §4.7), for the adaptive pace of the harvest:
 *
 * | scenario                  | report requests                                                      |
 * |---------------------------|----------------------------------------------------------------------|
 * | `alternate[:secs[:date]]` | every other one (the 1st, 3rd, …): 429 + naked 1020 + `Retry-After`  |
 * |                           | secs (default 1), as an HTTP date with `date`; the others `ok`       |
 * | `bucket:N[:secs[:1020]]`  | a token bucket of N requests refilled at N per secs (default 60):    |
 * |                           | beyond it 429 + 1020 + `Retry-After` (seconds to the next token,     |
 * |                           | rounded up); with `1020`: 200 + header Exceptions [1020], no items,  |
 * |                           | no `Retry-After`                                                     |
 * | `only429[:secs]`          | always 429 + 1020 + `Retry-After` secs (default 1)                   |
 *
 * State is per endpoint key and forgotten by `reset()`. Each rate-limited answer records in
 * `notBefore` the earliest time its Retry-After allows the next request (epoch ms).
 */
import { performance } from 'node:perf_hooks';
import { counterException, type MockRelease } from './exceptions.ts';
import { sendJson } from './respond.ts';
import { nextAttempt, numberParam, type Ctx } from './scenarios.ts';

function now(): number {
  return performance.timeOrigin + performance.now();
}

/** Answers 429 with 1020 and a Retry-After of `seconds` (or that time as an HTTP date). */
function tooMany(ctx: Ctx, release: MockRelease, seconds: number, asDate = false): void {
  const at = now();
  let header: string;
  let notBefore: number;
  if (asDate) {
    // HTTP dates have whole seconds: the next whole second at or after the wanted time.
    notBefore = Math.ceil((at + seconds * 1000) / 1000) * 1000;
    header = new Date(notBefore).toUTCString();
  } else {
    notBefore = at + seconds * 1000;
    header = String(seconds);
  }
  ctx.record.notBefore = notBefore;
  const data = `Too many requests; retry after ${header}`;
  sendJson(ctx.res, 429, counterException(1020, release, data), { 'Retry-After': header });
}

function alternate(ctx: Ctx, release: MockRelease): boolean {
  const attempt = nextAttempt(ctx.state, `${ctx.endpoint.key}|alternate`);
  if (attempt % 2 === 0) return false;
  tooMany(ctx, release, numberParam(ctx.endpoint, 0, 1), ctx.endpoint.params[1] === 'date');
  return true;
}

/** Takes a token of the endpoint's bucket; undefined when taken, else ms until the next token. */
function takeToken(ctx: Ctx, size: number, windowMs: number): number | undefined {
  const { counters } = ctx.state;
  const tokensKey = `${ctx.endpoint.key}|bucket|tokens`;
  const atKey = `${ctx.endpoint.key}|bucket|at`;
  const t = now();
  const msPerToken = windowMs / size;
  const last = counters.get(atKey) ?? t;
  const tokens = Math.min(size, (counters.get(tokensKey) ?? size) + (t - last) / msPerToken);
  counters.set(atKey, t);
  if (tokens >= 1) {
    counters.set(tokensKey, tokens - 1);
    return undefined;
  }
  counters.set(tokensKey, tokens);
  return (1 - tokens) * msPerToken;
}

function bucket(ctx: Ctx, release: MockRelease): boolean {
  const size = Math.max(1, numberParam(ctx.endpoint, 0, 1));
  const windowMs = numberParam(ctx.endpoint, 1, 60) * 1000;
  const waitMs = takeToken(ctx, size, windowMs);
  if (waitMs === undefined) return false;
  if (ctx.endpoint.params[2] === '1020') {
    const exception = counterException(1020, release, `This server allows ${size} requests per window`);
    sendJson(ctx.res, 200, {
      Report_Header: { Release: release, Exceptions: [exception] },
      Report_Items: [],
    });
    return true;
  }
  tooMany(ctx, release, Math.ceil(waitMs / 1000));
  return true;
}

/**
 * Answers a report request as the endpoint's rate-limiting scenario says; false when the request is to
 * be served as `ok` (or the scenario is not one of these).
 */
export function paceAnswer(ctx: Ctx, release: MockRelease): boolean {
  switch (ctx.endpoint.name) {
    case 'alternate':
      return alternate(ctx, release);
    case 'bucket':
      return bucket(ctx, release);
    case 'only429':
      tooMany(ctx, release, numberParam(ctx.endpoint, 0, 1));
      return true;
    default:
      return false;
  }
}
