import type { Command } from 'commander';
import { jobState, type JobInfo } from '../../client/index.ts';
import { addGlobalOptions, print, withClient } from '../global.ts';
import { UsageError } from '../provider-record.ts';
import { formatTable, shortDate, type Column } from '../table.ts';

interface JobsOptions {
  query?: string;
  provider?: string;
  limit: string;
  json?: boolean;
}

const NEWEST_FIRST = 'cql.allRecords=1 sortby timestamp/sort.descending';

export function registerJobs(program: Command): void {
  addGlobalOptions(program.command('jobs'))
    .description('list harvest jobs, newest first')
    .option('--query <cql>', `CQL over the job records (default: ${NEWEST_FIRST})`)
    .option('--provider <id>', "only this provider's jobs")
    .option('--limit <n>', 'how many jobs to show', '30')
    .option('--json', 'print the JobInfos answer as JSON')
    .addHelpText(
      'after',
      `
STATE is derived as FOLIO's UI does: finished when finishedAt is set, scheduled while nextStart
is set, running otherwise. STARTED shows the planned start of a scheduled job.

Examples:
  $ erm-usage-harvester jobs
  $ erm-usage-harvester jobs --provider 0b1a54c4-2f5e-4b6e-9d55-0c2c0f5b2a11 --limit 5
  $ erm-usage-harvester jobs --query 'result=="failure" sortby timestamp/sort.descending'
  $ erm-usage-harvester jobs --query 'type=="periodic"' --json`,
    )
    .action(async (opts: JobsOptions, cmd: Command) => {
      const limit = parseLimit(opts.limit);
      await withClient(cmd, async (client) => {
        const page = await client.getJobs({
          query: opts.query ?? NEWEST_FIRST,
          providerId: opts.provider,
          limit,
        });
        if (opts.json) return print(JSON.stringify(page, null, 2));
        if (page.jobInfos.length === 0) return print('no jobs');
        print(formatTable(JOB_COLUMNS, page.jobInfos));
        if (page.totalRecords > page.jobInfos.length)
          print(`(${page.jobInfos.length} of ${page.totalRecords} jobs; see more with --limit)`);
      });
    });
}

function parseLimit(raw: string): number {
  if (!/^\d+$/.test(raw)) throw new UsageError(`--limit must be a whole number, got "${raw}"`);
  return Number(raw);
}

const JOB_COLUMNS: Column<JobInfo>[] = [
  { header: 'ID', value: (j) => j.id ?? '' },
  { header: 'TYPE', value: (j) => j.type ?? '' },
  { header: 'PROVIDER', value: (j) => j.providerId ?? '' },
  { header: 'STATE', value: jobState },
  { header: 'STARTED', value: (j) => shortDate(j.nextStart ?? j.startedAt) },
  { header: 'FINISHED', value: (j) => shortDate(j.finishedAt) },
  { header: 'RESULT', value: (j) => j.result ?? '' },
  { header: 'ERROR', value: (j) => j.errorMessage ?? '', max: 80 },
];
