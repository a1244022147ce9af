/**
 * Key rotation: every stored secret is re-encrypted from the old key(s) to the new key, record by
 * record. It can be interrupted and run again: values already under the new key are skipped and a
 * record whose secrets need nothing is not written, so a second run writes nothing.
 *
 * The same walk encrypts secrets that are still plain text (records written before encryption was
 * enabled), unless `encryptPlain` is false; with `reencrypt` false it does only that (the start-up
 * encryption of values an older version stored in clear text).
 */
import { Keyring, parseEnvelope, type SecretKey } from './cipher.ts';
import { CredentialDecryptError } from './errors.ts';
import { rewriteSecrets, type SecretRecordKind } from './fields.ts';

/** A JSON record as the store keeps it. */
type JsonRecord = Record<string, unknown>;

/** One stored provider or aggregator setting, as the database walk yields it. */
export interface StoredCredentialRecord {
  kind: SecretRecordKind;
  /** The record's id (messages name it; never a secret). */
  id: string;
  /** The tenant, when the walk covers several. */
  tenant?: string;
  /** The record as stored: secrets encrypted (or, for old records, plain). */
  record: JsonRecord;
}

export interface RotationOptions {
  records: AsyncIterable<StoredCredentialRecord> | Iterable<StoredCredentialRecord>;
  /** The key(s) values are encrypted under now. */
  from: SecretKey | readonly SecretKey[];
  /** The key to re-encrypt to. */
  to: SecretKey;
  /** Stores one record (its secrets now under `to`); called only for records that changed. */
  write: (stored: StoredCredentialRecord) => Promise<void>;
  /** Also encrypt secrets stored in plain text; default true. */
  encryptPlain?: boolean;
  /** Re-encrypt values under other keys; default true. False leaves them as they are, unread. */
  reencrypt?: boolean;
}

export interface RotationResult {
  /** Records looked at. */
  records: number;
  /** Records written. */
  written: number;
  /** Values moved from an old key to the new one. */
  reencrypted: number;
  /** Plain values encrypted. */
  encrypted: number;
  /** Values that were already under the new key. */
  alreadyCurrent: number;
}

function labelOf(stored: StoredCredentialRecord): string {
  return `${stored.kind} ${stored.id}${stored.tenant ? ` of tenant ${stored.tenant}` : ''}`;
}

/**
 * Re-encrypts all secrets of `records` under `to`. Throws CredentialDecryptError (naming the record and
 * field, never the value) for a value under a key that is neither `from` nor `to`, or one that fails its
 * integrity check; records handled before it stay written, and a rerun after the fix continues.
 */
export async function rotateCredentials(options: RotationOptions): Promise<RotationResult> {
  const from = Array.isArray(options.from)
    ? (options.from as readonly SecretKey[])
    : [options.from as SecretKey];
  const reader = new Keyring(options.to, from);
  const target = new Keyring(options.to);
  const encryptPlain = options.encryptPlain ?? true;
  const reencrypt = options.reencrypt ?? true;
  const result: RotationResult = { records: 0, written: 0, reencrypted: 0, encrypted: 0, alreadyCurrent: 0 };

  for await (const stored of options.records) {
    result.records += 1;
    const label = labelOf(stored);
    let changed = false;
    const record = rewriteSecrets(stored.kind, stored.record, (field, value) => {
      const where = `${label}: ${field}`;
      const envelope = parseEnvelope(value, where);
      if (!envelope) {
        if (!encryptPlain) return value;
        result.encrypted += 1;
        changed = true;
        return target.encrypt(value);
      }
      if (envelope.keyId === options.to.id) {
        result.alreadyCurrent += 1;
        return value;
      }
      if (!reencrypt) return value;
      if (!reader.has(envelope.keyId)) {
        throw new CredentialDecryptError(
          'UNKNOWN_KEY',
          `${where} is encrypted under key ${envelope.keyId}, which is neither the old key ` +
            `(${from.map((k) => k.id).join(', ')}) nor the new one (${options.to.id}); nothing of this ` +
            'record was changed',
        );
      }
      result.reencrypted += 1;
      changed = true;
      return target.encrypt(reader.decrypt(value, where));
    });
    if (changed) {
      await options.write({ ...stored, record });
      result.written += 1;
    }
  }
  return result;
}
