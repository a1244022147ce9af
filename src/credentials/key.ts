/**
 * Where the credential key comes from, and the start-up check that it is the key the stored
 * credentials were encrypted with.
 *
 * 1. `HARVESTER_SECRET_KEY`: 32 bytes written as 64 hex digits, or as base64 / base64url (43 or 44
 *    characters). Anything else is refused; the message never repeats the value.
 * 2. Otherwise the key file `<data dir>/keys/credentials.key` beside the embedded database: read on
 *    every start, created (directory 0700, file 0600, never overwritten) on the first start when no
 *    encrypted credential exists yet.
 * 3. An in-memory database without either gets a key that lives as long as the process (its data does
 *    too).
 *
 * `HARVESTER_PREVIOUS_SECRET_KEY` (same formats) adds the key of before a rotation, for reading values
 * that are not re-encrypted yet.
 */
import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Keyring, KEY_BYTES, parseEnvelope, SecretKey } from './cipher.ts';
import { CredentialDecryptError, CredentialKeyError } from './errors.ts';

export const SECRET_KEY_VARIABLE = 'HARVESTER_SECRET_KEY';
export const PREVIOUS_SECRET_KEY_VARIABLE = 'HARVESTER_PREVIOUS_SECRET_KEY';

const HEX_RE = /^[0-9a-fA-F]{64}$/;
const BASE64_RE = /^[A-Za-z0-9+/]{43}=?$/;
const BASE64URL_RE = /^[A-Za-z0-9_-]{43}=?$/;
const HOW_TO_MAKE = '`openssl rand -base64 32` or `openssl rand -hex 32` makes one';

/**
 * Reads a key written as 64 hex digits or as base64/base64url of 32 bytes (surrounding white space is
 * ignored). `source` names where the text came from, for the message.
 */
export function parseSecretKey(text: string, source: string): SecretKey {
  const value = text.trim();
  let bytes: Buffer | undefined;
  if (HEX_RE.test(value)) bytes = Buffer.from(value, 'hex');
  else if (BASE64_RE.test(value)) bytes = Buffer.from(value, 'base64');
  else if (BASE64URL_RE.test(value)) bytes = Buffer.from(value, 'base64url');
  if (!bytes || bytes.length !== KEY_BYTES) {
    throw new CredentialKeyError(
      'KEY_FORMAT',
      `${source} must be ${KEY_BYTES} random bytes written as 64 hexadecimal digits or as 44 base64 ` +
        `characters; the value given (${value.length} characters) is neither. ${HOW_TO_MAKE}.`,
    );
  }
  if (bytes.every((b) => b === bytes[0])) {
    throw new CredentialKeyError(
      'KEY_FORMAT',
      `${source} is ${KEY_BYTES} identical bytes, which is not a key; ${HOW_TO_MAKE}.`,
    );
  }
  return new SecretKey(bytes);
}

/** The key file of a data directory. */
export function keyFilePath(dataDir: string): string {
  return join(resolve(dataDir), 'keys', 'credentials.key');
}

export interface KeyringOptions {
  /** The value of HARVESTER_SECRET_KEY, when set. */
  secretKey?: string;
  /** The value of HARVESTER_PREVIOUS_SECRET_KEY, when set. */
  previousSecretKey?: string;
  /**
   * The embedded database's directory: the key file lives in `<dataDir>/keys/`. Leave it out with a
   * PostgreSQL server, where every process must use the same HARVESTER_SECRET_KEY.
   */
  dataDir?: string;
  /** The database lives in memory only: a key for this process alone is enough. */
  memory?: boolean;
  /**
   * Encrypted values now stored (envelopes; plain values are ignored). One value per key id is enough;
   * every one given is decrypted as a check.
   */
  storedValues: Iterable<string>;
}

export type KeySource = 'variable' | 'key-file' | 'new-key-file' | 'process';

export interface LoadedKeyring {
  keyring: Keyring;
  source: KeySource;
  /** The key file read or created (source `key-file` / `new-key-file`). */
  keyFile?: string;
  /** Things to log at start-up (never containing a secret). */
  warnings: string[];
}

interface StoredSummary {
  /** The first stored envelope of each key id. */
  byKeyId: Map<string, string>;
}

function summarise(values: Iterable<string>): StoredSummary {
  const byKeyId = new Map<string, string>();
  let index = 0;
  for (const value of values) {
    index += 1;
    const envelope = parseEnvelope(value, `stored credential ${index}`);
    if (envelope && !byKeyId.has(envelope.keyId)) byKeyId.set(envelope.keyId, value);
  }
  return { byKeyId };
}

function nothingChanged(): string {
  return 'Nothing was changed: no credential was re-encrypted and no key was created.';
}

/**
 * Stored values under a key id that the keyring lacks, or that fail their check, stop the start.
 * `otherKeyFile` is a key file that exists but is not in use (the variable is set), for the hint.
 */
function verifyStored(
  keyring: Keyring,
  stored: StoredSummary,
  keySource: string,
  otherKeyFile?: { path: string; id: string },
): void {
  const unknown = [...stored.byKeyId.keys()].filter((id) => !keyring.has(id));
  if (unknown.length > 0) {
    const hint =
      otherKeyFile && unknown.includes(otherKeyFile.id)
        ? ` The key file ${otherKeyFile.path} holds key ${otherKeyFile.id}: to move from it to ` +
          `${SECRET_KEY_VARIABLE}, set ${PREVIOUS_SECRET_KEY_VARIABLE} to the file's content and run the key rotation.`
        : '';
    throw new CredentialKeyError(
      'KEY_MISMATCH',
      `Stored credentials are encrypted under key ${unknown.join(', ')}, but the key in use is ` +
        `${keyring.keyId} (${keySource}). Start with the key they were encrypted with ` +
        `(${SECRET_KEY_VARIABLE}, or the key file restored from a backup). To move to a new key, set ` +
        `the old one as ${PREVIOUS_SECRET_KEY_VARIABLE} and run the key rotation.${hint} ${nothingChanged()}`,
    );
  }
  for (const [keyId, value] of stored.byKeyId) {
    try {
      keyring.decrypt(value, `a stored credential under key ${keyId}`);
    } catch (e) {
      if (!(e instanceof CredentialDecryptError)) throw e;
      throw new CredentialKeyError(
        'KEY_MISMATCH',
        `${e.message}. The key's fingerprint matches but the value cannot be read: restore the ` +
          `database or the credential from a backup, or enter the credential again. ${nothingChanged()}`,
      );
    }
  }
}

