import type { ServiceContext } from '../context.ts';
import type { App, Routes } from './app.ts';

/** Liveness is open for probes; the metrics need the token when one is set. */
export function healthRoutes(ctx: ServiceContext): Routes[] {
  return [
    {
      access: 'token',
      register: async (app: App) => {
        app.get(
          '/metrics',
          { schema: { tags: ['admin'], summary: 'Prometheus metrics of this process' } },
          async (_req, reply) =>
            reply.type(ctx.metrics.registry.contentType).send(await ctx.metrics.scrape()),
        );
      },
    },
    {
      access: 'open',
      register: async (app: App) => {
        app.get(
          '/admin/health',
          {
            schema: {
              tags: ['admin'],
              summary: 'Liveness: 200 OK while the service and its database answer, 503 otherwise',
            },
          },
          async (_req, reply) => {
            const health = await ctx.db.health(ctx.config.healthTimeoutMs);
            reply.type('text/plain; charset=utf-8');
            return health.ok
              ? reply.send('OK')
              : reply.code(503).send(`Database not available: ${health.reason}`);
          },
        );
      },
    },
  ];
}
