/**
 * The standalone store's credentials at rest (docs/credentials.md): the keyring the service starts
 * with, checked against what the tenants' provider and aggregator tables hold, and the rotation walk
 * that re-encrypts every stored secret under the current key.
 */
import type { Config } from '../config.ts';
import {
  Keyring,
  loadKeyring,
  rotateCredentials,
  SecretKey,
  storedSecretValues,
  type LoadedKeyring,
  type RotationResult,
  type SecretRecordKind,
} from '../credentials/index.ts';
import type { JsonRecord } from '../model/records.ts';
import type { Db, Queryable } from '../store/db.ts';
import { tenantTable } from '../store/tenants.ts';

/** The record tables that hold credentials, and the kind of record each holds. */
const SECRET_TABLES: readonly { table: string; kind: SecretRecordKind }[] = [
  { table: 'usage_data_providers', kind: 'provider' },
  { table: 'aggregator_settings', kind: 'aggregator' },
];

async function rowsOf(
  db: Queryable,
  tenant: string,
  table: string,
): Promise<{ id: string; jsonb: JsonRecord }[]> {
  const res = await db.query<{ id: string; jsonb: JsonRecord }>(
    `SELECT id, jsonb FROM ${tenantTable(tenant, table)} ORDER BY seq`,
  );
  return res.rows;
}

/** Every secret value stored by the tenants (envelopes, or plain text written before encryption). */
export async function storedCredentialValues(db: Db, tenants: readonly string[]): Promise<string[]> {
  const values: string[] = [];
  for (const tenant of tenants)
    for (const { table, kind } of SECRET_TABLES)
      for (const row of await rowsOf(db, tenant, table)) values.push(...storedSecretValues(kind, row.jsonb));
  return values;
}

/**
 * The keyring the service runs with. Standalone mode: HARVESTER_SECRET_KEY, else the key file beside
 * the embedded database (created on the first start), else (in-memory database) a key for this
 * process; checked against the stored credentials, so that a wrong or missing key stops the start
 * (CredentialKeyError) instead of losing them. FOLIO mode keeps no credentials: a process key.
 */
export async function loadServiceKeyring(
  config: Config,
  db: Db,
  tenants: readonly string[],
): Promise<LoadedKeyring> {
  if (config.mode === 'folio' && !config.secretKey)
    return { keyring: new Keyring(SecretKey.generate()), source: 'process', warnings: [] };
  const embedded = !config.databaseUrl;
  return loadKeyring({
    secretKey: config.secretKey,
    previousSecretKey: config.previousSecretKey,
    dataDir: embedded && !config.memory ? config.dataDir : undefined,
    memory: embedded && config.memory,
    storedValues: await storedCredentialValues(db, tenants),
  });
}

/** A stored secret written in clear text (by a version before encryption existed). */
const isPlain = (value: string): boolean => !value.startsWith('enc:');

export interface PlainEncryption {
  /** Records rewritten. */
  records: number;
  /** Values encrypted. */
  values: number;
}

/**
 * At start-up: encrypts under the current key every secret still stored in clear text, in one
 * transaction over all tenants with the rows locked (all or nothing; a process starting at the same time
 * waits, then finds nothing to do). Values under other keys are left to the rotation. Idempotent: when
 * nothing is plain (the usual case, one read of the records) nothing is locked or written. The stale
 * clear-text row versions the update leaves are compacted away (`VACUUM FULL` of the tables written).
 */
export async function encryptPlainCredentials(
  db: Db,
  tenants: readonly string[],
  keyring: Keyring,
): Promise<PlainEncryption> {
  const done: PlainEncryption = { records: 0, values: 0 };
  if (!(await storedCredentialValues(db, tenants)).some(isPlain)) return done;
  const written: string[] = [];
  await db.transaction(async (tx) => {
    for (const tenant of tenants)
      for (const { table, kind } of SECRET_TABLES) {
        const qualified = tenantTable(tenant, table);
        const res = await tx.query<{ id: string; jsonb: JsonRecord }>(
          `SELECT id, jsonb FROM ${qualified} ORDER BY seq FOR UPDATE`,
        );
        const one = await rotateCredentials({
          records: res.rows.map((r) => ({ kind, id: r.id, tenant, record: r.jsonb })),
          from: [],
          to: keyring.current,
          reencrypt: false,
          write: async (stored) => {
            await tx.query(`UPDATE ${qualified} SET jsonb = $2::jsonb WHERE id = $1::uuid`, [
              stored.id,
              JSON.stringify(stored.record),
            ]);
          },
        });
        done.records += one.written;
        done.values += one.encrypted;
        if (one.written > 0) written.push(qualified);
      }
  });
  for (const qualified of written) await db.query(`VACUUM FULL ${qualified}`);
  return done;
}

export interface StoreRotationResult extends RotationResult {
  /** The key every secret is now encrypted under. */
  keyId: string;
  tenants: number;
}

/**
 * Re-encrypts every stored secret of every tenant under the keyring's current key (from its previous
 * keys, and plain values too). One transaction per record, with the row locked, so that a write in
 * between is neither lost nor overwritten; run again after an interruption, it continues.
 */
export async function rotateStoredCredentials(
  db: Db,
  tenants: readonly string[],
  keyring: Keyring,
): Promise<StoreRotationResult> {
  const total: StoreRotationResult = {
    keyId: keyring.keyId,
    tenants: tenants.length,
    records: 0,
    written: 0,
    reencrypted: 0,
    encrypted: 0,
    alreadyCurrent: 0,
  };
  for (const tenant of tenants)
    for (const { table, kind } of SECRET_TABLES) {
      const qualified = tenantTable(tenant, table);
      for (const { id } of await rowsOf(db, tenant, table)) {
        const one = await db.transaction(async (tx) => {
          const res = await tx.query<{ jsonb: JsonRecord }>(
            `SELECT jsonb FROM ${qualified} WHERE id = $1::uuid FOR UPDATE`,
            [id],
          );
          const record = res.rows[0]?.jsonb;
          if (!record) return undefined;
          return rotateCredentials({
            records: [{ kind, id, tenant, record }],
            from: keyring.previousKeys(),
            to: keyring.current,
            write: async (stored) => {
              await tx.query(`UPDATE ${qualified} SET jsonb = $2::jsonb WHERE id = $1::uuid`, [
                id,
                JSON.stringify(stored.record),
              ]);
            },
          });
        });
        if (!one) continue;
        total.records += one.records;
        total.written += one.written;
        total.reencrypted += one.reencrypted;
        total.encrypted += one.encrypted;
        total.alreadyCurrent += one.alreadyCurrent;
      }
    }
  return total;
}
