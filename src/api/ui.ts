/**
 * The web UI: static files from the repository's web/ folder under `/ui/` (plain ES modules and CSS, no
 * build step) and a redirect from `/` to `/ui/`. The files are open (registered outside the token and tenant
 * scopes, app.ts); the UI itself calls the HTTP API with the tenant and the optional token the user enters.
 */
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { ServiceContext } from '../context.ts';
import { packageRoot } from '../package-root.ts';
import type { App, Routes } from './app.ts';

/** web/ at the repository root (next to src/ and dist/). */
function webRoot(): string {
  return path.join(packageRoot(), 'web');
}

export function uiRoutes(_ctx: ServiceContext): Routes {
  return { access: 'open', register: uiFiles };
}

async function uiFiles(app: App): Promise<void> {
  await app.register(fastifyStatic, {
    root: webRoot(),
    prefix: '/ui/',
    schemaHide: true,
    index: 'index.html',
    // No build step and no fingerprinted names: let the browser revalidate (ETag) every time.
    cacheControl: true,
    maxAge: 0,
    setHeaders: (reply) => {
      reply.header('x-content-type-options', 'nosniff');
      reply.header(
        'content-security-policy',
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
      );
    },
  });
  // The router ignores trailing slashes, so `/ui/` never reaches the static wildcard `/ui/*`: one route
  // answers both, sending `/ui` on to `/ui/` (the page's relative URLs need the slash) and serving
  // index.html for `/ui/`.
  app.get('/ui', { schema: { hide: true } }, async (req, reply) => {
    const [path, query] = req.url.split('?');
    if (!path.endsWith('/')) return reply.redirect(`${path}/${query === undefined ? '' : `?${query}`}`, 302);
    return reply.sendFile('index.html');
  });
  app.get('/', { schema: { hide: true } }, async (_req, reply) => reply.redirect('/ui/', 302));
}
