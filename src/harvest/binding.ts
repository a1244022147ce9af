/**
 * A provider bound to its service implementation (its own, or its aggregator's) together with the tenant's
 * `max_failed_attempts`: what every request of its job needs. Bindings are kept per job, reloaded after
 * a while or by a process that did not plan the job.
 */
import { ITEMS_HELD_PER_SLOT } from './context.ts';
import type { HarvestConfig } from '../config.ts';
import type { ServiceContext } from '../context.ts';
import type { ErmStore } from '../erm/port.ts';
import type { AggregatorSetting, UsageDataProvider } from '../model/records.ts';
import type { Logger } from '../log.ts';
import { secrets } from '../log.ts';
import { redactSecrets } from '../redact.ts';
import type { ClaimedItem } from '../store/sql/work-items.ts';
import { missingCredentials } from '../registry/index.ts';
import { createEndpoint } from '../sushi/registry.ts';
import { EndpointInitError } from '../sushi/types.ts';
import type { ServiceEndpoint, TransportOptions } from '../sushi/types.ts';
import { parseIntSetting } from '../tenant-settings.ts';
import { memoryBudgets } from '../memory-budget.ts';

/** A failure that ends a provider job; `name` becomes the first part of the JobInfo errorMessage. */
class HarvestRunError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

export interface ProviderBinding {
  tenant: string;
  provider: UsageDataProvider;
  aggregator?: AggregatorSetting;
  endpoint: ServiceEndpoint;
  maxFailedAttempts: number;
  loadedAt: number;
}

const BINDING_TTL_MS = 10 * 60_000;

/** `text` without the binding's credentials or any other secret the process has seen. */
export function scrub(binding: ProviderBinding, text: string): string {
  return redactSecrets(text, [...binding.endpoint.secrets, ...secrets]);
}

/** How requests to providers are made (timeouts, size limit, user agent, host policy). */
export function transportOptions(c: HarvestConfig): TransportOptions {
  return {
    connectTimeoutMs: c.connectTimeoutMs,
    headersTimeoutMs: c.headersTimeoutMs,
    idleTimeoutMs: c.idleTimeoutMs,
    totalTimeoutMs: c.totalTimeoutMs,
    maxResponseBytes: c.maxResponseBytes,
    userAgent: c.userAgent,
    hostPolicy: c.providerHosts,
  };
}

export class Bindings {
  private readonly byJob = new Map<string, ProviderBinding>();

  constructor(
    private readonly ctx: ServiceContext,
    private readonly erm: ErmStore,
  ) {}

  private now(): number {
    return this.ctx.clock.now();
  }

  private transport(): TransportOptions {
    return {
      ...transportOptions(this.ctx.config.harvest),
      onBytes: (n: number) => this.ctx.metrics.sushiBytes.inc(n),
    };
  }

  /** Loads the aggregator when the provider harvests through one, picks the implementation, builds the endpoint. */
  async bind(tenant: string, provider: UsageDataProvider): Promise<ProviderBinding> {
    const cfg = provider.harvestingConfig ?? {};
    let aggregator: AggregatorSetting | undefined;
    const aggregatorId = cfg.aggregator?.id;
    if (cfg.harvestVia === 'aggregator' && aggregatorId) {
      try {
        aggregator = await this.erm.getAggregator(tenant, aggregatorId);
      } catch (err) {
        throw new HarvestRunError(
          'AggregatorError',
          `Failed getting AggregatorSetting for id ${aggregatorId}: ${(err as Error).message}`,
        );
      }
      secrets.addFromRecord(aggregator);
    }
    // A provider made from the COUNTER Registry is not asked for reports while it lacks a credential
    // the registry lists as required: such requests could only end in exceptions 2000-2020.
    const lacking = cfg.harvestVia === 'aggregator' ? [] : missingCredentials(provider);
    if (lacking.length > 0)
      throw new EndpointInitError(
        `${lacking.join(', ')} ${lacking.length === 1 ? 'is' : 'are'} missing (the COUNTER Registry lists ` +
          `${lacking.length === 1 ? 'it' : 'them'} as required for this service)`,
      );
    const endpoint = createEndpoint(provider, aggregator, this.transport(), {
      enableStandardViews: this.ctx.config.harvest.enableStandardViews,
      // Up to REQUEST_CONCURRENCY responses are split at once and as many more are being stored
      // (item-workers.ts); they share the splitter's part of the bound.
      splitterBucketBytes: memoryBudgets().splitterBucketBytes(
        this.ctx.config.harvest.requestConcurrency * ITEMS_HELD_PER_SLOT,
      ),
    });
    for (const s of endpoint.secrets) secrets.add(s);
    return {
      tenant,
      provider,
      aggregator,
      endpoint,
      maxFailedAttempts: this.ctx.config.maxFailedAttempts,
      loadedAt: this.now(),
    };
  }

  /** The tenant setting `max_failed_attempts`; the configured default when it is missing or unusable. */
  maxFailedAttempts(tenant: string, log: Logger): Promise<number> {
    return this.intSetting(tenant, 'max_failed_attempts', this.ctx.config.maxFailedAttempts, log);
  }

  /** The tenant setting `reharvest_months` (the re-harvest window); HARVESTER_REHARVEST_MONTHS else. */
  async reharvestMonths(tenant: string, log: Logger): Promise<number> {
    const n = await this.intSetting(tenant, 'reharvest_months', this.ctx.config.harvest.reharvestMonths, log);
    return Math.max(0, n);
  }

  private async intSetting(tenant: string, key: string, dflt: number, log: Logger): Promise<number> {
    try {
      const value = await this.erm.getSetting(tenant, key);
      if (value === undefined || value === null) return dflt;
      const parsed = parseIntSetting(value);
      if (parsed === undefined) {
        log.warn({ value }, `${key} is not an integer; using the default`);
        return dflt;
      }
      log.info({ event: 'config' }, `Using config value ${key}=${parsed}`);
      return parsed;
    } catch (err) {
      log.warn({ err: (err as Error).message }, `Failed getting settings value ${key}; using the default`);
      return dflt;
    }
  }

  /** Keeps the binding for the requests of job `jobId`. */
  remember(jobId: string, binding: ProviderBinding): void {
    this.byJob.set(jobId, binding);
  }

  forget(jobId: string): void {
    this.byJob.delete(jobId);
  }

  /** The binding of the item's job: the kept one while fresh, else loaded and bound again. */
  async forItem(item: ClaimedItem): Promise<ProviderBinding> {
    const cached = this.byJob.get(item.jobId);
    if (cached && this.now() - cached.loadedAt < BINDING_TTL_MS) return cached;
    const provider = await this.erm.getProvider(item.tenant, item.providerId);
    secrets.addFromRecord(provider);
    const binding = await this.bind(item.tenant, provider);
    binding.maxFailedAttempts = await this.maxFailedAttempts(item.tenant, this.ctx.log);
    this.remember(item.jobId, binding);
    return binding;
  }
}
