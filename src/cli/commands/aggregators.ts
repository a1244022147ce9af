/**
 * `aggregators add|list|update|delete`: the aggregator settings (e.g. a National Statistics Server)
 * that providers can be harvested through (standalone store, `/aggregator-settings`).
 */
import type { Command } from 'commander';
import type { AggregatorSetting, HarvesterClient } from '../../client/index.ts';
import { cqlString } from '../../client/index.ts';
import { addGlobalOptions, print, withClient } from '../global.ts';
import { checkUrl, UsageError } from '../provider-record.ts';
import { resolveAggregator } from '../resolve.ts';
import { formatTable, type Column } from '../table.ts';

interface AggregatorFlags {
  label?: string;
  type?: string;
  url?: string;
  apiKey?: string;
  requestorId?: string;
  customerId?: string;
  reportRelease?: string;
  config: string[];
  account?: string;
  mail?: string;
}

const ACCOUNT_TYPES = ['Mail', 'API', 'Manual'] as const;
const SECRET_KEYS = ['apiKey', 'requestorId'];

export function registerAggregators(program: Command): void {
  const aggregators = program
    .command('aggregators')
    .description(
      'aggregator settings (e.g. a National Statistics Server) providers can be harvested through',
    );
  registerAdd(aggregators);
  registerList(aggregators);
  registerUpdate(aggregators);
  registerDelete(aggregators);
}

const collect = (value: string, previous: string[]) => [...previous, value];

function withSettingOptions(cmd: Command, required: boolean): Command {
  const opt = required ? cmd.requiredOption.bind(cmd) : cmd.option.bind(cmd);
  opt('--label <name>', 'name shown for the aggregator');
  opt('--url <url>', "the aggregator's service URL");
  return cmd
    .option('--type <type>', 'service type (default for add: NSS)')
    .option('--api-key <key>', 'api key at the aggregator (a secret: masked by list --json)')
    .option('--requestor-id <id>', 'requestor id at the aggregator (a secret: masked by list --json)')
    .option('--customer-id <id>', 'customer id at the aggregator')
    .option('--report-release <release>', 'COUNTER release the aggregator serves, e.g. 4')
    .option('--config <key=value>', 'another aggregatorConfig entry (repeatable)', collect, [])
    .option(
      '--account <type>',
      `how the account is configured: ${ACCOUNT_TYPES.join(', ')} (default for add: API)`,
    )
    .option('--mail <address>', 'contact mail (account type Mail)');
}

function registerAdd(aggregators: Command): void {
  withSettingOptions(addGlobalOptions(aggregators.command('add'), ['url']), true)
    .description('add an aggregator setting; prints its id')
    .addHelpText(
      'after',
      `
Here --url is the aggregator's URL: give the service's URL before the command or in HARVESTER_URL.

Example:
  $ erm-usage-harvester aggregators add --label "National Statistics Server" \\
      --url https://nss.example.org/sushiservice --api-key s3cret --requestor-id lib-1 \\
      --customer-id 0000 --report-release 4`,
    )
    .action(async (flags: AggregatorFlags, cmd: Command) => {
      const setting = applyFlags(
        { label: '', serviceType: 'NSS', serviceUrl: '', accountConfig: { configType: 'API' } },
        flags,
      );
      await withClient(cmd, async (client) => print((await client.createAggregator(setting)).id ?? ''));
    });
}

function registerList(aggregators: Command): void {
  addGlobalOptions(aggregators.command('list'))
    .description('list aggregator settings with the number of providers harvested through each')
    .option('--json', 'print the records as a JSON array')
    .option('--show-secrets', 'with --json: do not mask apiKey and requestorId')
    .addHelpText(
      'after',
      '\nExamples:\n  $ erm-usage-harvester aggregators list\n  $ erm-usage-harvester aggregators list --json',
    )
    .action(async (opts: { json?: boolean; showSecrets?: boolean }, cmd: Command) => {
      await withClient(cmd, async (client) => {
        const all: AggregatorSetting[] = [];
        for await (const a of client.iterateAggregators({ query: 'cql.allRecords=1 sortby label' }))
          all.push(a);
        if (opts.json) return print(JSON.stringify(opts.showSecrets ? all : all.map(maskSetting), null, 2));
        if (all.length === 0)
          return print('no aggregator settings (add one with `erm-usage-harvester aggregators add`)');
        const counts = new Map<string, number>();
        for (const a of all) counts.set(a.id ?? '', await providerCount(client, a.id ?? ''));
        const columns: Column<AggregatorSetting>[] = [
          { header: 'ID', value: (a) => a.id ?? '' },
          { header: 'LABEL', value: (a) => a.label, max: 40 },
          { header: 'TYPE', value: (a) => a.serviceType },
          { header: 'URL', value: (a) => a.serviceUrl, max: 60 },
          { header: 'ACCOUNT', value: (a) => a.accountConfig?.configType ?? '' },
          { header: 'PROVIDERS', value: (a) => String(counts.get(a.id ?? '') ?? 0) },
        ];
        print(formatTable(columns, all));
      });
    });
}

