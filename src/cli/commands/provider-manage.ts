/**
 * Managing existing providers from the CLI: `providers update`, `providers enable` and
 * `providers disable`. A provider is named by its id or its exact label.
 */
import { Option, type Command } from 'commander';
import type { HarvesterClient, UsageDataProvider } from '../../client/index.ts';
import { addGlobalOptions, print, withClient } from '../global.ts';
import { checkMonth, checkUrl, reportList, SERVICE_TYPES, UsageError } from '../provider-record.ts';
import { resolveAggregator, resolveProvider } from '../resolve.ts';

export function registerProviderManagement(providers: Command): void {
  registerUpdate(providers);
  registerStatus(providers, 'enable', 'active');
  registerStatus(providers, 'disable', 'inactive');
}

interface UpdateFlags {
  label?: string;
  name?: string;
  url?: string;
  type?: string;
  release?: string;
  reports?: string;
  start?: string;
  end?: string;
  customerId?: string;
  requestorId?: string;
  apiKey?: string;
  platform?: string;
  aggregator?: string;
  vendorCode?: string;
}

function registerUpdate(providers: Command): void {
  addGlobalOptions(providers.command('update <provider>'), ['url'])
    .description('change a provider (named by id or label); only the given fields change')
    .option('--label <name>', 'new name shown for the provider')
    .option('--name <name>', 'the same as --label')
    .option('--url <url>', "the provider's SUSHI service base URL (harvests it directly)")
    .addOption(new Option('--type <type>', 'service implementation').choices(SERVICE_TYPES))
    .option('--release <release>', 'COUNTER release: 5.1, 5 or 4')
    .option('--reports <list>', 'comma-separated report names, e.g. TR,PR')
    .option('--start <yyyy-MM>', 'first month to harvest')
    .option('--end <yyyy-MM>', 'last month to harvest ("" removes it: up to last month)')
    .option('--customer-id <id>', 'SUSHI customer id')
    .option('--requestor-id <id>', 'SUSHI requestor id')
    .option('--api-key <key>', 'SUSHI api key')
    .option('--platform <name>', 'platform, for providers that host several')
    .option('--aggregator <aggregator>', 'harvest through this aggregator setting (id or label)')
    .option('--vendor-code <code>', "with --aggregator: the provider's code at the aggregator")
    .addHelpText(
      'after',
      `
Here --url is the provider's URL: give the service's URL before the command or in HARVESTER_URL.
Credentials not given are kept as stored.

Examples:
  $ erm-usage-harvester providers update "Example Press" --reports TR,PR --start 2023-01
  $ erm-usage-harvester providers update 0b1a54c4-2f5e-4b6e-9d55-0c2c0f5b2a11 --api-key n3w-k3y
  $ erm-usage-harvester providers update "Old Vendor" --aggregator "National Statistics Server" \\
      --vendor-code OLDV`,
    )
    .action(async (ref: string, flags: UpdateFlags, cmd: Command) => {
      await withClient(cmd, async (client) => {
        const provider = await resolveProvider(client, ref);
        const updated = await applyUpdate(client, provider, flags);
        await client.updateProvider(provider.id ?? '', updated);
        print(`updated ${provider.id ?? ''}  ${updated.label}`);
      });
    });
}

async function applyUpdate(
  client: HarvesterClient,
  provider: UsageDataProvider,
  f: UpdateFlags,
): Promise<UsageDataProvider> {
  if (f.label !== undefined && f.name !== undefined && f.label !== f.name)
    throw new UsageError('give the new name once: --label or --name');
  if (f.url !== undefined && f.aggregator !== undefined)
    throw new UsageError('give either --url (harvest directly) or --aggregator, not both');
  if (
    f.vendorCode !== undefined &&
    f.aggregator === undefined &&
    provider.harvestingConfig?.harvestVia !== 'aggregator'
  )
    throw new UsageError('--vendor-code needs --aggregator (or a provider harvested through one)');
  const label = f.label ?? f.name;
  if (label !== undefined && label.trim() === '') throw new UsageError('--label must not be empty');
  const hc = { ...provider.harvestingConfig };
  if (f.url !== undefined || f.type !== undefined) {
    hc.harvestVia = 'sushi';
    hc.sushiConfig = {
      ...hc.sushiConfig,
      serviceType: f.type ?? hc.sushiConfig?.serviceType ?? 'cs51',
      serviceUrl: f.url !== undefined ? checkUrl(f.url) : (hc.sushiConfig?.serviceUrl ?? ''),
    };
    delete hc.aggregator;
  }
  if (f.aggregator !== undefined) {
    const aggregator = await resolveAggregator(client, f.aggregator);
    hc.harvestVia = 'aggregator';
    hc.aggregator = {
      id: aggregator.id ?? '',
      ...(f.vendorCode !== undefined
        ? { vendorCode: f.vendorCode }
        : hc.aggregator?.vendorCode !== undefined
          ? { vendorCode: hc.aggregator.vendorCode }
          : {}),
    };
  } else if (f.vendorCode !== undefined && hc.aggregator) {
    hc.aggregator = { ...hc.aggregator, vendorCode: f.vendorCode };
  }
  if (f.release !== undefined) {
    if (!['5.1', '5', '4'].includes(f.release))
      throw new UsageError(`--release must be 5.1, 5 or 4; got "${f.release}"`);
    hc.reportRelease = f.release;
  }
  if (f.reports !== undefined) hc.requestedReports = reportList(f.reports, 'cs51');
  if (f.start !== undefined) hc.harvestingStart = checkMonth('--start', f.start);
  if (f.end !== undefined) {
    if (f.end === '') delete hc.harvestingEnd;
    else hc.harvestingEnd = checkMonth('--end', f.end);
  }
  const credentials = { ...provider.sushiCredentials };
  const given = {
    customerId: f.customerId,
    requestorId: f.requestorId,
    apiKey: f.apiKey,
    platform: f.platform,
  };
  for (const [k, v] of Object.entries(given)) if (v !== undefined) credentials[k] = v;
  const updated: UsageDataProvider = { ...provider, harvestingConfig: hc };
  if (label !== undefined) updated.label = label;
  if (Object.keys(credentials).length > 0) updated.sushiCredentials = credentials;
  return updated;
}

function registerStatus(providers: Command, verb: 'enable' | 'disable', status: 'active' | 'inactive'): void {
  addGlobalOptions(providers.command(`${verb} <provider>`))
    .description(
      verb === 'enable'
        ? 'activate a provider (id or label): harvested again by the next harvest'
        : 'deactivate a provider (id or label): kept with its reports, not harvested',
    )
    .addHelpText('after', `\nExample:\n  $ erm-usage-harvester providers ${verb} "Example Press"`)
    .action(async (ref: string, _opts: unknown, cmd: Command) => {
      await withClient(cmd, async (client) => {
        const provider = await resolveProvider(client, ref);
        await client.updateProvider(provider.id ?? '', {
          ...provider,
          status,
          harvestingConfig: { ...provider.harvestingConfig, harvestingStatus: status },
        });
        print(`${provider.label} is ${status}`);
      });
    });
}
