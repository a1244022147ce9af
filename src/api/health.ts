import type { ServiceContext } from '../context.ts';
import type { App } from './app.ts';

export function healthRoutes(ctx: ServiceContext) {
  return async (app: App) => {
    app.get(
      '/metrics',
      {
        config: { tenant: 'none' },
        schema: { tags: ['admin'], summary: 'Prometheus metrics of this process' },
      },
      async (_req, reply) =>
        reply.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics()),
    );
    app.get(
      '/admin/health',
      {
        config: { tenant: 'none' },
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
  };
}
