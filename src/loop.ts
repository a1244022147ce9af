/**
 * A repeating background task: runs, waits `intervalMs`, runs again; errors are logged, never thrown.
 * `intervalMs` may be a function, asked after every run (e.g. a longer wait while there is no work).
 */
import type { Logger } from './log.ts';

export class Loop {
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<void> | undefined;
  private stopped = true;
  private again = false;

  constructor(
    private readonly name: string,
    private readonly intervalMs: number | (() => number),
    private readonly task: () => Promise<void>,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule(this.interval());
  }

  private interval(): number {
    return typeof this.intervalMs === 'number' ? this.intervalMs : this.intervalMs();
  }

  /** Runs the task soon (now, or right after the current run). */
  wake(): void {
    if (this.stopped) return;
    if (this.current) {
      this.again = true;
      return;
    }
    this.schedule(0);
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.run(), ms);
    this.timer.unref();
  }

  private run(): void {
    if (this.stopped || this.current) return;
    this.current = this.task()
      .catch((err: unknown) =>
        this.log.error({ loop: this.name, err: String(err) }, 'background task failed'),
      )
      .finally(() => {
        this.current = undefined;
        if (this.stopped) return;
        const again = this.again;
        this.again = false;
        this.schedule(again ? 0 : this.interval());
      });
  }

  /** Stops scheduling and waits for a run in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.current;
  }
}
