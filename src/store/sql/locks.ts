/**
 * The advisory locks (`pg_advisory_xact_lock`, held to the end of the transaction). Their first keys are
 * all here, so that two uses never share one by accident.
 */
import type { Queryable } from '../db.ts';

/** Migrations and schema drops: one at a time over all processes. */
const MIGRATION_LOCK = 727_274_001;
/** Per tenant (second key `hashtext(tenant)`): job acceptance and the periodic schedule. */
const TENANT_LOCK = 727_274_002;
/** Claims of work items: the politeness counts they read must be exact. */
export const WORK_ITEM_CLAIM_LOCK = 727_274_010;

export async function lockMigrations(tx: Queryable): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
}

/** Takes the tenant's lock for the rest of the transaction `tx`. */
export async function lockTenant(tx: Queryable, tenant: string): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [TENANT_LOCK, tenant]);
}

export async function lockWorkItemClaims(tx: Queryable): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock($1)', [WORK_ITEM_CLAIM_LOCK]);
}
