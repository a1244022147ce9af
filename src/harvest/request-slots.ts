/**
 * The request slots of one process (`REQUEST_CONCURRENCY`): a request goes out only while it holds a
 * slot. Items claimed ahead of a free slot wait here in claim order, and an answer's slot passes
 * straight to the first of them, so a freed slot does not wait for the next claim's round trip.
 */
export class RequestSlots {
  private held = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly size: number) {}

  /** Requests holding a slot. */
  get inFlight(): number {
    return this.held;
  }

  /** Resolves once the caller holds a slot: at once while one is free, else when one is given back. */
  take(): Promise<void> {
    if (this.held < this.size) {
      this.held++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Gives a slot back; the first waiting item, if any, holds it now. */
  give(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.held--;
  }

  /**
   * Lets every waiting item go on as if it held a slot (the workers are stopping: each one sees the
   * stop signal and returns, giving its slot back).
   */
  releaseWaiting(): void {
    for (const next of this.waiting.splice(0)) {
      this.held++;
      next();
    }
  }
}
