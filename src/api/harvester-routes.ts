/**
 * The harvester API (folio-contract §2.1–§2.7): start jobs, list service implementations and JobInfos, purge
 * and clean up. Status codes, content types and texts are FOLIO's. Schemas document the API only; the
 * handlers parse parameters themselves (empty means absent, bad numbers are 400 text/plain).
 */
import { Type } from 'typebox';
import type { FastifyReply } from 'fastify';
import type { ServiceContext } from '../context.ts';
import { CqlError } from '../cql/index.ts';
import { getJobInfo, listJobInfos } from '../store/sql/job-info.ts';
import type { JobService } from '../jobs/service.ts';
import { listImplementations } from '../sushi/registry.ts';
import { docsOnly, type App, type RoutePlugin, type Routes } from './app.ts';
import { periodicRoutes } from './harvester-periodic.ts';
import { providerCheckRoutes } from './provider-check.ts';
import { truthRoutes } from './harvester-truth.ts';
import { intParam, param, timestampParam, type QueryValues } from './harvester-params.ts';
import { HttpError, publicMessage } from './http-errors.ts';

const Message = Type.Object({ message: Type.String() });
const TextError = Type.String({ description: 'text/plain error message' });

export const JobInfoSchema = Type.Object(
  {
    id: Type.Optional(Type.String({ format: 'uuid' })),
    type: Type.Optional(
      Type.Union([Type.Literal('periodic'), Type.Literal('tenant'), Type.Literal('provider')]),
    ),
    providerId: Type.Optional(Type.String()),
    timestamp: Type.Optional(Type.Integer({ description: 'Creation time, epoch ms' })),
    startedAt: Type.Optional(Type.String({ format: 'date-time' })),
    finishedAt: Type.Optional(Type.String({ format: 'date-time' })),
    nextStart: Type.Optional(Type.String({ format: 'date-time' })),
    result: Type.Optional(Type.Union([Type.Literal('success'), Type.Literal('failure')])),
    errorMessage: Type.Optional(Type.String()),
    notes: Type.Optional(
      Type.Array(Type.String(), {
        description:
          'Harvester addition (not FOLIO), one sentence each in the order noted: reports not offered, ' +
          'months sent that were not requested, ...',
      }),
    ),
    report: Type.Optional(
      Type.Object(
        {
          stored: Type.Integer({ description: 'Months stored with usage' }),
          empty: Type.Integer({ description: 'Months stored with no usage (3030, empty report)' }),
          failed: Type.Object(
            {},
            {
              additionalProperties: Type.Integer(),
              description: 'Months failed, by COUNTER exception code or HTTP status (`none`: neither)',
            },
          ),
          skipped: Type.Integer({ description: 'Months not requested because the run or report stopped' }),
          deferred: Type.Integer({ description: 'Times a request was put back for later' }),
        },
        {
          additionalProperties: false,
          description: 'Added beside FOLIO fields: what a provider job harvest did with the months',
        },
      ),
    ),
  },
  { additionalProperties: false },
);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const ImplementationSchema = Type.Object(
  {
    name: Type.String(),
    description: Type.Optional(Type.String()),
    type: Type.String(),
    isAggregator: Type.Boolean(),
    isDefault: Type.Optional(Type.Boolean()),
    reportRelease: Type.Optional(Type.String()),
    supportedReports: Type.Optional(Type.Array(Type.String())),
    configurationParameters: Type.Optional(Type.Array(Type.String())),
  },
  { additionalProperties: false },
);

const JobsQuery = Type.Object({
  query: Type.Optional(Type.String({ description: 'CQL over the JobInfo JSON; may contain sortby' })),
  timestamp: Type.Optional(Type.String({ description: 'Only jobs created at or before (epoch ms)' })),
  providerId: Type.Optional(Type.String({ description: 'Only jobs of this provider' })),
  offset: Type.Optional(Type.String({ description: 'Default 0' })),
  limit: Type.Optional(Type.String({ description: 'Default 10' })),
  totalRecords: Type.Optional(Type.String({ description: 'Ignored' })),
});

const noContent = { 204: Type.Unknown({ description: 'No content' }) };

function sendJson(reply: FastifyReply, body: unknown): FastifyReply {
  return reply.code(200).type('application/json').send(JSON.stringify(body));
}

/** Refusals and scheduler/storage errors of /start are 500 text/plain with the message (folio-contract §2.1, §2.2). */
async function scheduling(start: () => Promise<unknown>): Promise<void> {
  try {
    await start();
  } catch (err) {
    throw new HttpError(500, publicMessage(err, 'Scheduling failed'));
  }
}

function startRoutes(jobs: JobService): RoutePlugin {
  return async (app: App) => {
    app.get(
      '/start',
      {
        ...docsOnly,
        schema: {
          tags: ['harvester'],
          summary: 'Harvest all active usage data providers of the tenant',
          response: { 200: Message, 500: TextError },
        },
      },
      async (req, reply) => {
        await scheduling(() => jobs.startTenantJob(req.tenant));
        return sendJson(reply, { message: `Harvesting scheduled for tenant: ${req.tenant}` });
      },
    );

    app.get(
      '/start/:id',
      {
        ...docsOnly,
        schema: {
          tags: ['harvester'],
          summary: 'Harvest one usage data provider',
          params: Type.Object({ id: Type.String({ description: 'UDP id (not validated)' }) }),
          response: { 200: Message, 500: TextError },
        },
      },
      async (req, reply) => {
        const { id } = req.params;
        await scheduling(() => jobs.startProviderJob(req.tenant, id));
        return sendJson(reply, {
          message: `Harvesting scheduled for tenant: ${req.tenant}, providerId: ${id}`,
        });
      },
    );
  };
}

