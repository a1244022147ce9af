import type { Command } from 'commander';
import { DEFAULT_MODULE_ID } from '../../client/index.ts';
import { addGlobalOptions, print, withClient } from '../global.ts';

export function registerTenants(program: Command): void {
  const tenants = program
    .command('tenants')
    .description('manage tenants of a running service (FOLIO tenant API, /_/tenant)');

  addGlobalOptions(tenants.command('add <id>'), ['tenant'])
    .description('enable a tenant: create its storage and wait until it is ready')
    .option('--module <moduleId>', 'module id sent as module_to', DEFAULT_MODULE_ID)
    .addHelpText(
      'after',
      `
The tenant id is a FOLIO tenant name: lower-case letters, digits and underscores.
Enabling an existing tenant again is harmless (it upgrades its storage if needed).

Examples:
  $ erm-usage-harvester tenants add mylib
  $ erm-usage-harvester tenants add mylib --url http://harvester.example.org:8081`,
    )
    .action(async (id: string, opts: { module: string }, cmd: Command) => {
      await withClient(
        cmd,
        async (client) => {
          await client.enableTenant(opts.module);
          print(`tenant ${id} is enabled`);
        },
        id,
      );
    });
}