function registerUpdate(aggregators: Command): void {
  withSettingOptions(addGlobalOptions(aggregators.command('update <aggregator>'), ['url']), false)
    .description('change an aggregator setting (id or label); only the given fields change')
    .addHelpText(
      'after',
      '\nExample:\n  $ erm-usage-harvester aggregators update "National Statistics Server" --api-key n3w-k3y',
    )
    .action(async (ref: string, flags: AggregatorFlags, cmd: Command) => {
      await withClient(cmd, async (client) => {
        const current = await resolveAggregator(client, ref);
        const updated = applyFlags(current, flags);
        await client.updateAggregator(current.id ?? '', updated);
        print(`updated ${current.id ?? ''}  ${updated.label}`);
      });
    });
}

function registerDelete(aggregators: Command): void {
  addGlobalOptions(aggregators.command('delete <aggregator>'))
    .description('delete an aggregator setting (id or label); refused while providers use it')
    .option('--force', 'delete it even though providers are harvested through it')
    .addHelpText(
      'after',
      '\nExample:\n  $ erm-usage-harvester aggregators delete "National Statistics Server"',
    )
    .action(async (ref: string, opts: { force?: boolean }, cmd: Command) => {
      await withClient(cmd, async (client) => {
        const setting = await resolveAggregator(client, ref);
        const used = await providerCount(client, setting.id ?? '');
        if (used > 0 && !opts.force)
          throw new UsageError(
            `${used} provider(s) are harvested through "${setting.label}"; change them first (providers update --url or --aggregator) or give --force`,
          );
        await client.deleteAggregator(setting.id ?? '');
        print(`deleted ${setting.id ?? ''}  ${setting.label}`);
      });
    });
}

async function providerCount(client: HarvesterClient, aggregatorId: string): Promise<number> {
  const page = await client.listProviders({
    query: `harvestingConfig.aggregator.id==${cqlString(aggregatorId)}`,
    limit: 0,
  });
  return page.totalRecords;
}

function applyFlags(base: AggregatorSetting, f: AggregatorFlags): AggregatorSetting {
  const out: AggregatorSetting = { ...base, accountConfig: { ...base.accountConfig } };
  if (f.label !== undefined) {
    if (f.label.trim() === '') throw new UsageError('--label must not be empty');
    out.label = f.label;
  }
  if (f.url !== undefined) out.serviceUrl = checkUrl(f.url);
  if (f.type !== undefined) out.serviceType = f.type;
  const config: Record<string, string> = { ...base.aggregatorConfig };
  const named = {
    apiKey: f.apiKey,
    requestorId: f.requestorId,
    customerId: f.customerId,
    reportRelease: f.reportRelease,
  };
  for (const [k, v] of Object.entries(named)) if (v !== undefined) config[k] = v;
  for (const entry of f.config) {
    const at = entry.indexOf('=');
    if (at <= 0) throw new UsageError(`--config must be key=value; got "${entry}"`);
    config[entry.slice(0, at)] = entry.slice(at + 1);
  }
  if (Object.keys(config).length > 0) out.aggregatorConfig = config;
  if (f.account !== undefined) {
    const type = ACCOUNT_TYPES.find((t) => t.toLowerCase() === f.account?.toLowerCase());
    if (!type)
      throw new UsageError(`--account must be one of ${ACCOUNT_TYPES.join(', ')}; got "${f.account}"`);
    out.accountConfig.configType = type;
  }
  if (f.mail !== undefined) out.accountConfig.configMail = f.mail;
  return out;
}

function maskSetting(a: AggregatorSetting): AggregatorSetting {
  if (!a.aggregatorConfig) return a;
  const config = { ...a.aggregatorConfig };
  for (const k of SECRET_KEYS) if (config[k] !== undefined) config[k] = '***';
  return { ...a, aggregatorConfig: config };
}
