/**
 * Authenticated encryption of single credential values (AES-256-GCM) in a self-describing envelope:
 *
 *     enc:v1:<keyId>:<iv>:<ciphertext+tag>
 *
 * `keyId` is a 16-hex-digit fingerprint of the key (an HMAC of a constant, never the key), `iv` the
 * 12 random bytes of this value and the last part the ciphertext followed by the 16-byte GCM tag, both
 * base64url without padding. The text `enc:v1:<keyId>` is the additional authenticated data, so a value
 * cannot be relabelled to another key id or version without failing its check.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { inspect } from 'node:util';
import { CredentialDecryptError, CredentialKeyError } from './errors.ts';

export const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const ALGORITHM = 'aes-256-gcm';
const KEY_ID_LABEL = 'erm-usage-harvester credential key id v1';

/** `enc:` followed by a version: what every envelope, of any version, starts with. */
const ANY_ENVELOPE_RE = /^enc:v(\d+):/;
const V1_RE = /^enc:v1:([0-9a-f]{16}):([A-Za-z0-9_-]{16}):([A-Za-z0-9_-]{22,})$/;

/** A 32-byte key and its fingerprint. Printing or serialising it shows the fingerprint only. */
export class SecretKey {
  readonly id: string;
  readonly #bytes: Buffer;

  constructor(bytes: Uint8Array) {
    if (bytes.length !== KEY_BYTES) {
      throw new CredentialKeyError(
        'KEY_FORMAT',
        `A credential key must be ${KEY_BYTES} bytes, not ${bytes.length}`,
      );
    }
    this.#bytes = Buffer.from(bytes);
    this.id = keyIdOf(this.#bytes);
  }

  /** A new random key. */
  static generate(): SecretKey {
    return new SecretKey(randomBytes(KEY_BYTES));
  }

  /** The key as base64 text (for writing the key file only). */
  exportBase64(): string {
    return this.#bytes.toString('base64');
  }

  /** Same key material. */
  equals(other: SecretKey): boolean {
    return timingSafeEqual(this.#bytes, other.#bytes);
  }

  /** @internal the raw key, for the cipher functions of this module. */
  material(): Buffer {
    return this.#bytes;
  }

  toJSON(): string {
    return `SecretKey(${this.id})`;
  }

  toString(): string {
    return `SecretKey(${this.id})`;
  }

  [inspect.custom](): string {
    return `SecretKey(${this.id})`;
  }
}

/** The fingerprint that names a key in envelopes and messages: 8 bytes of an HMAC, hex. */
export function keyIdOf(key: Uint8Array): string {
  return createHmac('sha256', key).update(KEY_ID_LABEL).digest('hex').slice(0, 16);
}

export interface Envelope {
  version: 1;
  keyId: string;
  iv: Buffer;
  sealed: Buffer;
}

/** True for any text that starts like an envelope (`enc:v<n>:`), well-formed or not. */
export function looksEncrypted(value: unknown): value is string {
  return typeof value === 'string' && ANY_ENVELOPE_RE.test(value);
}

/**
 * The parts of an envelope; undefined for a plain value. Throws for text that starts like an
 * envelope but is malformed or of an unknown version (`where` names the value in the message).
 */
export function parseEnvelope(value: string, where = 'a credential'): Envelope | undefined {
  const any = ANY_ENVELOPE_RE.exec(value);
  if (!any) return undefined;
  if (any[1] !== '1') {
    throw new CredentialDecryptError(
      'UNSUPPORTED_VERSION',
      `${where} is encrypted in format version ${any[1]}, which this version of erm-usage-harvester ` +
        'does not know; run the version that wrote it, or a newer one',
    );
  }
  const m = V1_RE.exec(value);
  const iv = m ? Buffer.from(m[2], 'base64url') : undefined;
  const sealed = m ? Buffer.from(m[3], 'base64url') : undefined;
  if (!m || !iv || !sealed || iv.length !== IV_BYTES || sealed.length < TAG_BYTES) {
    throw new CredentialDecryptError(
      'BAD_ENVELOPE',
      `${where} is not a well-formed encrypted value (enc:v1:...)`,
    );
  }
  return { version: 1, keyId: m[1], iv, sealed };
}

/** The key id of an envelope, or undefined for a plain value. */
export function envelopeKeyId(value: string): string | undefined {
  return parseEnvelope(value)?.keyId;
}

function headerOf(keyId: string): string {
  return `enc:v1:${keyId}`;
}

/** Encrypts one value under `key` with a fresh random IV. */
export function encryptValue(key: SecretKey, plain: string): string {
  const iv = randomBytes(IV_BYTES);
  const header = headerOf(key.id);
  const cipher = createCipheriv(ALGORITHM, key.material(), iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(header, 'utf8'));
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `${header}:${iv.toString('base64url')}:${body.toString('base64url')}`;
}

/** Decrypts an envelope that `key` wrote; throws CredentialDecryptError on any mismatch. */
export function decryptEnvelope(key: SecretKey, envelope: Envelope, where = 'a credential'): string {
  if (envelope.keyId !== key.id) {
    throw new CredentialDecryptError(
      'UNKNOWN_KEY',
      `${where} is encrypted under key ${envelope.keyId}, not under the key in use (${key.id})`,
    );
  }
  const data = envelope.sealed.subarray(0, envelope.sealed.length - TAG_BYTES);
  const tag = envelope.sealed.subarray(envelope.sealed.length - TAG_BYTES);
  const decipher = createDecipheriv(ALGORITHM, key.material(), envelope.iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(headerOf(envelope.keyId), 'utf8'));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(data), decipher.final()]).toString('utf8');
  } catch {
    throw new CredentialDecryptError(
      'DECRYPT_FAILED',
      `${where} fails its integrity check under key ${key.id}: the value was altered or damaged in the database`,
    );
  }
}

/**
 * The keys of a running service: the current one (used for every new encryption) and, during a
 * rotation, previous ones that can still decrypt.
 */
export class Keyring {
  readonly current: SecretKey;
  readonly #byId: Map<string, SecretKey>;

  constructor(current: SecretKey, previous: readonly SecretKey[] = []) {
    this.current = current;
    this.#byId = new Map([...previous, current].map((k) => [k.id, k]));
  }

  get keyId(): string {
    return this.current.id;
  }

  /** The ids of every key held, current first. */
  keyIds(): string[] {
    return [this.current.id, ...[...this.#byId.keys()].filter((id) => id !== this.current.id)];
  }

  has(keyId: string): boolean {
    return this.#byId.has(keyId);
  }

  /** The keys besides the current one (those of before a rotation). */
  previousKeys(): SecretKey[] {
    return [...this.#byId.values()].filter((k) => k.id !== this.current.id);
  }

  encrypt(plain: string): string {
    return encryptValue(this.current, plain);
  }

  /** The plain text of a value: envelopes are decrypted, plain values are returned as they are. */
  decrypt(value: string, where = 'a credential'): string {
    const envelope = parseEnvelope(value, where);
    if (!envelope) return value;
    const key = this.#byId.get(envelope.keyId);
    if (!key) {
      throw new CredentialDecryptError(
        'UNKNOWN_KEY',
        `${where} is encrypted under key ${envelope.keyId}, which is not among the keys in use ` +
          `(${this.keyIds().join(', ')})`,
      );
    }
    return decryptEnvelope(key, envelope, where);
  }

  toJSON(): string {
    return `Keyring(${this.keyIds().join(', ')})`;
  }

  [inspect.custom](): string {
    return this.toJSON();
  }
}
