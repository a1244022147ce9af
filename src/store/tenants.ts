import type { Clock } from '../clock.ts';
import type { Db } from './db.ts';
import { quoteIdent } from './db.ts';
import { dropTenantSchema, migrateTenant } from './migrations.ts';
import { deleteTenantRuns } from './sql/harvest-runs.ts';
import { deleteTenantFires } from './sql/periodic-fires.ts';
import { deleteTenantJobs } from './sql/queue.ts';
import { deleteTenant, listTenants, tenantExists, upsertTenant } from './sql/tenants.ts';
import { deleteTenantWorkItems } from './sql/work-items.ts';

/** FOLIO tenant ids: a lower-case letter, then lower-case letters, digits and `_`; schema names fit 63 bytes. */
const TENANT_RE = /^[a-z][a-z0-9_]{0,38}$/;

export class InvalidTenantError extends Error {
  override name = 'InvalidTenantError';
}

/**
 * Names PostgreSQL or this service use for their own schemas: a tenant named so could be mistaken for
 * them, and PostgreSQL refuses every schema name starting with `pg_`.
 */
const RESERVED_TENANTS = new Set(['public', 'information_schema', 'harvester']);

function displayed(tenant: string): string {
  return JSON.stringify(tenant).slice(1, -1).slice(0, 100);
}

export function validateTenantId(tenant: string): void {
  if (!TENANT_RE.test(tenant))
    throw new InvalidTenantError(
      `Invalid tenant id '${displayed(tenant)}': use a lower-case letter followed by up to 38 lower-case letters, digits or '_'`,
    );
  if (RESERVED_TENANTS.has(tenant) || tenant.startsWith('pg_'))
    throw new InvalidTenantError(
      `Invalid tenant id '${tenant}': the name is reserved for the database's own schemas (public, information_schema, harvester and every name starting with pg_)`,
    );
}

/** A valid tenant id that is not reserved (validateTenantId without the exception). */
export function isValidTenantId(tenant: string): boolean {
  return TENANT_RE.test(tenant) && !RESERVED_TENANTS.has(tenant) && !tenant.startsWith('pg_');
}

/** The tenant's schema, FOLIO's naming: `<tenant>_mod_erm_usage_harvester`. */
export function tenantSchema(tenant: string): string {
  validateTenantId(tenant);
  return `${tenant}_mod_erm_usage_harvester`;
}

/** `"<tenant>_mod_erm_usage_harvester".<table>` */
export function tenantTable(tenant: string, table: string): string {
  return `${quoteIdent(tenantSchema(tenant))}.${quoteIdent(table)}`;
}

/**
 * The initialised tenants. Lookups are cached per process; another process's new tenant is found
 * by a database look-up on a cache miss.
 */
export class TenantRegistry {
  private readonly known = new Set<string>();

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  async exists(tenant: string): Promise<boolean> {
    if (this.known.has(tenant)) return true;
    if (!isValidTenantId(tenant)) return false;
    const exists = await tenantExists(this.db, tenant);
    if (exists) this.known.add(tenant);
    return exists;
  }

  async list(): Promise<string[]> {
    return listTenants(this.db);
  }

  /** Creates or upgrades the tenant's schema and registers it. Idempotent. */
  async enable(tenant: string, moduleTo?: string): Promise<void> {
    const schema = tenantSchema(tenant);
    await migrateTenant(this.db, schema);
    await upsertTenant(this.db, tenant, moduleTo, this.clock.now());
    this.known.add(tenant);
  }

  /** Deletes all data of the tenant. */
  async purge(tenant: string): Promise<void> {
    const schema = tenantSchema(tenant);
    await deleteTenantWorkItems(this.db, tenant);
    await deleteTenantRuns(this.db, tenant);
    await deleteTenantJobs(this.db, tenant);
    await deleteTenantFires(this.db, tenant);
    await dropTenantSchema(this.db, schema);
    await deleteTenant(this.db, tenant);
    this.known.delete(tenant);
  }
}
