import { Option, type Command } from 'commander';
import { cqlString, jobState, type JobInfo, type JobReport } from '../../client/index.ts';
import { addGlobalOptions, print, withClient } from '../global.ts';
import { UsageError } from '../provider-record.ts';
import { providerIdOf, providerLabels } from '../resolve.ts';
import { formatTable, shortDate, type Column } from '../table.ts';

interface JobsOptions {
  query?: string;
  provider?: string;
  result?: string;
  type?: string;
  since?: string;
  limit: string;
  json?: boolean;
}

const NEWEST_FIRST = 'cql.allRecords=1 sortby timestamp/sort.descending';

export function registerJobs(program: Command): void {
  addGlobalOptions(program.command('jobs'))
    .description('list harvest jobs, newest first')
    .option('--query <cql>', `CQL over the job records (default: ${NEWEST_FIRST})`)
    .option('--provider <provider>', "only this provider's jobs (id or label)")
    .addOption(new Option('--result <result>', 'only jobs that ended so').choices(['success', 'failure']))
    .addOption(
      new Option('--type <type>', 'only jobs of this type').choices(['provider', 'tenant', 'periodic']),
    )
    .option('--since <date>', 'only jobs created on or after this day or date-time (UTC), e.g. 2025-01-01')
    .option('--limit <n>', 'how many jobs to show', '30')
    .option('--json', 'print the JobInfos answer as JSON')
    .addHelpText(
      'after',
      `
STATE is derived as FOLIO's UI does: finished when finishedAt is set, scheduled while nextStart
is set, running otherwise. STARTED shows the planned start of a scheduled job. PROVIDER shows the
provider's label. MONTHS is a provider job's report: months stored, empty, failed (by code),
skipped, and how often a request was deferred. NOTES: what the harvest noted (reports the provider
does not offer, months sent that were not requested). --result, --type and --since combine with --query.

Examples:
  $ erm-usage-harvester jobs
  $ erm-usage-harvester jobs --result failure --since 2025-01-01
  $ erm-usage-harvester jobs --provider "Example Press" --type provider --limit 5
  $ erm-usage-harvester jobs --query 'result=="failure" sortby timestamp/sort.descending'
  $ erm-usage-harvester jobs --query 'type=="periodic"' --json`,
    )
    .action(async (opts: JobsOptions, cmd: Command) => {
      const limit = parseLimit(opts.limit);
      const query = jobsQuery(opts);
      await withClient(cmd, async (client) => {
        const providerId = opts.provider ? await providerIdOf(client, opts.provider) : undefined;
        const page = await client.getJobs({ query, providerId, limit });
        if (opts.json) return print(JSON.stringify(page, null, 2));
        if (page.jobInfos.length === 0) return print('no jobs');
        const labels = await providerLabels(
          client,
          page.jobInfos.map((j) => j.providerId),
        );
        print(formatTable(jobColumns(labels), page.jobInfos));
        if (page.totalRecords > page.jobInfos.length)
          print(`(${page.jobInfos.length} of ${page.totalRecords} jobs; see more with --limit)`);
      });
    });
}

function parseLimit(raw: string): number {
  if (!/^\d+$/.test(raw)) throw new UsageError(`--limit must be a whole number, got "${raw}"`);
  return Number(raw);
}

/** The CQL of --query, --result, --type and --since together (newest first unless --query sorts). */
function jobsQuery(opts: JobsOptions): string {
  const clauses: string[] = [];
  if (opts.result) clauses.push(`result==${cqlString(opts.result)}`);
  if (opts.type) clauses.push(`type==${cqlString(opts.type)}`);
  if (opts.since !== undefined) clauses.push(`timestamp>=${parseSince(opts.since)}`);
  if (clauses.length === 0) return opts.query ?? NEWEST_FIRST;
  if (opts.query === undefined) return `${clauses.join(' and ')} sortby timestamp/sort.descending`;
  // The user's query may end with sortby: the filters go in front of it.
  const at = opts.query.search(/\ssortby\s/i);
  const [where, sort] = at < 0 ? [opts.query, ''] : [opts.query.slice(0, at), opts.query.slice(at)];
  return `(${where.trim()}) and ${clauses.join(' and ')}${sort}`;
}

/** `2025-01-01` or an ISO date-time → epoch ms (UTC when no offset is given). */
function parseSince(value: string): number {
  const day = /^\d{4}-\d{2}-\d{2}$/.test(value);
  const ms = Date.parse(day ? `${value}T00:00:00Z` : value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(ms))
    throw new UsageError(`--since must be a day (2025-01-01) or a date-time; got "${value}"`);
  return ms;
}

/** `3 stored, 1 empty, 2 failed (3031: 2), 4 skipped, 1 deferred`, leaving out zeros. */
export function reportSummary(r: JobReport | undefined): string {
  if (!r) return '';
  const failed = Object.entries(r.failed ?? {});
  const failedTotal = failed.reduce((n, [, v]) => n + v, 0);
  const parts = [
    `${r.stored} stored`,
    r.empty ? `${r.empty} empty` : '',
    failedTotal ? `${failedTotal} failed (${failed.map(([c, n]) => `${c}: ${n}`).join(', ')})` : '',
    r.skipped ? `${r.skipped} skipped` : '',
    r.deferred ? `${r.deferred} deferred` : '',
  ];
  return parts.filter(Boolean).join(', ');
}

function jobColumns(labels: Map<string, string>): Column<JobInfo>[] {
  return [
    { header: 'ID', value: (j) => j.id ?? '' },
    { header: 'TYPE', value: (j) => j.type ?? '' },
    {
      header: 'PROVIDER',
      value: (j) => (j.providerId ? (labels.get(j.providerId) ?? j.providerId) : ''),
      max: 30,
    },
    { header: 'STATE', value: jobState },
    { header: 'STARTED', value: (j) => shortDate(j.nextStart ?? j.startedAt) },
    { header: 'FINISHED', value: (j) => shortDate(j.finishedAt) },
    { header: 'RESULT', value: (j) => j.result ?? '' },
    { header: 'MONTHS', value: (j) => reportSummary(j.report), max: 60 },
    { header: 'ERROR', value: (j) => j.errorMessage ?? '', max: 80 },
    { header: 'NOTES', value: (j) => (j.notes ?? []).join(' · '), max: 80 },
  ];
}
