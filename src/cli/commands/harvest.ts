import type { Command } from 'commander';
import {
  JobsWaitTimeoutError,
  type HarvesterClient,
  type JobInfo,
  type JobSelector,
} from '../../client/index.ts';
import { addGlobalOptions, print, printError, withClient } from '../global.ts';
import { jobProgress } from '../progress.ts';
import { UsageError } from '../provider-record.ts';

interface HarvestOptions {
  from?: string;
  to?: string;
  report?: string[];
  wait?: boolean;
  timeout: string;
  pollMs: string;
}

export function registerHarvest(program: Command): void {
  addGlobalOptions(program.command('harvest [providerId]'))
    .description('start a harvest of one provider, or of every active provider of the tenant')
    .option('--from <yyyy-mm>', 'harvest months from this one again, also those already stored')
    .option('--to <yyyy-mm>', 'with --from: the last month (default: --from)')
    .option(
      '--report <id>',
      'with --from: only this report (repeat, or separate with commas)',
      (value: string, previous: string[] = []) => [...previous, ...value.split(',')],
    )
    .option('--wait', 'wait for the harvest to finish, showing one progress bar per provider')
    .option('--timeout <seconds>', 'with --wait: give up waiting after this long', '600')
    .option('--poll-ms <ms>', 'with --wait: time between job polls', '1000')
    .addHelpText(
      'after',
      `
Without --wait it returns once the harvest is scheduled. With --wait it exits 0 when every
provider job succeeded and 1 otherwise, printing each failure's error message.
Single failed report months do not fail a job: they are stored as failed counter reports
(see "providers list", column FAILED).

With --from (and a providerId) the months from --from to --to are harvested again even when
they are stored, without deleting them first: a month whose items did not change is left as it
is; a restated month is replaced and the change is kept (see \`providers changes\`).

Examples:
  $ erm-usage-harvester harvest --wait
  $ erm-usage-harvester harvest 0b1a54c4-2f5e-4b6e-9d55-0c2c0f5b2a11 --from 2024-01 --to 2024-03 --report TR,DR
  $ erm-usage-harvester harvest 0b1a54c4-2f5e-4b6e-9d55-0c2c0f5b2a11 --wait --timeout 1800`,
    )
    .action(async (providerId: string | undefined, opts: HarvestOptions, cmd: Command) => {
      const timeoutMs = seconds('--timeout', opts.timeout) * 1000;
      const pollMs = seconds('--poll-ms', opts.pollMs);
      if (opts.from === undefined && (opts.to !== undefined || opts.report !== undefined))
        throw new UsageError('--to and --report need --from');
      if (opts.from !== undefined && !providerId)
        throw new UsageError('--from needs a providerId: harvest <providerId> --from yyyy-mm');
      await withClient(cmd, async (client) => {
        const started =
          providerId && opts.from !== undefined
            ? await client.harvestAgain(providerId, { from: opts.from, to: opts.to, reports: opts.report })
            : providerId
              ? await client.startProvider(providerId)
              : await client.startAll();
        print(started.message);
        if (!opts.wait) return;
        const ok = await waitAndReport(client, providerId, timeoutMs, pollMs);
        if (!ok) process.exitCode = 1;
      });
    });
}

function seconds(flag: string, raw: string): number {
  if (!/^\d+$/.test(raw) || Number(raw) <= 0) throw new UsageError(`${flag} must be a positive whole number`);
  return Number(raw);
}

/** Waits for the harvest's jobs with progress bars; prints failures; true when all succeeded. */
async function waitAndReport(
  client: HarvesterClient,
  providerId: string | undefined,
  timeoutMs: number,
  pollMs: number,
): Promise<boolean> {
  const target = providerId ? await providerTarget(client, providerId) : await tenantTarget(client);
  const labels = await providerLabels(client, providerId);
  const labelOf = (job: JobInfo) => labels.get(job.providerId ?? '') ?? job.providerId ?? job.type ?? '';
  const progress = jobProgress(labelOf);
  let jobs: JobInfo[];
  try {
    jobs = await client.waitForJobs(target.selector, {
      query: target.query,
      timeoutMs,
      pollMs,
      onProgress: (js) => progress.update(js.filter((j) => j.type === 'provider')),
    });
  } catch (err) {
    progress.stop();
    if (!(err instanceof JobsWaitTimeoutError)) throw err;
    printError(`gave up waiting: ${err.message}; the jobs go on running in the service (see \`jobs\`)`);
    return false;
  }
  progress.stop();
  return report(jobs, labelOf, providerId === undefined);
}

interface WaitTarget {
  selector: JobSelector;
  query?: string;
}

/** The job `/start/{id}` just created: the newest job of that provider (one can be active at a time). */
async function providerTarget(client: HarvesterClient, providerId: string): Promise<WaitTarget> {
  const newest = await newestJob(client, { providerId });
  return { selector: [newest.id ?? ''] };
}

/** The tenant job `/start` just created, and the provider jobs created since it (its fan-out). */
async function tenantTarget(client: HarvesterClient): Promise<WaitTarget> {
  const tenantJob = await newestJob(client, { query: 'type=="tenant" sortby timestamp/sort.descending' });
  const since = tenantJob.timestamp ?? 0;
  return {
    selector: (j) => j.id === tenantJob.id || (j.type === 'provider' && (j.timestamp ?? 0) >= since),
    query: `timestamp>=/number ${since}`,
  };
}

async function newestJob(
  client: HarvesterClient,
  opts: { query?: string; providerId?: string },
): Promise<JobInfo> {
  const page = await client.getJobs({
    query: opts.query ?? 'cql.allRecords=1 sortby timestamp/sort.descending',
    providerId: opts.providerId,
    limit: 1,
    timestamp: undefined,
  });
  const job = page.jobInfos[0];
  if (!job?.id) throw new Error('the harvest was scheduled, but its job is not listed by the service');
  return job;
}

/** Provider labels for the bars; ids stand in where the store cannot be read (FOLIO mode, unknown id). */
async function providerLabels(
  client: HarvesterClient,
  providerId: string | undefined,
): Promise<Map<string, string>> {
  const labels = new Map<string, string>();
  try {
    if (providerId) labels.set(providerId, (await client.getProvider(providerId)).label);
    else for await (const p of client.iterateProviders({ limit: 1000 })) if (p.id) labels.set(p.id, p.label);
  } catch {
    // labels are a nicety
  }
  return labels;
}

function report(jobs: JobInfo[], labelOf: (job: JobInfo) => string, wholeTenant: boolean): boolean {
  const failures = jobs.filter((j) => j.result !== 'success');
  for (const job of failures)
    printError(`failed: ${describeJob(job, labelOf)}: ${job.errorMessage ?? 'no error message'}`);
  const providerJobs = jobs.filter((j) => j.type === 'provider');
  if (wholeTenant && providerJobs.length === 0 && failures.length === 0)
    print('no active providers to harvest');
  const failed = providerJobs.filter((j) => j.result !== 'success').length;
  print(`harvest finished: ${providerJobs.length - failed} succeeded, ${failed} failed`);
  return failures.length === 0;
}

function describeJob(job: JobInfo, labelOf: (job: JobInfo) => string): string {
  if (job.type === 'provider') return `${labelOf(job)} (${job.providerId ?? ''})`;
  return `${job.type ?? ''} job ${job.id ?? ''}`;
}
