import type { Clock } from './clock.ts';
import type { Config } from './config.ts';
import type { Keyring } from './credentials/index.ts';
import type { Logger } from './log.ts';
import type { Metrics } from './metrics.ts';
import type { Db } from './store/db.ts';
import type { TenantRegistry } from './store/tenants.ts';

/** Callbacks run when a tenant is enabled (created or upgraded), disabled or purged. */
export interface TenantHooks {
  enabled: ((tenant: string) => Promise<void>)[];
  disabled: ((tenant: string) => Promise<void>)[];
  purged: ((tenant: string) => Promise<void>)[];
}

/** What every part of the service shares: built once by the composition root (server.ts). */
export interface ServiceContext {
  config: Config;
  db: Db;
  clock: Clock;
  log: Logger;
  tenants: TenantRegistry;
  hooks: TenantHooks;
  metrics: Metrics;
  /** Encrypts and decrypts the standalone store's credentials (docs/credentials.md). */
  keyring: Keyring;
}