/**
 * The `aggregator` filter of `/impl`: absent or empty → no filter; `true` in any case → true; any other
 * string → false.
 */
function parseAggregatorFilter(value: string | undefined): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  return value.toLowerCase() === 'true';
}

function implRoutes(ctx: ServiceContext): RoutePlugin {
  return async (app: App) => {
    app.get(
      '/impl',
      {
        ...docsOnly,
        schema: {
          tags: ['harvester'],
          summary: 'List the service implementations',
          querystring: Type.Object({
            aggregator: Type.Optional(
              Type.String({ description: '"true" (any case) or anything else = false' }),
            ),
          }),
          response: { 200: Type.Object({ implementations: Type.Array(ImplementationSchema) }) },
        },
      },
      async (req, reply) => {
        const filter = parseAggregatorFilter(param(req.query, 'aggregator'));
        const implementations = listImplementations(
          { enableStandardViews: ctx.config.harvest.enableStandardViews },
          { aggregator: filter },
        );
        return sendJson(reply, { implementations });
      },
    );
  };
}

function jobsRoutes(ctx: ServiceContext, jobs: JobService): RoutePlugin {
  return async (app: App) => {
    app.get(
      '/jobs',
      {
        ...docsOnly,
        schema: {
          tags: ['jobs'],
          summary: 'List JobInfos',
          querystring: JobsQuery,
          response: {
            200: Type.Object({ jobInfos: Type.Array(JobInfoSchema), totalRecords: Type.Integer() }),
            400: TextError,
          },
        },
      },
      async (req, reply) => {
        const query = req.query as QueryValues;
        const list = {
          cql: param(query, 'query'),
          timestamp: timestampParam(query),
          providerId: param(query, 'providerId'),
          offset: intParam(query, 'offset', 0),
          limit: intParam(query, 'limit', 10),
        };
        try {
          return sendJson(reply, await listJobInfos(ctx.db, req.tenant, list));
        } catch (err) {
          if (err instanceof CqlError) throw new HttpError(400, err.message);
          throw err;
        }
      },
    );

    app.get(
      '/jobs/:id',
      {
        ...docsOnly,
        schema: {
          tags: ['jobs'],
          summary: 'One JobInfo, with the report of a provider job (an addition to FOLIO)',
          params: Type.Object({ id: Type.String() }),
          response: { 200: JobInfoSchema, 404: TextError },
        },
      },
      async (req, reply) => {
        const { id } = req.params;
        const info = UUID.test(id) ? await getJobInfo(ctx.db, req.tenant, id) : undefined;
        if (!info) throw new HttpError(404, `JobInfo not found: ${id}`);
        return sendJson(reply, info);
      },
    );

    app.post(
      '/jobs/purgefinished',
      {
        ...docsOnly,
        schema: {
          tags: ['jobs'],
          summary: 'Delete finished JobInfos (optionally only those created at or before timestamp)',
          querystring: Type.Object({ timestamp: Type.Optional(Type.String({ description: 'epoch ms' })) }),
          response: { ...noContent, 400: TextError },
        },
      },
      async (req, reply) => {
        const timestamp = timestampParam(req.query);
        await jobs.cleanup.purgeFinished(req.tenant, timestamp);
        return reply.code(204).send();
      },
    );

    app.post(
      '/jobs/purgestale',
      {
        ...docsOnly,
        schema: { tags: ['jobs'], summary: 'Mark stale jobs as failed', response: noContent },
      },
      async (req, reply) => {
        await jobs.cleanup.purgeStale(req.tenant);
        return reply.code(204).send();
      },
    );

    app.post(
      '/jobs/cleanup',
      {
        ...docsOnly,
        // The timer endpoint answers 204 whatever happens, also for a tenant that is not initialised.
        config: { tenant: 'present' },
        schema: {
          tags: ['jobs'],
          summary: 'Timer: purgestale, then purgefinished older than days_to_keep_logs (always 204)',
          response: noContent,
        },
      },
      async (req, reply) => {
        try {
          if (await ctx.tenants.exists(req.tenant)) await jobs.cleanup.cleanup(req.tenant);
        } catch (err) {
          ctx.log.error({ tenant: req.tenant, err: (err as Error).message }, 'cleanup failed');
        }
        return reply.code(204).send();
      },
    );
  };
}

export function harvesterRoutes(ctx: ServiceContext, jobs: JobService): Routes {
  return {
    access: 'tenant',
    prefix: '/erm-usage-harvester',
    register: async (app: App) => {
      await app.register(startRoutes(jobs));
      await app.register(implRoutes(ctx));
      await app.register(jobsRoutes(ctx, jobs));
      await app.register(periodicRoutes(ctx, jobs));
      await app.register(providerCheckRoutes(ctx, jobs.erm));
      await app.register(truthRoutes(ctx, jobs));
    },
  };
}
