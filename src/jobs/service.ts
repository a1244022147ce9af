// STUB — replaced by the job engine.
import type { ServiceContext } from '../context.ts';
import type { ErmStore } from '../erm/port.ts';
export class JobService {
  constructor(
    readonly ctx: ServiceContext,
    readonly erm: ErmStore,
  ) {}
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
}
