import { Command } from 'commander';
import { registerAggregators } from './commands/aggregators.ts';
import { registerHarvest } from './commands/harvest.ts';
import { registerJobs } from './commands/jobs.ts';
import { registerProviders } from './commands/providers.ts';
import { registerSchedule } from './commands/schedule.ts';
import { registerReports } from './commands/reports.ts';
import { registerSecrets } from './commands/secrets.ts';
import { registerServe } from './commands/serve.ts';
import { registerTenants } from './commands/tenants.ts';
import { registerUsage } from './commands/usage.ts';
import { addGlobalOptions, cliVersion, describeError } from './global.ts';

const program = new Command();
program
  .name('erm-usage-harvester')
  .description('COUNTER usage harvester (FOLIO mod-erm-usage-harvester compatible)')
  .version(cliVersion())
  // Options before a command name belong to the program, options after it to the command: this lets
  // `providers add --url` mean the provider's URL while `--url` before the command is the service's.
  .enablePositionalOptions();
addGlobalOptions(program);
program.addHelpText(
  'after',
  `
--url, --tenant and --token can also follow a command name (except "providers add --url",
which is the provider's SUSHI URL).

Examples:
  $ npm start                                  # or: erm-usage-harvester serve
  $ erm-usage-harvester providers add --label "Example Press" --url https://sushi.example.org/r51 \\
      --customer-id 12345 --api-key s3cret --start 2024-01
  $ erm-usage-harvester harvest --wait
  $ erm-usage-harvester jobs
  $ erm-usage-harvester jobs --result failure --since 2025-01-01
  $ erm-usage-harvester providers disable "Example Press"
  $ erm-usage-harvester schedule set --start 2025-01-01T02:00:00Z --interval daily`,
);

registerServe(program);
registerTenants(program);
registerProviders(program);
registerHarvest(program);
registerJobs(program);
registerAggregators(program);
registerSchedule(program);
registerReports(program);
registerUsage(program);
registerSecrets(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.stderr.write(`erm-usage-harvester: ${describeError(err)}\n`);
  process.exit(1);
}
