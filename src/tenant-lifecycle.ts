/**
 * Enabling and purging a tenant: the store's tenant registry does the schema work, and the parts that keep
 * per-tenant state (the periodic scheduler, ...) are told through the context's hooks. The tenant API
 * (api/tenant.ts) and the service start (server.ts, the default tenant) both call these.
 */
import type { ServiceContext } from './context.ts';

/** Creates or upgrades the tenant's schema, then runs the `enabled` hooks. Idempotent. */
export async function enableTenant(ctx: ServiceContext, tenant: string, moduleTo?: string): Promise<void> {
  await ctx.tenants.enable(tenant, moduleTo);
  for (const hook of ctx.hooks.enabled) await hook(tenant);
}

/**
 * Runs the `purged` hooks (for an enabled tenant: they read its tables), then deletes every row and the
 * schema of the tenant; purging a tenant that was never enabled deletes what is there and succeeds.
 */
export async function purgeTenant(ctx: ServiceContext, tenant: string): Promise<void> {
  if (await ctx.tenants.exists(tenant)) for (const hook of ctx.hooks.purged) await hook(tenant);
  await ctx.tenants.purge(tenant);
}
