/**
 * `reports`: the stored months (counter reports) of the standalone store: list them, export a range
 * of one report or standard view as a COUNTER file, delete months, upload a file (reports-upload.ts). Other command files add their own
 * subcommands to the same `reports` command through `reportsCommand(program)`.
 */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { extname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { cqlString, type CounterReport, type ExportFormat } from '../../client/index.ts';
import { addGlobalOptions, print, withClient } from '../global.ts';
import { UsageError } from '../provider-record.ts';
import { formatTable, type Column } from '../table.ts';
import { addReportsUpload } from './reports-upload.ts';

const FORMATS: readonly ExportFormat[] = ['tsv', 'csv', 'xlsx', 'json'];
const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;

/** The `reports` command of the program, made on first use; each command file adds its subcommands. */
export function reportsCommand(program: Command): Command {
  const existing = program.commands.find((c) => c.name() === 'reports');
  if (existing) return existing;
  return program
    .command('reports')
    .description('stored COUNTER reports (one per provider, report and month): list, export, delete');
}

interface ListOptions {
  provider?: string;
  report?: string;
  release?: string;
  from?: string;
  to?: string;
  limit: string;
  json?: boolean;
}

interface ExportOptions {
  report: string;
  release?: string;
  from: string;
  to: string;
  format?: string;
  output?: string;
}

function month(value: string | undefined, flag: string): string | undefined {
  if (value === undefined) return undefined;
  if (!MONTH.test(value)) throw new UsageError(`${flag} must be a month as yyyy-MM, got "${value}"`);
  return value;
}

/** The CQL of `reports list`: the given filters, months in order. */
export function reportsListCql(opts: Omit<ListOptions, 'limit' | 'json'>): string {
  const terms: string[] = [];
  if (opts.provider) terms.push(`providerId==${cqlString(opts.provider)}`);
  if (opts.report) terms.push(`reportName==${cqlString(opts.report)}`);
  if (opts.release) terms.push(`release==${cqlString(opts.release)}`);
  const from = month(opts.from, '--from');
  const to = month(opts.to, '--to');
  if (from) terms.push(`yearMonth>=${cqlString(from)}`);
  if (to) terms.push(`yearMonth<=${cqlString(to)}`);
  if (from && to && from > to) throw new UsageError(`--from ${from} is after --to ${to}`);
  return `${terms.length > 0 ? terms.join(' AND ') : 'cql.allRecords=1'} sortby providerId reportName yearMonth`;
}

const REPORT_COLUMNS: Column<CounterReport>[] = [
  { header: 'ID', value: (r) => r.id ?? '' },
  { header: 'PROVIDER', value: (r) => r.providerId ?? '' },
  { header: 'RELEASE', value: (r) => r.release },
  { header: 'REPORT', value: (r) => r.reportName },
  { header: 'MONTH', value: (r) => r.yearMonth },
  { header: 'ITEMS', value: (r) => (r.itemCount === undefined ? '' : String(r.itemCount)) },
  { header: 'FAILED', value: (r) => r.failedReason ?? '', max: 60 },
];

function formatOf(opts: ExportOptions): ExportFormat {
  const fromFile = opts.output && opts.output !== '-' ? extname(opts.output).slice(1).toLowerCase() : '';
  const format = (
    opts.format ?? (FORMATS.includes(fromFile as ExportFormat) ? fromFile : 'csv')
  ).toLowerCase();
  if (!FORMATS.includes(format as ExportFormat))
    throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, got "${format}"`);
  return format as ExportFormat;
}

/** Writes the stream to `file` through a temporary name: no half-written file is left on failure. */
async function writeFile(body: NodeJS.ReadableStream, file: string): Promise<void> {
  const part = `${file}.part`;
  try {
    await pipeline(body, createWriteStream(part));
    await rename(part, file);
  } catch (err) {
    await rm(part, { force: true });
    throw err;
  }
}

function registerList(reports: Command): void {
  addGlobalOptions(reports.command('list'))
    .description('list stored months (without their data), by provider, report and month')
    .option('--provider <id>', "only this provider's months")
    .option('--report <name>', 'only this report (TR, TR_J1, JR1, …)')
    .option('--release <release>', 'only this release (4, 5, 5.1)')
    .option('--from <yyyy-MM>', 'first month')
    .option('--to <yyyy-MM>', 'last month')
    .option('--limit <n>', 'how many months to show', '100')
    .option('--json', 'print the counterReports answer as JSON')
    .addHelpText(
      'after',
      `
ITEMS is the number of report items of the month; FAILED the reason of a month that could not
be harvested (no data stored).

Examples:
  $ erm-usage-harvester reports list --provider 0b1a54c4-2f5e-4b6e-9d55-0c2c0f5b2a11 --from 2022-01 --to 2022-12
  $ erm-usage-harvester reports list --report TR --json`,
    )
    .action(async (opts: ListOptions, cmd: Command) => {
      if (!/^\d+$/.test(opts.limit))
        throw new UsageError(`--limit must be a whole number, got "${opts.limit}"`);
      const query = reportsListCql(opts);
      await withClient(cmd, async (client) => {
        const page = await client.listCounterReports({ query, limit: Number(opts.limit), tiny: true });
        if (opts.json) return print(JSON.stringify(page, null, 2));
        if (page.counterReports.length === 0) return print('no reports');
        print(formatTable(REPORT_COLUMNS, page.counterReports));
        if (page.totalRecords > page.counterReports.length)
          print(`(${page.counterReports.length} of ${page.totalRecords} reports; see more with --limit)`);
      });
    });
}

function registerExport(reports: Command): void {
  addGlobalOptions(reports.command('export'))
    .description('export months of one report or standard view of a provider as one COUNTER file')
    .argument('<providerId>', 'the usage data provider')
    .requiredOption('--report <name>', 'master report or standard view (TR, TR_J1, …; JR1 … for release 4)')
    .requiredOption('--from <yyyy-MM>', 'first month')
    .requiredOption('--to <yyyy-MM>', 'last month')
    .option('--release <release>', "4, 5 or 5.1 (default: the provider's configured release)")
    .option('--format <format>', `${FORMATS.join(', ')} (default: from the file name, else csv)`)
    .option(
      '-o, --output <file>',
      'where to write the file; - for standard output (default: the name the service gives)',
    )
    .addHelpText(
      'after',
      `
tsv and csv are the COUNTER tabular report of the release (csv with RFC 4180 quoting), xlsx the
same cells in one sheet, json the COUNTER JSON report of the range. A standard view is computed
from the stored master report unless the view itself was harvested.

Examples:
  $ erm-usage-harvester reports export 0b1a54c4-2f5e-4b6e-9d55-0c2c0f5b2a11 --report TR_J1 --from 2022-01 --to 2022-12 --format xlsx -o tr_j1-2022.xlsx
  $ erm-usage-harvester reports export 0b1a54c4-2f5e-4b6e-9d55-0c2c0f5b2a11 --report TR --from 2022-01 --to 2022-03 -o - > tr.csv`,
    )
    .action(async (providerId: string, opts: ExportOptions, cmd: Command) => {
      const from = month(opts.from, '--from')!;
      const to = month(opts.to, '--to')!;
      if (from > to) throw new UsageError(`--from ${from} is after --to ${to}`);
      const format = formatOf(opts);
      await withClient(cmd, async (client) => {
        const release =
          opts.release ?? (await client.getProvider(providerId)).harvestingConfig?.reportRelease;
        if (!release) throw new UsageError('the provider has no report release configured: pass --release');
        const file = await client.exportCounterReportRange({
          providerId,
          report: opts.report,
          release: String(release),
          from,
          to,
          format,
        });
        if (opts.output === '-') return pipeline(file.body, process.stdout);
        const target = opts.output ?? file.fileName ?? `${providerId}_${opts.report}_${from}_${to}.${format}`;
        await writeFile(file.body, target);
        print(`wrote ${target}`);
      });
    });
}

function registerDelete(reports: Command): void {
  addGlobalOptions(reports.command('delete'))
    .description('delete stored months by id')
    .argument('<id...>', 'counter report ids (see reports list)')
    .addHelpText(
      'after',
      `
Examples:
  $ erm-usage-harvester reports delete 5b8e2a0c-6f0e-4c55-9d6c-0d6f7e3f1a01 1c2d3e4f-0a1b-4c2d-8e3f-4a5b6c7d8e9f`,
    )
    .action(async (ids: string[], _opts: unknown, cmd: Command) => {
      await withClient(cmd, async (client) => {
        const query = `${ids.map((id) => `id==${cqlString(id)}`).join(' OR ')}`;
        const found = await client.listCounterReports({ query, limit: ids.length, tiny: true });
        const known = new Set(found.counterReports.map((r) => r.id));
        const unknown = ids.filter((id) => !known.has(id));
        if (known.size > 0) await client.deleteCounterReports([...known].filter((id): id is string => !!id));
        print(`deleted ${known.size} report${known.size === 1 ? '' : 's'}`);
        if (unknown.length > 0) throw new UsageError(`no report with id ${unknown.join(', ')}`);
      });
    });
}

/** Registers `reports list`, `reports export` and `reports delete`. */
export function registerReports(program: Command): void {
  const reports = reportsCommand(program);
  registerList(reports);
  registerExport(reports);
  registerDelete(reports);
  addReportsUpload(reports);
}
