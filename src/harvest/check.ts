/**
 * "Check this provider": bind it as a harvest would and ask its `/status` and `/reports` (COUNTER 5):
 * reachable, credentials accepted, reports offered (and which configured ones are not), release
 * detected. Nothing is stored. Every message is scrubbed of the provider's credentials.
 */
import type { ServiceContext } from '../context.ts';
import type { ErmStore } from '../erm/port.ts';
import { secrets } from '../log.ts';
import { redactSecrets } from '../redact.ts';
import type { ProviderOffer } from '../sushi/probe.ts';
import { Bindings, scrub } from './binding.ts';

export interface ProviderCheck extends ProviderOffer {
  providerId: string;
  label?: string;
  /** The implementation the provider is bound to (`cs51`, ...). */
  serviceType?: string;
  /** The release the provider is configured with. */
  releaseConfigured?: string;
  /** Whether the implementation can be checked (COUNTER 5 REST); COUNTER 4 and NSS cannot. */
  checked: boolean;
  /** Configured reports (`requestedReports`), upper case. */
  reportsRequested: string[];
  /** Configured reports the provider's list does not name (when there is a list). */
  reportsNotOffered?: string[];
}

export async function checkProvider(
  ctx: ServiceContext,
  erm: ErmStore,
  tenant: string,
  providerId: string,
  signal?: AbortSignal,
): Promise<ProviderCheck> {
  const provider = await erm.getProvider(tenant, providerId);
  secrets.addFromRecord(provider);
  const cfg = provider.harvestingConfig ?? {};
  const requested = Array.isArray(cfg.requestedReports)
    ? cfg.requestedReports.filter((r): r is string => typeof r === 'string').map((r) => r.toUpperCase())
    : [];
  const base = {
    providerId,
    label: provider.label,
    serviceType: cfg.sushiConfig?.serviceType,
    releaseConfigured: cfg.reportRelease === undefined ? undefined : String(cfg.reportRelease),
    reportsRequested: requested,
  };
  let binding;
  try {
    binding = await new Bindings(ctx, erm).bind(tenant, provider);
  } catch (err) {
    const message = redactSecrets((err as Error).message, [...secrets]);
    return { ...base, checked: false, reachable: false, messages: [`cannot be harvested: ${message}`] };
  }
  const probe = binding.endpoint.probe?.bind(binding.endpoint);
  if (!probe)
    return {
      ...base,
      checked: false,
      reachable: false,
      messages: ['not checked: the implementation has no report list (COUNTER 4, NSS)'],
    };
  const offer = await probe({ status: true, signal });
  const check: ProviderCheck = { ...base, ...offer, checked: true };
  if (offer.reportsOffered && offer.reportsOffered.length > 0) {
    const offered = new Set(offer.reportsOffered);
    check.reportsNotOffered = requested.filter((r) => !offered.has(r));
    if (check.reportsNotOffered.length > 0)
      check.messages.push(
        `configured but not offered (not requested by a harvest): ${check.reportsNotOffered.join(', ')}`,
      );
  }
  if (offer.releaseDetected && base.releaseConfigured && offer.releaseDetected !== base.releaseConfigured)
    check.messages.push(
      `release detected ${offer.releaseDetected} differs from the configured ${base.releaseConfigured}`,
    );
  check.messages = check.messages.map((m) => scrub(binding, m));
  return check;
}
