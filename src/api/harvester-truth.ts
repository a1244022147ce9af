/**
 * Harvester additions about what was harvested (README "How a harvest treats what providers
 * answer"): harvest a provider's months again without deleting them first, list the restatements the
 * re-harvests found, and list the diagnostics kept on a provider's months.
 */
import { Type } from 'typebox';
import type { ServiceContext } from '../context.ts';
import { parseYearMonth } from '../counter/index.ts';
import { providerDiagnostics } from '../harvest/diagnostics-summary.ts';
import { JobConflictError } from '../jobs/queue.ts';
import type { JobService } from '../jobs/service.ts';
import { listReportChanges } from '../store/sql/report-changes.ts';
import { docsOnly, type App, type RoutePlugin } from './app.ts';
import { intParam, param, type QueryValues } from './harvester-params.ts';
import { HttpError } from './http-errors.ts';

const TextError = Type.String({ description: 'text/plain error message' });
const REPORT_NAME = /^[A-Za-z0-9_]{1,20}$/;

/** `yyyy-MM`, or a 400 naming the parameter. */
function monthParam(query: QueryValues, name: string): string | undefined {
  const raw = param(query, name);
  if (raw === undefined) return undefined;
  const month = /^\d{4}-\d{2}$/.test(raw.trim()) ? parseYearMonth(raw.trim()) : undefined;
  if (!month) throw new HttpError(400, `'${name}' must be a month as yyyy-mm, got "${raw}"`);
  return month;
}

function reportsParam(query: QueryValues): string[] | undefined {
  const raw = param(query, 'reports');
  if (raw === undefined) return undefined;
  const names = [
    ...new Set(
      raw
        .split(',')
        .map((r) => r.trim())
        .filter((r) => r !== ''),
    ),
  ];
  const bad = names.filter((r) => !REPORT_NAME.test(r));
  if (bad.length > 0)
    throw new HttpError(400, `'reports' must be report ids separated by commas, e.g. TR,DR; got "${raw}"`);
  return names.length > 0 ? names : undefined;
}

function sendJson(reply: import('fastify').FastifyReply, body: unknown) {
  return reply.code(200).type('application/json').send(JSON.stringify(body));
}

export function truthRoutes(ctx: ServiceContext, jobs: JobService): RoutePlugin {
  return async (app: App) => {
    app.post(
      '/start/:id/again',
      {
        ...docsOnly,
        schema: {
          tags: ['harvester'],
          summary: 'Harvest months of one provider again, also those already stored (no delete needed)',
          params: Type.Object({ id: Type.String({ description: 'UDP id' }) }),
          querystring: Type.Object({
            from: Type.String({ description: 'first month, yyyy-mm' }),
            to: Type.Optional(Type.String({ description: 'last month, yyyy-mm (default: from)' })),
            reports: Type.Optional(
              Type.String({ description: "report ids, comma-separated (default: the provider's)" }),
            ),
          }),
          response: {
            200: Type.Object({ message: Type.String(), jobId: Type.String() }),
            400: TextError,
            409: TextError,
          },
        },
      },
      async (req, reply) => {
        const { id } = req.params;
        const query = req.query as QueryValues;
        const from = monthParam(query, 'from');
        if (!from) throw new HttpError(400, "'from' is required: the first month to harvest again, yyyy-mm");
        const to = monthParam(query, 'to') ?? from;
        if (to < from) throw new HttpError(400, `'to' (${to}) is before 'from' (${from})`);
        const reports = reportsParam(query);
        let jobId: string;
        try {
          jobId = await jobs.startProviderJob(req.tenant, id, {
            again: true,
            from,
            to,
            ...(reports && { reports }),
          });
        } catch (err) {
          if (err instanceof JobConflictError) throw new HttpError(409, err.message);
          throw new HttpError(500, (err as Error).message || 'Scheduling failed');
        }
        const what = `${from === to ? from : `${from}..${to}`}${reports ? ` ${reports.join(',')}` : ''}`;
        return sendJson(reply, {
          message: `Harvesting again scheduled for tenant: ${req.tenant}, providerId: ${id}, ${what}`,
          jobId,
        });
      },
    );

    const changesQuery = Type.Object({
      providerId: Type.Optional(Type.String()),
      offset: Type.Optional(Type.String()),
      limit: Type.Optional(Type.String()),
    });
    const listChanges = async (
      tenant: string,
      query: QueryValues,
      counterReportId: string | undefined,
    ): Promise<unknown> =>
      listReportChanges(ctx.db, tenant, {
        providerId: param(query, 'providerId'),
        counterReportId,
        offset: intParam(query, 'offset', 0),
        limit: intParam(query, 'limit', 100),
      });

    app.get(
      '/counter-reports/changes',
      {
        ...docsOnly,
        schema: {
          tags: ['harvester'],
          summary: 'Restatements found by re-harvests (newest first), optionally of one provider',
          querystring: changesQuery,
          response: { 400: TextError },
        },
      },
      async (req, reply) =>
        sendJson(reply, await listChanges(req.tenant, req.query as QueryValues, undefined)),
    );

    app.get(
      '/counter-reports/:id/changes',
      {
        ...docsOnly,
        schema: {
          tags: ['harvester'],
          summary: 'Restatements of one stored month (counter report id), newest first',
          params: Type.Object({ id: Type.String() }),
          querystring: changesQuery,
          response: { 400: TextError },
        },
      },
      async (req, reply) => {
        const { id } = req.params;
        return sendJson(reply, await listChanges(req.tenant, req.query, id));
      },
    );

    app.get(
      '/diagnostics',
      {
        ...docsOnly,
        schema: {
          tags: ['harvester'],
          summary:
            "The diagnostics kept on a provider's months: counts per code, and the months that have them",
          querystring: Type.Object({
            providerId: Type.String(),
            reportName: Type.Optional(Type.String()),
          }),
          response: { 400: TextError },
        },
      },
      async (req, reply) => {
        const query = req.query as QueryValues;
        const providerId = param(query, 'providerId');
        if (!providerId) throw new HttpError(400, "'providerId' is required");
        const reportName = param(query, 'reportName');
        if (reportName !== undefined && !REPORT_NAME.test(reportName))
          throw new HttpError(400, `'reportName' is not a report id: "${reportName}"`);
        return sendJson(reply, await providerDiagnostics(jobs.erm, req.tenant, providerId, reportName));
      },
    );
  };
}
