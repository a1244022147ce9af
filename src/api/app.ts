/**
 * The Fastify app: body parsing, error rendering, OpenAPI, and the scopes that guard the routes. Route
 * files (one per resource) hand in `Routes` saying what a request must present to reach them; each
 * kind is registered inside the encapsulated plugin whose hook checks exactly that:
 *
 *   root                health, API docs, the web UI: open
 *   └─ token scope      the service token when HARVESTER_TOKEN is set: /metrics
 *      └─ tenant scope  then X-Okapi-Tenant naming an enabled tenant: /_/tenant, /erm-usage-harvester,
 *                       the store's resources
 */
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify';
import { createHash, timingSafeEqual } from 'node:crypto';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { ServiceContext } from '../context.ts';
import { secrets } from '../log.ts';
import { validateTenantId } from '../store/tenants.ts';
import { HttpError, publicMessage } from './http-errors.ts';
import { guardInput } from './input-guard.ts';
import { capConnections, serverTimeoutOptions } from './server-limits.ts';

export type App = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * In the tenant scope: `initialised` (default) wants an existing tenant, `required` a valid tenant id
     * that need not exist yet (the tenant API itself), `present` any non-empty header (the cleanup timer,
     * which answers 204 whatever happens).
     */
    tenant?: 'present' | 'required' | 'initialised';
  }
  interface FastifyRequest {
    tenant: string;
  }
}

/** Registers routes on the instance it is given. */
export type RoutePlugin = (app: App) => Promise<void>;

/** Routes, what a request must present to reach them, and their common path prefix. */
export interface Routes {
  /** `open`: nothing; `token`: the service token; `tenant`: the token and the tenant. */
  access: 'open' | 'token' | 'tenant';
  /** With a prefix, an unknown path below it gets the same checks before its 404. */
  prefix?: string;
  register: RoutePlugin;
}

export const TENANT_MISSING = 'Unable to process request Tenant must be set';

/** Schemas on routes with this option document the API only: the handlers check their input themselves. */
export const docsOnly = {
  validatorCompiler: () => () => true,
  serializerCompiler: () => (data: unknown) => JSON.stringify(data),
};

/** `application/x-www-form-urlencoded` decoding (`+` is a space); the first of repeated keys wins. */
function parseQuery(qs: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(qs)) if (!(k in out)) out[k] = v;
  return out;
}

function presentedToken(req: FastifyRequest): string | undefined {
  const okapi = req.headers['x-okapi-token'];
  if (typeof okapi === 'string' && okapi !== '') return okapi;
  const auth = req.headers.authorization;
  if (typeof auth === 'string' && /^bearer\s+/i.test(auth)) return auth.replace(/^bearer\s+/i, '').trim();
  return undefined;
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** Compares in constant time (equal-length digests), so the answer time tells nothing about the token. */
function tokenMatches(presented: string | undefined, expected: Buffer): boolean {
  return presented !== undefined && timingSafeEqual(digest(presented), expected);
}

function sendError(reply: FastifyReply, status: number, message: string, body?: unknown): void {
  if (body !== undefined) void reply.code(status).type('application/json').send(body);
  else void reply.code(status).type('text/plain; charset=utf-8').send(secrets.redact(message));
}

function sendText(reply: FastifyReply, status: number, text: string): FastifyReply {
  return reply.code(status).type('text/plain; charset=utf-8').send(text);
}

/** The 413 text: the route's limit and the setting that raises it. */
function tooLarge(req: FastifyRequest, ctx: ServiceContext): string {
  const limit = req.routeOptions.bodyLimit ?? ctx.config.server.bodyLimitBytes;
  const setting =
    limit === ctx.config.server.reportBodyLimitBytes && limit !== ctx.config.server.bodyLimitBytes
      ? 'SERVER_REPORT_BODY_LIMIT_BYTES'
      : 'SERVER_BODY_LIMIT_BYTES';
  return (
    `Request body too large: ${req.method} ${req.routeOptions.url ?? req.url.split('?')[0]} takes at most ` +
    `${limit} bytes (${formatBytes(limit)}); the limit is set by ${setting}`
  );
}

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

/** Errors before routing (a path that does not decode: `%`, `%ED%A0%80`): text, like every 400. */
function badUrl(err: FastifyError, reply: FastifyReply): FastifyReply {
  const status = typeof err.statusCode === 'number' ? err.statusCode : 400;
  const hint = err.code === 'FST_ERR_BAD_URL' ? '; each % must start a UTF-8 sequence such as %C3%A9' : '';
  return sendText(reply, status, `Invalid URL: ${err.message}${hint}`);
}

function noRoute(req: FastifyRequest, reply: FastifyReply): void {
  sendError(reply, 404, `No route for ${req.method} ${req.url.split('?')[0]}`);
}

/** The token scope's hook. */
function requireToken(expected: Buffer) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    if (!tokenMatches(presentedToken(req), expected))
      return sendText(
        reply,
        401,
        'Missing or invalid token: send it as X-Okapi-Token or Authorization: Bearer',
      );
  };
}

/** The tenant scope's hook: X-Okapi-Tenant present and, unless the route says otherwise, enabled. */
function requireTenant(ctx: ServiceContext) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const header = req.headers['x-okapi-tenant'];
    const tenant = typeof header === 'string' ? header.trim() : '';
    if (!tenant) return sendText(reply, 400, TENANT_MISSING);
    req.tenant = tenant;
    const rule = req.routeOptions.config?.tenant ?? 'initialised';
    if (rule === 'present') return;
    try {
      validateTenantId(tenant);
    } catch (err) {
      return sendText(reply, 400, (err as Error).message);
    }
    if (rule === 'initialised' && !(await ctx.tenants.exists(tenant)))
      return sendText(
        reply,
        400,
        `Tenant '${tenant}' does not exist: enable it with POST /_/tenant or 'erm-usage-harvester tenants add ${tenant}'`,
      );
  };
}

