/**
 * `/usage`: what a librarian asks first, answered from the usage tables kept at store time
 * (erm/usage.ts), never from the reports: `/usage/totals` (totals per month and metric), `/usage/top`
 * (the most used items by a metric) and `/usage/reports` (which reports have usage, their span and
 * metrics), for one provider (`providerId`) or the whole tenant.
 */
import { Type } from 'typebox';
import type { FastifyRequest } from 'fastify';
import type { ServiceContext } from '../context.ts';
import { usageReports, usageTop, usageTotals, type UsageQuery } from '../erm/usage.ts';
import { isFolioUuid } from '../model/schemas.ts';
import { docsOnly, type App, type Routes } from './app.ts';
import { HttpError } from './http-errors.ts';

const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;
const REPORT = /^[A-Za-z0-9_]{2,10}$/;

function params(req: FastifyRequest): Record<string, string | undefined> {
  return (req.query ?? {}) as Record<string, string | undefined>;
}

function providerParam(q: Record<string, string | undefined>): string | undefined {
  const id = q.providerId?.trim();
  if (!id) return undefined;
  if (!isFolioUuid(id)) throw new HttpError(400, 'Invalid providerId: must be a UUID');
  return id.toLowerCase();
}

function monthParam(q: Record<string, string | undefined>, name: 'from' | 'to', fallback: string): string {
  const value = q[name]?.trim();
  if (!value) return fallback;
  if (!MONTH.test(value)) throw new HttpError(400, `Invalid ${name} '${value}': must be a month yyyy-mm`);
  return value;
}

function usageQuery(req: FastifyRequest): UsageQuery {
  const q = params(req);
  const reportName = q.report?.trim();
  if (!reportName) throw new HttpError(400, 'Missing query parameter report (e.g. TR, DR, PR, TR_J1)');
  if (!REPORT.test(reportName)) throw new HttpError(400, `Invalid report '${reportName}'`);
  const from = monthParam(q, 'from', '0000-01');
  const to = monthParam(q, 'to', '9999-12');
  if (from > to) throw new HttpError(400, `from ${from} is after to ${to}`);
  const release = q.release?.trim() || undefined;
  if (release !== undefined && !['4', '5', '5.1'].includes(release))
    throw new HttpError(400, `Invalid release '${release}': 4, 5 or 5.1`);
  return { providerId: providerParam(q), reportName: reportName.toUpperCase(), release, from, to };
}

const Common = {
  providerId: Type.Optional(
    Type.String({ description: 'One provider; all providers of the tenant when absent' }),
  ),
  report: Type.String({ description: 'Report or view id as stored: TR, DR, PR, IR, TR_J1 …' }),
  release: Type.Optional(Type.String({ description: '5 or 5.1 (default: both)' })),
  from: Type.Optional(Type.String({ description: 'First month yyyy-mm' })),
  to: Type.Optional(Type.String({ description: 'Last month yyyy-mm' })),
};

export function usageRoutes(ctx: ServiceContext): Routes {
  return {
    access: 'tenant',
    prefix: '/usage',
    register: async (app: App) => {
      const tags = ['usage'];
      app.get(
        '/totals',
        {
          ...docsOnly,
          schema: {
            tags,
            summary: 'Totals per month and metric (months with usage only)',
            querystring: Type.Object(Common),
          },
        },
        async (req, reply) => {
          const q = usageQuery(req);
          const months = await usageTotals(ctx.db, req.tenant, q);
          const total: Record<string, number> = {};
          for (const m of months)
            for (const [k, v] of Object.entries(m.totals)) total[k] = (total[k] ?? 0) + v;
          return reply.type('application/json').send({
            providerId: q.providerId ?? null,
            report: q.reportName,
            release: q.release ?? null,
            from: q.from,
            to: q.to,
            metrics: Object.keys(total).sort(),
            months,
            total,
          });
        },
      );
      app.get(
        '/top',
        {
          ...docsOnly,
          schema: {
            tags,
            summary: 'The items with the highest sum of a metric over the months',
            querystring: Type.Object({
              ...Common,
              metric: Type.String({ description: 'Metric_Type, e.g. Total_Item_Requests' }),
              limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 10 })),
            }),
          },
        },
        async (req, reply) => {
          const q = usageQuery(req);
          const raw = params(req);
          const metric = raw.metric?.trim();
          if (!metric || !/^[A-Za-z_]{1,60}$/.test(metric))
            throw new HttpError(400, 'Missing or invalid query parameter metric (e.g. Total_Item_Requests)');
          const limitText = raw.limit?.trim() || '10';
          const limit = /^\d+$/.test(limitText) ? Number(limitText) : NaN;
          if (!(limit >= 1 && limit <= 100))
            throw new HttpError(400, `Invalid limit '${limitText}': an integer from 1 to 100`);
          const items = await usageTop(ctx.db, req.tenant, { ...q, metric, limit });
          return reply.type('application/json').send({
            providerId: q.providerId ?? null,
            report: q.reportName,
            from: q.from,
            to: q.to,
            metric,
            items,
          });
        },
      );
      app.get(
        '/reports',
        {
          ...docsOnly,
          schema: {
            tags,
            summary: 'Reports with usage: release, first and last month, month count, metrics',
            querystring: Type.Object({ providerId: Common.providerId }),
          },
        },
        async (req, reply) => {
          const providerId = providerParam(params(req));
          const reports = await usageReports(ctx.db, req.tenant, providerId);
          return reply.type('application/json').send({ providerId: providerId ?? null, reports });
        },
      );
    },
  };
}
