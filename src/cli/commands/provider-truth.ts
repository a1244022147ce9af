/** `providers diagnostics <id>` and `providers changes <id>`: what the harvest kept about a provider's months. */
import type { Command } from 'commander';
import type { MonthDiagnostics, ReportChange } from '../../client/index.ts';
import { addGlobalOptions, print, withClient } from '../global.ts';
import { formatTable, type Column } from '../table.ts';

export function registerProviderTruth(providers: Command): void {
  addGlobalOptions(providers.command('diagnostics <providerId>'))
    .description("list the diagnostics (schema and Code of Practice warnings) kept on a provider's months")
    .option('--report <id>', 'only this report, e.g. TR')
    .option('--json', 'print the answer of the API as JSON')
    .addHelpText(
      'after',
      `
Diagnostics are warnings: a month is stored whatever they say. The first table counts each code
over all months; the second lists the months that have diagnostics (CONTENT: usage, empty, failed).
docs/counter-validation.md explains the codes.

Examples:
  $ erm-usage-harvester providers diagnostics 0b1a54c4-2f5e-4b6e-9d55-0c2c0f5b2a11
  $ erm-usage-harvester providers diagnostics 0b1a54c4-2f5e-4b6e-9d55-0c2c0f5b2a11 --report TR --json`,
    )
    .action(async (providerId: string, opts: { report?: string; json?: boolean }, cmd: Command) => {
      await withClient(cmd, async (client) => {
        const result = await client.getDiagnostics(providerId, { reportName: opts.report });
        if (opts.json) return print(JSON.stringify(result, null, 2));
        print(`${result.monthsWithDiagnostics} of ${result.months} stored months have diagnostics`);
        if (result.monthsWithDiagnostics === 0) return;
        const codes = Object.entries(result.codes).map(([code, c]) => ({ code, ...c }));
        print(
          formatTable(
            [
              { header: 'CODE', value: (c) => c.code },
              { header: 'COUNT', value: (c) => String(c.count) },
              { header: 'MONTHS', value: (c) => String(c.months) },
            ],
            codes,
          ),
        );
        print('');
        print(formatTable(MONTH_COLUMNS, result.records));
      });
    });

  addGlobalOptions(providers.command('changes <providerId>'))
    .description('list the restatements re-harvests found for a provider (newest first)')
    .option('--limit <n>', 'at most this many', '50')
    .option('--json', 'print the answer of the API as JSON')
    .action(async (providerId: string, opts: { limit: string; json?: boolean }, cmd: Command) => {
      await withClient(cmd, async (client) => {
        const result = await client.listReportChanges({ providerId, limit: Number(opts.limit) || 50 });
        if (opts.json) return print(JSON.stringify(result, null, 2));
        if (result.totalRecords === 0) return print('no restatements recorded');
        print(formatTable(CHANGE_COLUMNS, result.changes));
      });
    });
}

const MONTH_COLUMNS: Column<MonthDiagnostics>[] = [
  { header: 'REPORT', value: (m) => m.reportName },
  { header: 'MONTH', value: (m) => m.yearMonth },
  { header: 'RELEASE', value: (m) => m.release },
  { header: 'CONTENT', value: (m) => m.content },
  {
    header: 'DIAGNOSTICS',
    value: (m) => m.diagnostics.map((d) => `${d.code}×${d.count}`).join(' '),
    max: 60,
  },
];

function totals(t: Record<string, number> | undefined): string {
  return t
    ? Object.values(t)
        .reduce((a, b) => a + b, 0)
        .toString()
    : '—';
}

const CHANGE_COLUMNS: Column<ReportChange>[] = [
  { header: 'WHEN', value: (c) => c.changedAt.slice(0, 19).replace('T', ' ') },
  { header: 'REPORT', value: (c) => c.reportName },
  { header: 'MONTH', value: (c) => c.yearMonth },
  { header: 'TOTAL BEFORE', value: (c) => totals(c.totalsBefore) },
  { header: 'TOTAL AFTER', value: (c) => totals(c.totalsAfter) },
];