async function registerRoutes(scope: App, routes: Routes): Promise<void> {
  if (routes.prefix === undefined) return scope.register(routes.register);
  await scope.register(
    async (prefixed: App) => {
      prefixed.setNotFoundHandler(noRoute);
      await routes.register(prefixed);
    },
    { prefix: routes.prefix },
  );
}

/** A route as registered: method and Fastify path (`:id` for a parameter). */
export interface RegisteredRoute {
  method: string;
  url: string;
}

const registered = new WeakMap<App, RegisteredRoute[]>();

/**
 * Every route the app registered (HEAD routes Fastify adds by itself left out): what the
 * ModuleDescriptor must declare or list as standalone-only (test/folio/module-descriptor.test.ts).
 */
export function registeredRoutes(app: App): RegisteredRoute[] {
  return [...(registered.get(app) ?? [])];
}

export async function buildApp(
  ctx: ServiceContext,
  routes: readonly (Routes | readonly Routes[])[],
): Promise<App> {
  const logger: FastifyBaseLogger = ctx.log;
  const app = Fastify({
    loggerInstance: logger,
    // Request lines are not logged (URLs may carry CQL with personal data); errors are.
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: { querystringParser: parseQuery, ignoreTrailingSlash: true },
    // Routes that take large bodies (counter reports) raise it for themselves (docs/hardening.md, "Client input").
    bodyLimit: ctx.config.server.bodyLimitBytes,
    forceCloseConnections: true,
    // A path that does not decode (`%`, `%ED%A0%80`) is answered before routing: as text, like all 400s.
    frameworkErrors: (err, _req, reply) => void badUrl(err, reply as unknown as FastifyReply),
    ...serverTimeoutOptions(ctx.config.server),
  }).withTypeProvider<TypeBoxTypeProvider>();
  capConnections(app.server, ctx.config.server);
  const routeList: RegisteredRoute[] = [];
  registered.set(app, routeList);
  app.addHook('onRoute', (route) => {
    if (route.prefixTrailingSlash === 'no-slash' && route.url.endsWith('/') && route.url !== '/') return;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) if (method !== 'HEAD') routeList.push({ method, url: route.url });
  });

  // Bodies: JSON may be empty (foliolib POSTs `Content-Type: application/json` with no body);
  // any other content type is accepted as text and ignored by routes that take no body.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(/^application\/([\w.+-]+\+)?json/i, { parseAs: 'string' }, (_req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, null);
    try {
      done(null, JSON.parse(text));
    } catch (err) {
      done(new HttpError(400, `Request body is not valid JSON: ${(err as Error).message}`), undefined);
    }
  });
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  app.decorateRequest('tenant', '');
  guardInput(app);
  const expectedToken = ctx.config.token ? digest(ctx.config.token) : undefined;
  secrets.add(ctx.config.token);

  app.addHook('onResponse', async (req, reply) => {
    ctx.metrics.httpRequests.inc({
      method: req.method,
      route: req.routeOptions.url ?? 'unknown',
      status: String(reply.statusCode),
    });
  });

  // Never hand a token back: foliolib stores any x-okapi-token response header as its new token.
  app.addHook('onSend', async (_req, reply, payload) => {
    reply.removeHeader('x-okapi-token');
    return payload;
  });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof HttpError) return sendError(reply, err.statusCode, err.message, err.body);
    const status: number = typeof err.statusCode === 'number' ? err.statusCode : 500;
    if (err.validation) return sendError(reply, 400, `Invalid request: ${err.message}`);
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return sendError(reply, 413, tooLarge(req, ctx));
    if (status >= 400 && status < 500) return sendError(reply, status, err.message);
    req.log.error(
      { err: { message: secrets.redact(String(err.message)), stack: err.stack } },
      'request failed',
    );
    return sendError(reply, 500, publicMessage(err));
  });
  app.setNotFoundHandler(noRoute);

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'erm-usage-harvester',
        description:
          'COUNTER usage harvester. Wire-compatible with FOLIO mod-erm-usage-harvester (interface erm-usage-harvester 2.1); ' +
          'in standalone mode it also serves the part of mod-erm-usage that harvesting needs.',
        version: '0.1.0',
      },
      components: {
        securitySchemes: {
          tenant: { type: 'apiKey', in: 'header', name: 'X-Okapi-Tenant' },
          token: { type: 'apiKey', in: 'header', name: 'X-Okapi-Token' },
        },
      },
      security: [{ tenant: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list' } });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  const all = routes.flat();
  const scoped = (access: Routes['access']) => all.filter((r) => r.access === access);
  for (const r of scoped('open')) await registerRoutes(app, r);
  await app.register(async (tokenScope: App) => {
    if (expectedToken) tokenScope.addHook('onRequest', requireToken(expectedToken));
    for (const r of scoped('token')) await registerRoutes(tokenScope, r);
    await tokenScope.register(async (tenantScope: App) => {
      tenantScope.addHook('onRequest', requireTenant(ctx));
      for (const r of scoped('tenant')) await registerRoutes(tenantScope, r);
    });
  });
  return app;
}
