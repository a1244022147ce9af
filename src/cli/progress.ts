/** Progress of a harvest for `harvest --wait`: one cli-progress bar per provider job. */
import cliProgress from 'cli-progress';
import { jobState, type JobInfo } from '../client/index.ts';

export interface JobProgress {
  update(jobs: JobInfo[]): void;
  stop(): void;
}

/** Bars on stderr; when it is not a terminal, cli-progress prints plain snapshot lines instead. */
export function jobProgress(labelOf: (job: JobInfo) => string): JobProgress {
  const stream = process.stderr;
  const multibar = new cliProgress.MultiBar(
    {
      format: ' {bar} {state} | {label}',
      barsize: 20,
      hideCursor: stream.isTTY,
      stream,
      noTTYOutput: !stream.isTTY,
      notTTYSchedule: 2000,
      clearOnComplete: false,
      stopOnComplete: false,
      autopadding: true,
    },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<string, cliProgress.SingleBar>();
  return {
    update(jobs) {
      for (const job of jobs) {
        const payload = { state: stateText(job), label: labelOf(job) };
        const value = jobState(job) === 'finished' ? 1 : 0;
        const id = job.id ?? '';
        const bar = bars.get(id);
        if (bar) bar.update(value, payload);
        else bars.set(id, multibar.create(1, value, payload));
      }
    },
    stop() {
      multibar.stop();
    },
  };
}

function stateText(job: JobInfo): string {
  const state = jobState(job);
  if (state !== 'finished') return state.padEnd(9);
  return (job.result === 'success' ? 'succeeded' : 'failed').padEnd(9);
}
