/**
 * `/erm-usage-harvester/periodic` (folio-contract §2.8): one PeriodicConfig per tenant under a fixed id.
 * GET 200/404/500, POST 201/400/422/500, DELETE 204/404/500; 404 and 500 have empty bodies.
 */
import { Type } from 'typebox';
import type { FastifyReply } from 'fastify';
import type { ServiceContext } from '../context.ts';
import { normalizeDateTime } from '../dates.ts';
import {
  deletePeriodicConfig,
  getPeriodicConfig,
  PERIODIC_CONFIG_ID,
  PERIODIC_INTERVALS,
  savePeriodicConfig,
  type PeriodicConfig,
  type PeriodicInterval,
} from '../store/sql/periodic-config.ts';
import type { JobService } from '../jobs/service.ts';
import { docsOnly, type App, type RoutePlugin } from './app.ts';
import { HttpError, unprocessable, type RmbError } from './http-errors.ts';

const PATH = '/periodic';

export const PeriodicConfigSchema = Type.Object(
  {
    id: Type.Optional(Type.String({ description: `Always ${PERIODIC_CONFIG_ID}; ignored on input` })),
    startAt: Type.String({ format: 'date-time' }),
    lastTriggeredAt: Type.Optional(Type.String({ format: 'date-time' })),
    periodicInterval: Type.Union([Type.Literal('daily'), Type.Literal('weekly'), Type.Literal('monthly')]),
  },
  { additionalProperties: true },
);
const Empty = Type.Unknown({ description: 'Empty body' });

function notNull(field: string): RmbError {
  return {
    message: 'must not be null',
    type: '1',
    code: 'javax.validation.constraints.NotNull.message',
    parameters: [{ key: field, value: 'null' }],
  };
}

function dateField(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  const normalized = typeof value === 'string' ? normalizeDateTime(value) : undefined;
  if (normalized === undefined)
    throw new HttpError(400, `Invalid value for ${field}: ${JSON.stringify(value)} is not a date-time`);
  return normalized;
}

/** Validates a POSTed body: 400 for bad JSON, enum or date values, 422 for missing required fields. */
function parsePeriodicConfig(body: unknown): PeriodicConfig {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new HttpError(400, 'The request body must be a JSON object (PeriodicConfig)');
  const input = body as Record<string, unknown>;
  const missing = (['startAt', 'periodicInterval'] as const).filter(
    (f) => input[f] === undefined || input[f] === null,
  );
  if (missing.length > 0) throw unprocessable(missing.map(notNull));
  const interval = input.periodicInterval;
  if (typeof interval !== 'string' || !PERIODIC_INTERVALS.includes(interval as PeriodicInterval))
    throw new HttpError(
      400,
      `Invalid value for periodicInterval: ${JSON.stringify(interval)} (expected one of daily, weekly, monthly)`,
    );
  const config: PeriodicConfig = {
    ...input,
    id: PERIODIC_CONFIG_ID,
    startAt: dateField(input, 'startAt') ?? '',
    periodicInterval: interval as PeriodicInterval,
  };
  const last = dateField(input, 'lastTriggeredAt');
  if (last === undefined) delete config.lastTriggeredAt;
  else config.lastTriggeredAt = last;
  return config;
}

function empty(reply: FastifyReply, status: number): FastifyReply {
  return reply.code(status).send();
}

export function periodicRoutes(ctx: ServiceContext, jobs: JobService): RoutePlugin {
  const storageFailed = (reply: FastifyReply, tenant: string, err: unknown) => {
    ctx.log.error({ tenant, err: (err as Error).message }, 'periodic: storage error');
    return empty(reply, 500);
  };

  return async (app: App) => {
    app.get(
      PATH,
      {
        ...docsOnly,
        schema: {
          tags: ['periodic'],
          summary: 'The periodic harvesting configuration',
          response: { 200: PeriodicConfigSchema, 404: Empty, 500: Empty },
        },
      },
      async (req, reply) => {
        let config: PeriodicConfig | undefined;
        try {
          config = await getPeriodicConfig(ctx.db, req.tenant);
        } catch (err) {
          return storageFailed(reply, req.tenant, err);
        }
        if (!config) return empty(reply, 404);
        return reply.code(200).type('application/json').send(JSON.stringify(config));
      },
    );

    app.post(
      PATH,
      {
        ...docsOnly,
        schema: {
          tags: ['periodic'],
          summary: 'Store (replace) the periodic configuration and (re)build the schedule',
          body: PeriodicConfigSchema,
          response: { 201: Empty, 400: Type.String(), 422: Type.Object({}), 500: Empty },
        },
      },
      async (req, reply) => {
        const config = parsePeriodicConfig(req.body);
        try {
          await savePeriodicConfig(ctx.db, req.tenant, config);
        } catch (err) {
          return storageFailed(reply, req.tenant, err);
        }
        try {
          await jobs.scheduler.rebuild(req.tenant);
        } catch (err) {
          ctx.log.error({ tenant: req.tenant, err: (err as Error).message }, 'periodic: scheduling failed');
        }
        return empty(reply, 201);
      },
    );

    app.delete(
      PATH,
      {
        ...docsOnly,
        schema: {
          tags: ['periodic'],
          summary: 'Delete the periodic configuration and its schedule',
          response: { 204: Empty, 404: Empty, 500: Empty },
        },
      },
      async (req, reply) => {
        let deleted: boolean;
        try {
          deleted = await deletePeriodicConfig(ctx.db, req.tenant);
        } catch (err) {
          return storageFailed(reply, req.tenant, err);
        }
        if (!deleted) return empty(reply, 404);
        try {
          await jobs.scheduler.remove(req.tenant);
        } catch (err) {
          ctx.log.error(
            { tenant: req.tenant, err: (err as Error).message },
            'periodic: removing the schedule failed',
          );
        }
        return empty(reply, 204);
      },
    );
  };
}