async function readKeyFile(path: string, warnings: string[]): Promise<SecretKey> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new CredentialKeyError('KEY_FILE', `The key file ${path} cannot be read: ${(e as Error).message}`);
  }
  if (process.platform !== 'win32') {
    const mode = (await stat(path)).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      warnings.push(
        `The key file ${path} can be read by other users (mode ${mode.toString(8).padStart(4, '0')}); ` +
          `run chmod 600 ${path}`,
      );
    }
  }
  return parseSecretKey(text, `The key file ${path}`);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new CredentialKeyError(
      'KEY_FILE',
      `The key file ${path} cannot be examined: ${(e as Error).message}`,
    );
  }
}

/**
 * Creates the key file with a new key, never replacing one that exists: the key is written to a
 * temporary file (0600) that is then hard-linked to the final name, which fails when another process
 * got there first — that process's key is read back instead.
 */
async function createKeyFile(
  path: string,
  warnings: string[],
): Promise<{ key: SecretKey; created: boolean }> {
  const dir = dirname(path);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    if (process.platform !== 'win32') await chmod(dir, 0o700);
  } catch (e) {
    throw new CredentialKeyError(
      'KEY_FILE',
      `The key directory ${dir} cannot be created: ${(e as Error).message}`,
    );
  }
  const key = SecretKey.generate();
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const handle = await open(temporary, 'wx', 0o600);
    try {
      await handle.writeFile(`${key.exportBase64()}\n`, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await link(temporary, path);
      return { key, created: true };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      return { key: await readKeyFile(path, warnings), created: false };
    }
  } catch (e) {
    if (e instanceof CredentialKeyError) throw e;
    throw new CredentialKeyError(
      'KEY_FILE',
      `The key file ${path} cannot be created: ${(e as Error).message}`,
    );
  } finally {
    await unlink(temporary).catch(() => undefined);
  }
}

/** The id of the key file of `dataDir` when one exists and holds a key (for hints only). */
async function unusedKeyFile(dataDir: string | undefined): Promise<{ path: string; id: string } | undefined> {
  if (dataDir === undefined) return undefined;
  const path = keyFilePath(dataDir);
  try {
    return { path, id: parseSecretKey(await readFile(path, 'utf8'), path).id };
  } catch {
    return undefined;
  }
}

function givenKey(text: string | undefined, variable: string): SecretKey | undefined {
  return text === undefined || text.trim() === '' ? undefined : parseSecretKey(text, variable);
}

/**
 * The keyring the service runs with, checked against the stored credentials. Throws
 * CredentialKeyError with what to do when the key is malformed, missing or not the right one.
 */
export async function loadKeyring(options: KeyringOptions): Promise<LoadedKeyring> {
  const warnings: string[] = [];
  const stored = summarise(options.storedValues);
  const previous = givenKey(options.previousSecretKey, PREVIOUS_SECRET_KEY_VARIABLE);
  const previousKeys = previous ? [previous] : [];
  const fromVariable = givenKey(options.secretKey, SECRET_KEY_VARIABLE);

  if (fromVariable) {
    const keyring = new Keyring(fromVariable, previousKeys);
    verifyStored(keyring, stored, SECRET_KEY_VARIABLE, await unusedKeyFile(options.dataDir));
    return { keyring, source: 'variable', warnings };
  }

  if (options.dataDir !== undefined) {
    const path = keyFilePath(options.dataDir);
    if (await exists(path)) {
      const keyring = new Keyring(await readKeyFile(path, warnings), previousKeys);
      verifyStored(keyring, stored, `key file ${path}`);
      return { keyring, source: 'key-file', keyFile: path, warnings };
    }
    if (stored.byKeyId.size > 0) {
      throw new CredentialKeyError(
        'KEY_MISSING',
        `Stored credentials are encrypted under key ${[...stored.byKeyId.keys()].join(', ')}, but ` +
          `${SECRET_KEY_VARIABLE} is not set and the key file ${path} does not exist. Restore the key ` +
          `file from a backup, or set ${SECRET_KEY_VARIABLE} to the key they were encrypted with. ` +
          nothingChanged(),
      );
    }
    const { key, created } = await createKeyFile(path, warnings);
    const keyring = new Keyring(key, previousKeys);
    if (created) {
      warnings.push(
        `Created the credential key file ${path} (key ${key.id}). Back it up with the database: ` +
          'without it the stored credentials cannot be read.',
      );
    }
    return { keyring, source: created ? 'new-key-file' : 'key-file', keyFile: path, warnings };
  }

  if (options.memory && stored.byKeyId.size === 0) {
    return { keyring: new Keyring(SecretKey.generate(), previousKeys), source: 'process', warnings };
  }
  throw new CredentialKeyError(
    'KEY_MISSING',
    `${SECRET_KEY_VARIABLE} is not set. With a PostgreSQL server every service process must use the ` +
      `same key: set ${SECRET_KEY_VARIABLE} to 32 random bytes (${HOW_TO_MAKE}) on each of them.`,
  );
}
