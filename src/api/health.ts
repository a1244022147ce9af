import type { App } from './app.ts';

export function healthRoutes() {
  return async (app: App) => {
    app.get(
      '/admin/health',
      {
        config: { tenant: 'none' },
        schema: { tags: ['admin'], summary: 'Liveness: 200 OK while the service can serve requests' },
      },
      async (_req, reply) => reply.type('text/plain; charset=utf-8').send('OK'),
    );
  };
}
