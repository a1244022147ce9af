/**
 * The service implementations by `serviceType` (exact, case-sensitive; folio-contract §7.1 step 2) and their
 * `/impl` listing (folio-contract §2.3).
 */
import type { AggregatorSetting, UsageDataProvider } from '../model/records.ts';
import { cs41 } from './cs41.ts';
import { cs50 } from './cs50.ts';
import { cs51 } from './cs51.ts';
import { nss } from './nss.ts';
import {
  EndpointInitError,
  type ImplementationOptions,
  type ServiceEndpoint,
  type ServiceImplementation,
  type ServiceImplementationInfo,
  type TransportOptions,
} from './types.ts';

export const SERVICE_IMPLEMENTATIONS: ReadonlyMap<string, ServiceImplementation> = new Map([
  ['cs50', cs50],
  ['cs51', cs51],
  ['cs41', cs41],
  ['NSS', nss],
]);

export const NO_IMPLEMENTATION = 'No service implementation available';

/** Plain code-point (UTF-16 code unit) order. */
export function codeUnitCompare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The `/impl` entry: schema field order, optional fields only when they carry information. */
export function renderInfo(info: ServiceImplementationInfo): ServiceImplementationInfo {
  return {
    name: info.name,
    ...(info.description ? { description: info.description } : {}),
    type: info.type,
    isAggregator: info.isAggregator,
    ...(info.isDefault === true ? { isDefault: true } : {}),
    ...(info.reportRelease ? { reportRelease: info.reportRelease } : {}),
    ...(info.supportedReports && info.supportedReports.length > 0
      ? { supportedReports: [...info.supportedReports].sort(codeUnitCompare) }
      : {}),
    ...(info.configurationParameters && info.configurationParameters.length > 0
      ? { configurationParameters: [...info.configurationParameters] }
      : {}),
  };
}

/** The `implementations` of `/impl`, filtered by `isAggregator` when given, sorted by name. */
export function listImplementations(
  options: ImplementationOptions,
  filter: { aggregator?: boolean } = {},
  implementations: ReadonlyMap<string, ServiceImplementation> = SERVICE_IMPLEMENTATIONS,
): ServiceImplementationInfo[] {
  return [...implementations.values()]
    .map((impl) => renderInfo(impl.info(options)))
    .filter((info) => filter.aggregator === undefined || info.isAggregator === filter.aggregator)
    .sort((a, b) => codeUnitCompare(a.name, b.name));
}

/**
 * The `serviceType` a provider is harvested with: the aggregator's when `harvestVia` is `aggregator`
 * and an aggregator id is set, otherwise `sushiConfig.serviceType`.
 */
export function serviceTypeOf(
  provider: UsageDataProvider,
  aggregator: AggregatorSetting | undefined,
): string | undefined {
  const config = provider.harvestingConfig;
  if (config?.harvestVia === 'aggregator' && config.aggregator?.id) return aggregator?.serviceType;
  return config?.sushiConfig?.serviceType;
}

export function findImplementation(
  provider: UsageDataProvider,
  aggregator: AggregatorSetting | undefined,
  implementations: ReadonlyMap<string, ServiceImplementation> = SERVICE_IMPLEMENTATIONS,
): ServiceImplementation | undefined {
  const type = serviceTypeOf(provider, aggregator);
  return type ? implementations.get(type) : undefined;
}

/**
 * Binds the provider's implementation. Throws EndpointInitError: `No service implementation available`,
 * `Invalid Service URL: <url>`, a missing required value, ...
 */
export function createEndpoint(
  provider: UsageDataProvider,
  aggregator: AggregatorSetting | undefined,
  transport: TransportOptions,
  options: ImplementationOptions,
  implementations: ReadonlyMap<string, ServiceImplementation> = SERVICE_IMPLEMENTATIONS,
): ServiceEndpoint {
  const implementation = findImplementation(provider, aggregator, implementations);
  if (!implementation) throw new EndpointInitError(NO_IMPLEMENTATION);
  return implementation.create(provider, aggregator, transport, options);
}
