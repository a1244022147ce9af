import type { JobInfo, JobState } from './types.ts';

/** The state FOLIO's UI shows for a JobInfo (folio-contract §6.3): finished, else scheduled while `nextStart` is set. */
export function jobState(job: JobInfo): JobState {
  if (job.finishedAt) return 'finished';
  if (job.nextStart) return 'scheduled';
  return 'running';
}

export function isFinished(job: JobInfo): boolean {
  return jobState(job) === 'finished';
}
