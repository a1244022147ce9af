/** `usage <providerId> [--report TR] [--from --to]`: totals per month and metric as a table. */
import type { Command } from 'commander';
import type { UsageTotals } from '../../client/index.ts';
import { addGlobalOptions, print, withClient } from '../global.ts';
import { formatTable, type Column } from '../table.ts';

interface UsageFlags {
  report?: string;
  from?: string;
  to?: string;
  release?: string;
  json?: boolean;
}

/** One row per month, one column per metric, and a total row. */
export function totalsTable(answer: UsageTotals): string {
  if (answer.months.length === 0)
    return `no usage of ${answer.report} stored in ${answer.from}..${answer.to}\n`;
  const rows = [...answer.months, { yearMonth: 'total', totals: answer.total }];
  const columns: Column<(typeof rows)[number]>[] = [
    { header: 'month', value: (r) => r.yearMonth },
    ...answer.metrics.map((metric) => ({
      header: metric,
      value: (r: (typeof rows)[number]) => String(r.totals[metric] ?? 0),
    })),
  ];
  return formatTable(columns, rows);
}

export function registerUsage(program: Command): void {
  addGlobalOptions(program.command('usage'))
    .description('usage totals per month and metric of a provider ("all": every provider of the tenant)')
    .argument('<providerId>', 'a provider id, or "all"')
    .option('--report <id>', 'report or view as stored (TR, DR, PR, IR, TR_J1 …)', 'TR')
    .option('--from <yyyy-MM>', 'first month')
    .option('--to <yyyy-MM>', 'last month')
    .option('--release <release>', '5 or 5.1 (default: both)')
    .option('--json', 'print the answer as JSON')
    .addHelpText(
      'after',
      `
Examples:
  $ erm-usage-harvester usage 0b3a… --from 2024-01 --to 2024-12
  $ erm-usage-harvester usage all --report DR`,
    )
    .action(async (providerId: string, opts: UsageFlags, cmd: Command) => {
      await withClient(cmd, async (client) => {
        const answer = await client.usageTotals({
          providerId: providerId === 'all' ? undefined : providerId,
          report: opts.report ?? 'TR',
          release: opts.release,
          from: opts.from,
          to: opts.to,
        });
        print(opts.json ? JSON.stringify(answer, null, 2) : totalsTable(answer));
      });
    });
}
