/** `cs51`: COUNTER 5.1 REST/JSON, the default implementation (folio-contract §7.10.2). */
import type { MasterReportId } from '../counter/index.ts';
import type { UsageDataProvider } from '../model/records.ts';
import { reportsOffered } from './cs50.ts';
import { createRestEndpoint, isMasterReportId, type RestFlavour } from './rest.ts';
import type { ImplementationOptions, ServiceImplementation, ServiceImplementationInfo } from './types.ts';
import { r51Base } from './url.ts';

/** Java: `reportName` upper-cased must be TR, PR, DR or IR. */
function masterReport(reportName: string): MasterReportId | undefined {
  const id = reportName.toUpperCase();
  return isMasterReportId(id) ? id : undefined;
}

/** Java requires customerId, reportRelease and the UDP id when constructing CS51Impl. */
function missingAtInit(provider: UsageDataProvider): string | undefined {
  if (!provider.sushiCredentials?.customerId) return 'sushiCredentials.customerId is missing';
  if (!provider.harvestingConfig?.reportRelease) return 'harvestingConfig.reportRelease is missing';
  if (!provider.id) return 'Provider id is missing';
  return undefined;
}

export const CS51_FLAVOUR: RestFlavour = {
  release: '5.1',
  base: r51Base,
  masterReport,
  missingAtInit,
  arrayBodyIsError: false,
};

export const cs51: ServiceImplementation = {
  info(options: ImplementationOptions): ServiceImplementationInfo {
    return {
      name: 'Counter 5.1',
      description: 'Implementation for Counter/Sushi 5.1',
      type: 'cs51',
      isAggregator: false,
      isDefault: true,
      reportRelease: '5.1',
      supportedReports: reportsOffered(options),
    };
  },
  create: (provider, aggregator, transport, options) =>
    createRestEndpoint(CS51_FLAVOUR, provider, aggregator, transport, options),
};
