import { readFile } from 'node:fs/promises';
import { registerProviderTruth } from './provider-truth.ts';
import { Option, type Command } from 'commander';
import { HarvesterApiError, type HarvesterClient, type UsageDataProvider } from '../../client/index.ts';
import { addGlobalOptions, print, printError, withClient } from '../global.ts';
import {
  maskSecrets,
  providerFailed,
  providerFromFlags,
  providerStatus,
  providerType,
  SERVICE_TYPES,
  UsageError,
  type ProviderFlags,
} from '../provider-record.ts';
import { formatTable, type Column } from '../table.ts';
import { registerCheck } from './provider-check.ts';
import { registerProviderManagement } from './provider-manage.ts';
import {
  addFromRegistry,
  registerSearchRegistry,
  registerSyncMembers,
  registerSyncRegistry,
} from './onboarding.ts';

export function registerProviders(program: Command): void {
  const providers = program
    .command('providers')
    .description('usage data providers: the content providers to harvest (standalone store)');
  registerAdd(providers);
  registerList(providers);
  registerImport(providers);
  registerDelete(providers);
  registerCheck(providers);
  registerProviderManagement(providers);
  registerSearchRegistry(providers);
  registerSyncRegistry(providers);
  registerSyncMembers(providers);
  registerProviderTruth(providers);
}

function registerAdd(providers: Command): void {
  addGlobalOptions(providers.command('add'), ['url'])
    .description('add a provider harvested directly over COUNTER-SUSHI; prints its id')
    .option('--label <name>', 'name shown for the provider (required without --from-registry)')
    .option('--url <url>', "the provider's SUSHI service base URL (required without --from-registry)")
    .option(
      '--from-registry <name or id>',
      'take URL, release and credential rules from the COUNTER Registry',
    )
    .addOption(new Option('--type <type>', 'service implementation').choices(SERVICE_TYPES).default('cs51'))
    .option('--release <release>', 'COUNTER release (default: 5.1 for cs51, 5 for cs50, 4 for cs41)')
    .option('--customer-id <id>', 'SUSHI customer id')
    .option('--requestor-id <id>', 'SUSHI requestor id (a secret: never shown by providers list)')
    .option('--api-key <key>', 'SUSHI api key (a secret: never shown by providers list)')
    .option('--platform <name>', 'platform, for providers that host several')
    .option('--reports <list>', 'comma-separated report names (default for COUNTER 5: TR,PR,DR,IR)')
    .option('--start <yyyy-MM>', 'first month to harvest (required)')
    .option('--end <yyyy-MM>', 'last month to harvest (default: up to last month)')
    .option('--inactive', 'add it without harvesting it yet')
    .addHelpText(
      'after',
      `
Here --url is the provider's URL: give the service's URL before the command
(erm-usage-harvester --url http://host:8081 providers add ...) or in HARVESTER_URL.

Examples:
  $ erm-usage-harvester providers add --label "Example Press" \\
      --url https://sushi.example.org/counter/r51 --customer-id 12345 --api-key s3cret \\
      --start 2024-01
  $ erm-usage-harvester providers add --label "Old Vendor" --type cs41 \\
      --url https://vendor.example.com/SushiService --customer-id abc --requestor-id def \\
      --reports JR1,DB1 --start 2018-01 --end 2018-12
  $ erm-usage-harvester providers add --from-registry "Example Journals Online" \
      --customer-id 12345 --requestor-id r-1 --api-key s3cret --start 2024-01`,
    )
    .action(async (opts: ProviderFlags & { fromRegistry?: string }, cmd: Command) => {
      if (opts.fromRegistry !== undefined)
        return addFromRegistry({ ...opts, fromRegistry: opts.fromRegistry }, cmd);
      if (!opts.label) throw new UsageError('--label is required (or use --from-registry)');
      if (!opts.url) throw new UsageError('--url is required (or use --from-registry)');
      const record = providerFromFlags(opts);
      await withClient(cmd, async (client) => {
        const created = await client.createProvider(record);
        print(created.id ?? '');
      });
    });
}

