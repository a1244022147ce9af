/**
 * The adaptive pace of each endpoint, shared by every process through `harvester.endpoint_pace`
 * (store/sql/endpoint-pace.ts). README "How a harvest treats what providers answer", counter-notes §4.7.
 *
 * - A rate limit (429, 1020) slows the endpoint down: the spacing it adds to the endpoint's own doubles
 *   (at least `paceStepMs`, at most `paceMaxMs`), and the endpoint takes no request before the server's
 *   Retry-After (capped) and this spacing have passed.
 * - Each answer with data speeds it up again gradually: the added spacing keeps `paceRecoveryPercent`
 *   of itself, and is dropped once below a quarter of `paceStepMs`.
 * - While an endpoint answers anything but rate limits it is not starved; only when it has answered
 *   nothing but rate limits for the deferral budget are its requests given up (policy.ts `rateLimitWait`).
 *   A rate limit more than the budget after the previous one (a later run) starts a new period.
 */
import type { HarvestConfig } from '../config.ts';
import type { Db } from '../store/db.ts';
import { changePace, getPace, type EndpointPace } from '../store/sql/endpoint-pace.ts';
import type { FetchResult } from '../sushi/types.ts';
import { paceSignal, rateLimitWait, type PaceSignal, type PolicyDecision } from './policy.ts';

export type PaceRules = Pick<
  HarvestConfig,
  'paceStepMs' | 'paceMaxMs' | 'paceRecoveryPercent' | 'deferBudgetMs'
>;

/** The pace after an answer of the given kind. */
export function nextPace(
  current: EndpointPace,
  signal: PaceSignal,
  now: number,
  rules: PaceRules,
): EndpointPace {
  switch (signal) {
    case 'slower': {
      // A rate limit long after the last one (a later run) starts a new period of nothing but rate limits.
      const continues = current.lastLimitAt !== undefined && now - current.lastLimitAt <= rules.deferBudgetMs;
      return {
        ...current,
        intervalMs: Math.min(rules.paceMaxMs, Math.max(rules.paceStepMs, current.intervalMs * 2)),
        limitedSince: (continues ? current.limitedSince : undefined) ?? now,
        lastLimitAt: now,
        rateLimits: current.rateLimits + 1,
      };
    }
    case 'faster': {
      const kept = Math.floor((current.intervalMs * rules.paceRecoveryPercent) / 100);
      return {
        ...current,
        intervalMs: kept < rules.paceStepMs / 4 ? 0 : kept,
        limitedSince: undefined,
        lastAnswerAt: now,
      };
    }
    case 'answered':
      return { ...current, limitedSince: undefined, lastAnswerAt: now };
    case 'none':
      return current;
  }
}

/** The endpoint's pace after one answer, and how long the endpoint must rest after it. */
export interface PaceAfterAnswer extends EndpointPace {
  /** Rest of the endpoint beyond its own spacing: the Retry-After (capped) and the paced spacing. */
  restMs: number;
}

export class EndpointPaces {
  constructor(
    private readonly db: Db,
    private readonly config: HarvestConfig,
  ) {}

  /**
   * Records what the endpoint answered; returns its new pace. `claimed`: the pace as the claim of the
   * request read it, when nothing else can have changed it since (the endpoint takes one request at a
   * time).
   */
  async record(
    endpoint: string,
    result: FetchResult,
    decision: PolicyDecision,
    now: number,
    claimed?: EndpointPace,
  ): Promise<PaceAfterAnswer> {
    const signal = paceSignal(result, decision);
    if (signal !== 'slower') {
      // The common case, an endpoint that is not slowed down: nothing to change (read with the claim).
      const current = claimed ?? (await getPace(this.db, endpoint));
      if (current.intervalMs === 0 && current.limitedSince === undefined) return { ...current, restMs: 0 };
    }
    const pace = await changePace(
      this.db,
      endpoint,
      now,
      (current) => nextPace(current, signal, now, this.config),
      signal === 'slower',
    );
    const restMs =
      signal === 'slower' ? rateLimitWait(decision, pace, now, this.config).waitMs : pace.intervalMs;
    return { ...pace, restMs };
  }
}
