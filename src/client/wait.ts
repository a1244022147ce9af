/**
 * Polls `GET /erm-usage-harvester/jobs` until a set of jobs has finished: the engine behind
 * `HarvesterClient.waitForJobs` and the CLI's `harvest --wait`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { cqlQuote } from '../cql/quote.ts';
import { WaitTimeoutError } from './errors.ts';
import { isFinished } from './job-state.ts';
import type { IterateJobsOptions, JobInfo } from './types.ts';

/** Job ids, or a predicate choosing among the jobs the poll returns (which may grow while waiting). */
export type JobSelector = readonly string[] | ((job: JobInfo) => boolean);

export interface WaitForJobsOptions {
  /** Give up after this long (default 10 minutes); throws `WaitTimeoutError`. */
  timeoutMs?: number;
  /** Time between polls (default 1000 ms). */
  pollMs?: number;
  /** With a predicate: CQL narrowing what each poll lists (default: all jobs). */
  query?: string;
  /** Called after every poll with the selected jobs in their current state. */
  onProgress?: (jobs: JobInfo[]) => void;
  signal?: AbortSignal;
}

/** What `waitForJobs` needs of the client. */
export interface JobLister {
  iterateJobs(opts: IterateJobsOptions): AsyncIterable<JobInfo>;
}

const IDS_PER_QUERY = 50;

export class JobsWaitTimeoutError extends WaitTimeoutError {
  constructor(
    message: string,
    /** The selected jobs as last seen. */
    readonly jobs: JobInfo[],
  ) {
    super(message);
  }
}

export async function waitForJobs(
  lister: JobLister,
  selector: JobSelector,
  opts: WaitForJobsOptions = {},
): Promise<JobInfo[]> {
  const timeoutMs = opts.timeoutMs ?? 600_000;
  const pollMs = opts.pollMs ?? 1000;
  const deadline = Date.now() + timeoutMs;
  const poll = () => pollSelected(lister, selector, opts.query);
  let previous: JobInfo[] | undefined;
  for (;;) {
    opts.signal?.throwIfAborted();
    const jobs = await poll();
    opts.onProgress?.(jobs);
    if (jobs.every(isFinished)) {
      // A predicate's set may still grow (a tenant job's provider jobs appear while it runs):
      // only a second poll with the same ids, all finished, settles it.
      if (typeof selector !== 'function' || (previous && sameIds(previous, jobs))) return jobs;
      previous = jobs;
      continue;
    }
    previous = undefined;
    if (Date.now() + pollMs > deadline) throw timeoutError(jobs, timeoutMs);
    await sleep(pollMs, undefined, { signal: opts.signal });
  }
}

async function pollSelected(lister: JobLister, selector: JobSelector, query?: string): Promise<JobInfo[]> {
  if (typeof selector === 'function') return collect(lister, { query, timestamp: null }, selector);
  const out: JobInfo[] = [];
  for (let i = 0; i < selector.length; i += IDS_PER_QUERY) {
    const chunk = selector.slice(i, i + IDS_PER_QUERY);
    out.push(...(await collect(lister, { query: idQuery(chunk), timestamp: null }, () => true)));
  }
  const order = new Map(selector.map((id, i) => [id, i]));
  return out.sort((a, b) => (order.get(a.id ?? '') ?? 0) - (order.get(b.id ?? '') ?? 0));
}

async function collect(
  lister: JobLister,
  opts: IterateJobsOptions,
  keep: (job: JobInfo) => boolean,
): Promise<JobInfo[]> {
  const out: JobInfo[] = [];
  for await (const job of lister.iterateJobs({ limit: 1000, ...opts })) if (keep(job)) out.push(job);
  return out;
}

/** `id=="a" or id=="b"`: each id quoted, so nothing in it is read as CQL. */
function idQuery(ids: readonly string[]): string {
  return ids.map((id) => `id==${cqlQuote(id)}`).join(' or ');
}

function sameIds(a: JobInfo[], b: JobInfo[]): boolean {
  if (a.length !== b.length) return false;
  const ids = new Set(a.map((j) => j.id));
  return b.every((j) => ids.has(j.id));
}

function timeoutError(jobs: JobInfo[], timeoutMs: number): JobsWaitTimeoutError {
  const open = jobs.filter((j) => !isFinished(j)).length;
  return new JobsWaitTimeoutError(
    `${open} of ${jobs.length} job(s) still unfinished after ${Math.round(timeoutMs / 1000)} s`,
    jobs,
  );
}
