/**
 * Onboarding commands (docs/registry.md): `providers add --from-registry`, `providers search-registry`,
 * `providers sync-registry` and `providers sync-members`. They speak HTTP only.
 */
import type { Command } from 'commander';
import type { FromRegistryRequest, RegistrySyncEntry } from '../../client/index.ts';
import { addGlobalOptions, print, printError, withClient } from '../global.ts';
import { UsageError, type ProviderFlags } from '../provider-record.ts';
import { formatTable } from '../table.ts';

export interface FromRegistryFlags extends Partial<ProviderFlags> {
  fromRegistry: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `providers add --from-registry <name or id>`: prints the new provider's id and what it still lacks. */
export async function addFromRegistry(opts: FromRegistryFlags, cmd: Command): Promise<void> {
  const wanted = opts.fromRegistry.trim();
  if (wanted === '') throw new UsageError('--from-registry needs a COUNTER Registry platform name or id');
  if (opts.release !== undefined && opts.release !== '5' && opts.release !== '5.1')
    throw new UsageError(`--release must be 5 or 5.1 with --from-registry; got "${opts.release}"`);
  const request: FromRegistryRequest = {
    ...(UUID.test(wanted) ? { platformId: wanted } : { platform: wanted }),
    ...(opts.label ? { label: opts.label } : {}),
    ...(opts.release ? { release: opts.release } : {}),
    ...(opts.start ? { harvestingStart: opts.start } : {}),
    ...(opts.reports
      ? {
          requestedReports: opts.reports
            .split(',')
            .map((r) => r.trim())
            .filter(Boolean),
        }
      : {}),
    credentials: {
      ...(opts.customerId ? { customerId: opts.customerId } : {}),
      ...(opts.requestorId ? { requestorId: opts.requestorId } : {}),
      ...(opts.apiKey ? { apiKey: opts.apiKey } : {}),
      ...(opts.platform ? { platform: opts.platform } : {}),
    },
  };
  await withClient(cmd, async (client) => {
    const result = await client.createProviderFromRegistry(request);
    print(result.provider.id ?? '');
    const config = result.provider.harvestingConfig;
    printError(
      `added "${result.provider.label ?? ''}": COUNTER ${config?.reportRelease === '5' ? '5.0' : '5.1'} at ` +
        `${config?.sushiConfig?.serviceUrl ?? ''}`,
    );
    if (result.missing.length > 0) {
      const help = result.service.help as Record<string, string | undefined>;
      printError(
        `not harvested until these are set (erm-usage-harvester providers add --from-registry again with ` +
          `the flags, or edit the provider): ${result.missing.join(', ')}`,
      );
      for (const field of result.missing) {
        const hint = help[field.replace('sushiCredentials.', '')];
        if (hint) printError(`  ${field}: ${hint}`);
      }
    }
  });
}

export function registerSearchRegistry(providers: Command): void {
  addGlobalOptions(providers.command('search-registry <words...>'))
    .description('search the COUNTER Registry for platforms (name, abbreviation or content provider)')
    .option('--json', 'print the platforms as JSON')
    .addHelpText('after', '\nExample:\n  $ erm-usage-harvester providers search-registry example journals')
    .action(async (words: string[], opts: { json?: boolean }, cmd: Command) => {
      await withClient(cmd, async (client) => {
        const platforms = await client.searchRegistry(words.join(' '));
        if (opts.json) return print(JSON.stringify(platforms, null, 2));
        if (platforms.length === 0) return print('no COUNTER Registry platform matches');
        print(
          formatTable(
            [
              { header: 'ID', value: (p) => p.id },
              { header: 'NAME', value: (p) => p.name, max: 50 },
              { header: 'ABBREV', value: (p) => p.abbrev ?? '' },
              { header: 'RELEASES', value: (p) => p.releases.join(', ') },
            ],
            platforms,
          ),
        );
      });
    });
}

function describeChange(change: RegistrySyncEntry['changes'][number]): string {
  const c = change as Record<string, unknown>;
  switch (change.kind) {
    case 'url-changed':
      return `URL changed: ${String(c.from)} → ${String(c.to)}`;
    case 'url-differs':
      return `URL edited here: ${String(c.providerUrl)} (registry: ${String(c.registryUrl)})`;
    case 'platform-renamed':
      return `platform renamed: ${String(c.from)} → ${String(c.to)}`;
    case 'credentials-missing':
      return `credentials missing: ${(c.fields as string[]).join(', ')}`;
    case 'release-available':
      return `COUNTER ${String(c.release)} available at ${String(c.serviceUrl)}`;
    default:
      return change.kind;
  }
}

export function registerSyncRegistry(providers: Command): void {
  addGlobalOptions(providers.command('sync-registry'))
    .description('compare providers made from the COUNTER Registry with it; --apply takes changes over')
    .option('--apply', 'rewrite the providers with the changed URLs and credential rules')
    .option('--switch-release', 'with --apply: move COUNTER 5.0 providers to the 5.1 service')
    .option('--override-edited-url', 'with --apply: also replace service URLs edited by hand')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      `
Providers the registry no longer lists are reported, never deleted or deactivated.

Examples:
  $ erm-usage-harvester providers sync-registry
  $ erm-usage-harvester providers sync-registry --apply`,
    )
    .action(
      async (
        opts: { apply?: boolean; switchRelease?: boolean; overrideEditedUrl?: boolean; json?: boolean },
        cmd: Command,
      ) => {
        await withClient(cmd, async (client) => {
          const report = await client.syncRegistry({
            apply: opts.apply === true,
            switchRelease: opts.switchRelease === true,
            overrideEditedUrl: opts.overrideEditedUrl === true,
          });
          if (opts.json) return print(JSON.stringify(report, null, 2));
          print(
            `${report.checked} providers linked to the COUNTER Registry, ${report.providers.length} with changes`,
          );
          for (const entry of report.providers) {
            const applied = report.applied?.includes(entry.providerId) ? ' (applied)' : '';
            print(`${entry.providerId}  ${entry.label}${applied}`);
            for (const change of entry.changes) print(`  ${describeChange(change)}`);
          }
        });
      },
    );
}

export function registerSyncMembers(providers: Command): void {
  addGlobalOptions(providers.command('sync-members <id>'))
    .description("one provider per member of a consortium provider's COUNTER members list, kept in step")
    .option('--dry-run', 'only say what would be added, updated or deactivated')
    .addHelpText(
      'after',
      `
New members are added, changed ones updated, members that left are deactivated (never deleted).

Example:
  $ erm-usage-harvester providers sync-members 0b1a54c4-2f5e-4b6e-9d55-0c2c0f5b2a11`,
    )
    .action(async (id: string, opts: { dryRun?: boolean }, cmd: Command) => {
      await withClient(cmd, async (client) => {
        const r = await client.syncMembers(id, { apply: opts.dryRun !== true });
        const verb = r.applied ? '' : 'would be ';
        print(
          `${r.members} members listed: ${r.created.length} ${verb}added, ${r.updated.length} ${verb}updated, ` +
            `${r.deactivated.length} ${verb}deactivated, ${r.unchanged} unchanged`,
        );
        for (const p of r.created) print(`  + ${p.customerId ?? ''}  ${p.label ?? ''}`);
        for (const p of r.updated)
          print(`  ~ ${p.customerId ?? ''}  ${p.label ?? ''} (${p.changes.join(', ')})`);
        for (const p of r.deactivated) print(`  - ${p.customerId ?? ''}  ${p.label ?? ''}`);
        for (const w of r.warnings) printError(`warning: ${w}`);
      });
    });
}