function registerList(providers: Command): void {
  addGlobalOptions(providers.command('list'))
    .description('list providers as a table (or JSON)')
    .option('--query <cql>', 'CQL filter, e.g. \'status=="active"\' (may end with sortby)')
    .option('--json', 'print the records as a JSON array')
    .option('--show-secrets', 'with --json: show apiKey and requestorId (needs the service token)')
    .addHelpText(
      'after',
      `
Columns: id, label, status, type (service type or aggregator), latest report month, whether any
report month failed (with its error codes). Credentials are never shown in the table.

Examples:
  $ erm-usage-harvester providers list
  $ erm-usage-harvester providers list --query 'hasFailedReport=="yes" sortby label'
  $ erm-usage-harvester providers list --json > providers.json`,
    )
    .action(async (opts: { query?: string; json?: boolean; showSecrets?: boolean }, cmd: Command) => {
      await withClient(cmd, async (client) => {
        const all: UsageDataProvider[] = [];
        for await (const p of client.iterateProviders({
          query: opts.query ?? 'cql.allRecords=1 sortby label',
          reveal: opts.showSecrets === true && opts.json === true,
        }))
          all.push(p);
        if (opts.json) return print(JSON.stringify(opts.showSecrets ? all : all.map(maskSecrets), null, 2));
        if (all.length === 0) return print('no providers (add one with `erm-usage-harvester providers add`)');
        print(formatTable(PROVIDER_COLUMNS, all));
      });
    });
}

const PROVIDER_COLUMNS: Column<UsageDataProvider>[] = [
  { header: 'ID', value: (p) => p.id ?? '' },
  { header: 'LABEL', value: (p) => p.label ?? '', max: 40 },
  { header: 'STATUS', value: providerStatus },
  { header: 'TYPE', value: providerType, max: 40 },
  { header: 'LATEST REPORT', value: (p) => p.latestReport ?? '' },
  { header: 'FAILED', value: providerFailed, max: 40 },
];

function registerImport(providers: Command): void {
  addGlobalOptions(providers.command('import <file>'))
    .description('create providers from a JSON file; bad records are reported and skipped')
    .addHelpText(
      'after',
      `
The file holds a JSON array of usage data provider records, or FOLIO's collection
{"usageDataProviders": [...]} as mod-erm-usage returns it. Derived fields (latestReport, ...) are
recomputed by the service. Exits 1 if any record was refused.

Examples:
  $ erm-usage-harvester providers import providers.json
  $ curl -s -H 'X-Okapi-Tenant: diku' "$OKAPI/usage-data-providers?limit=1000" > udps.json
  $ erm-usage-harvester providers import udps.json --tenant mylib`,
    )
    .action(async (file: string, _opts: unknown, cmd: Command) => {
      const records = await readProviderFile(file);
      const failed = await withClient(cmd, (client) => importAll(client, records));
      print(`${records.length - failed} created, ${failed} failed (of ${records.length} in ${file})`);
      if (failed > 0) process.exitCode = 1;
    });
}

async function importAll(client: HarvesterClient, records: UsageDataProvider[]): Promise<number> {
  let failed = 0;
  for (const [i, record] of records.entries()) {
    try {
      const created = await client.createProvider(record);
      print(`created ${created.id ?? ''}  ${created.label ?? ''}`);
    } catch (err) {
      if (!(err instanceof HarvesterApiError)) throw err;
      failed++;
      const name = typeof record?.label === 'string' ? ` (${record.label})` : '';
      printError(`record ${i + 1}${name}: ${err.message}`);
    }
  }
  return failed;
}

async function readProviderFile(file: string): Promise<UsageDataProvider[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  const records = Array.isArray(json)
    ? json
    : (json as { usageDataProviders?: unknown } | null)?.usageDataProviders;
  if (!Array.isArray(records))
    throw new UsageError(`${file}: expected a JSON array of providers or {"usageDataProviders": [...]}`);
  return records as UsageDataProvider[];
}

function registerDelete(providers: Command): void {
  addGlobalOptions(providers.command('delete <id>'))
    .description('delete a provider and all its counter reports')
    .addHelpText(
      'after',
      '\nExample:\n  $ erm-usage-harvester providers delete 0b1a54c4-2f5e-4b6e-9d55-0c2c0f5b2a11',
    )
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      await withClient(cmd, async (client) => {
        await client.deleteProvider(id);
        print(`deleted ${id}`);
      });
    });
}
