// STUB — replaced by the harvester API routes.
import type { ServiceContext } from '../context.ts';
import type { JobService } from '../jobs/service.ts';
import type { App } from './app.ts';
export function harvesterRoutes(_ctx: ServiceContext, _jobs: JobService) {
  return async (_app: App) => {};
}
