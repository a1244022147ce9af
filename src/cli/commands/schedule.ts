/** `schedule get|set|delete`: the tenant's periodic harvest (`/erm-usage-harvester/periodic`). */
import { Option, type Command } from 'commander';
import type { PeriodicInterval } from '../../client/index.ts';
import { addGlobalOptions, print, withClient } from '../global.ts';
import { UsageError } from '../provider-record.ts';
import { shortDate } from '../table.ts';

const INTERVALS: readonly PeriodicInterval[] = ['daily', 'weekly', 'monthly'];

export function registerSchedule(program: Command): void {
  const schedule = program
    .command('schedule')
    .description("the tenant's periodic harvest: when it first runs and how often it repeats");

  addGlobalOptions(schedule.command('get'))
    .description('show the periodic harvest of the tenant')
    .option('--json', 'print the PeriodicConfig as JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withClient(cmd, async (client, global) => {
        const config = await client.getPeriodic();
        if (opts.json) return print(JSON.stringify(config ?? null, null, 2));
        if (!config) return print(`no periodic harvest for tenant ${global.tenant}`);
        const last = config.lastTriggeredAt ? `, last run ${shortDate(config.lastTriggeredAt)} UTC` : '';
        print(`${config.periodicInterval} from ${shortDate(config.startAt)} UTC${last}`);
      });
    });

  addGlobalOptions(schedule.command('set'))
    .description('set (or replace) the periodic harvest of the tenant')
    .requiredOption(
      '--start <date-time>',
      'first run, e.g. 2025-01-01T02:00:00Z (UTC when no offset is given)',
    )
    .addOption(
      new Option('--interval <interval>', 'how often it repeats').choices(INTERVALS).makeOptionMandatory(),
    )
    .addHelpText(
      'after',
      `
Examples:
  $ erm-usage-harvester schedule set --start 2025-01-01T02:00:00Z --interval daily
  $ erm-usage-harvester schedule set --start "2025-02-01 03:30" --interval monthly --tenant mylib`,
    )
    .action(async (opts: { start: string; interval: PeriodicInterval }, cmd: Command) => {
      const startAt = parseStart(opts.start);
      await withClient(cmd, async (client, global) => {
        await client.setPeriodic({ startAt, periodicInterval: opts.interval });
        print(`periodic harvest of ${global.tenant}: ${opts.interval} from ${shortDate(startAt)} UTC`);
      });
    });

  addGlobalOptions(schedule.command('delete'))
    .description('stop the periodic harvest of the tenant')
    .action(async (_opts: unknown, cmd: Command) => {
      await withClient(cmd, async (client, global) => {
        const deleted = await client.deletePeriodic();
        print(
          deleted
            ? `periodic harvest of ${global.tenant} deleted`
            : `no periodic harvest for tenant ${global.tenant}`,
        );
      });
    });
}

/** `2025-01-01`, `2025-01-01 02:00`, `2025-01-01T02:00:00Z`, `…+01:00` → an ISO date-time in UTC. */
function parseStart(value: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?))?(Z|[+-]\d{2}:?\d{2})?$/.exec(
    value.trim(),
  );
  const date = m ? new Date(`${m[1]}T${m[2] ?? '00:00'}${m[3] ?? 'Z'}`) : undefined;
  if (!date || Number.isNaN(date.getTime()))
    throw new UsageError(`--start must be a date-time such as 2025-01-01T02:00:00Z; got "${value}"`);
  return date.toISOString();
}
