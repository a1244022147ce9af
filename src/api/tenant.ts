import { randomUUID } from 'node:crypto';
import { Type } from 'typebox';
import type { ServiceContext } from '../context.ts';
import {
  deleteTenantOperation,
  loadTenantOperation,
  saveTenantOperation,
} from '../store/sql/tenant-operations.ts';
import { InvalidTenantError, validateTenantId } from '../store/tenants.ts';
import { enableTenant, purgeTenant } from '../tenant-lifecycle.ts';
import type { App, RoutePlugin, Routes } from './app.ts';
import { HttpError, publicMessage } from './http-errors.ts';

interface TenantOperation {
  id: string;
  tenant: string;
  tenantAttributes: Record<string, unknown>;
  complete: boolean;
  error?: string;
}

const TenantAttributes = Type.Object(
  {
    module_to: Type.Optional(Type.String()),
    module_from: Type.Optional(Type.String()),
    purge: Type.Optional(Type.Boolean()),
    parameters: Type.Optional(
      Type.Array(Type.Object({ key: Type.String(), value: Type.Optional(Type.String()) })),
    ),
  },
  { additionalProperties: true },
);

/**
 * FOLIO's `_tenant` 2.0 interface: enable/upgrade creates or migrates the tenant's schema (answered 201 with
 * a Location to poll, as RMB does), disable keeps the data, purge deletes it. The token and X-Okapi-Tenant
 * are checked; the tenant need not exist yet.
 */
export function tenantRoutes(ctx: ServiceContext): Routes {
  return { access: 'tenant', prefix: '/_/tenant', register: operationRoutes(ctx) };
}

function operationRoutes(ctx: ServiceContext): RoutePlugin {
  const store = async (op: TenantOperation) => saveTenantOperation(ctx.db, op, ctx.clock.now());
  const load = async (tenant: string, id: string): Promise<TenantOperation | undefined> => {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return undefined;
    return loadTenantOperation<TenantOperation>(ctx.db, tenant, id);
  };

  return async (app: App) => {
    app.post(
      '',
      {
        config: { tenant: 'required' },
        schema: {
          tags: ['tenant'],
          summary: 'Enable, upgrade, disable or purge a tenant (FOLIO _tenant 2.0)',
          // Documented but checked by hand: an empty body must be accepted (disable).
          body: Type.Union([TenantAttributes, Type.Null()]),
        },
      },
      async (req, reply) => {
        const attrs = (req.body ?? {}) as Record<string, unknown>;
        if (typeof attrs !== 'object' || Array.isArray(attrs))
          throw new HttpError(400, 'The body must be a JSON object of tenant attributes');
        const tenant = req.tenant;
        try {
          validateTenantId(tenant);
          if (attrs.purge === true) {
            await purgeTenant(ctx, tenant);
            return reply.code(204).send();
          }
          if (typeof attrs.module_to !== 'string' || attrs.module_to === '') {
            if (await ctx.tenants.exists(tenant)) for (const hook of ctx.hooks.disabled) await hook(tenant);
            return reply.code(204).send();
          }
        } catch (err) {
          // A database failure is no client error, and its text never leaves the service.
          if (err instanceof InvalidTenantError) throw new HttpError(400, err.message);
          ctx.log.error({ tenant, err: (err as Error).message }, 'tenant disable or purge failed');
          throw new HttpError(500, publicMessage(err));
        }
        const op: TenantOperation = { id: randomUUID(), tenant, tenantAttributes: attrs, complete: false };
        await store(op);
        // Work continues after the answer; the caller polls GET /_/tenant/{id}.
        void (async () => {
          try {
            await enableTenant(ctx, tenant, attrs.module_to as string);
            op.complete = true;
          } catch (err) {
            op.complete = true;
            op.error = publicMessage(err);
            ctx.log.error({ tenant, err: (err as Error).message }, 'tenant enable failed');
          }
          await store(op).catch((e: unknown) =>
            ctx.log.error({ err: String(e) }, 'could not record tenant operation'),
          );
        })();
        return reply.code(201).header('Location', `/_/tenant/${op.id}`).type('application/json').send(op);
      },
    );

    app.get(
      '/:operationId',
      {
        config: { tenant: 'required' },
        schema: {
          tags: ['tenant'],
          summary: 'State of a tenant operation; `wait` (ms) waits for completion',
          params: Type.Object({ operationId: Type.String() }),
          querystring: Type.Object({ wait: Type.Optional(Type.String()) }),
        },
      },
      async (req, reply) => {
        const { operationId } = req.params;
        const wait = Math.min(Math.max(Number(req.query.wait ?? 0) || 0, 0), 60_000);
        const deadline = Date.now() + wait;
        let op = await load(req.tenant, operationId);
        while (op && !op.complete && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 50));
          op = await load(req.tenant, operationId);
        }
        if (!op) throw new HttpError(404, `Tenant operation ${operationId} not found`);
        return reply.type('application/json').send(op);
      },
    );

    app.delete(
      '/:operationId',
      {
        config: { tenant: 'required' },
        schema: {
          tags: ['tenant'],
          summary: 'Forget a tenant operation',
          params: Type.Object({ operationId: Type.String() }),
        },
      },
      async (req, reply) => {
        const { operationId } = req.params;
        if (!(await load(req.tenant, operationId)))
          throw new HttpError(404, `Tenant operation ${operationId} not found`);
        await deleteTenantOperation(ctx.db, operationId);
        return reply.code(204).send();
      },
    );
  };
}
