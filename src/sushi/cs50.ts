/** `cs50`: COUNTER 5.0 REST/JSON (folio-contract §7.10.1). */
import { MASTER_REPORT_IDS, STANDARD_VIEW_IDS, type MasterReportId } from '../counter/index.ts';
import { createRestEndpoint, isMasterReportId, type RestFlavour } from './rest.ts';
import type { ImplementationOptions, ServiceImplementation, ServiceImplementationInfo } from './types.ts';
import { r50Base } from './url.ts';

/** Java: `reportName` with `_` removed, upper-cased, must be TR, IR, DR or PR. */
function masterReport(reportName: string): MasterReportId | undefined {
  const id = reportName.replace(/_/g, '').toUpperCase();
  return isMasterReportId(id) ? id : undefined;
}

export const CS50_FLAVOUR: RestFlavour = {
  release: '5',
  base: r50Base,
  masterReport,
  missingAtInit: (provider) => (provider.sushiCredentials ? undefined : 'sushiCredentials is missing'),
  arrayBodyIsError: true,
};

export function reportsOffered(options: ImplementationOptions): string[] {
  return [...MASTER_REPORT_IDS, ...(options.enableStandardViews ? STANDARD_VIEW_IDS : [])];
}

export const cs50: ServiceImplementation = {
  info(options: ImplementationOptions): ServiceImplementationInfo {
    return {
      name: 'Counter 5.0',
      description: 'Implementation for Counter/Sushi 5',
      type: 'cs50',
      isAggregator: false,
      reportRelease: '5',
      supportedReports: reportsOffered(options),
    };
  },
  create: (provider, aggregator, transport, options) =>
    createRestEndpoint(CS50_FLAVOUR, provider, aggregator, transport, options),
};
