/**
 * Which values of a usage data provider or an aggregator setting are secrets, and the pure record
 * transformations built on that list: encrypt for storage, decrypt for use, mask for API answers, and
 * merge a written body that carries the mask back with the stored record.
 *
 * Secret values:
 * * provider `sushiCredentials.<name>` for secret names (`apiKey`, `requestorId`, and e.g. `password`);
 *   `customerId`, `platform`, `requestorName`, `requestorMail` are not secret;
 * * provider `harvestingConfig.sushiConfig.extraParameters.<name>` for secret names (the proposed map of
 *   extra request parameters, sent as `name=value` with every request);
 * * aggregator `aggregatorConfig.<name>` for secret names (NSS: `apiKey`, `requestorId`);
 * * query parameters with secret names inside a service URL are masked in answers (they are not
 *   encrypted: `moveUrlSecrets` takes them out of provider URLs on write).
 */
import { type Keyring, looksEncrypted, parseEnvelope } from './cipher.ts';
import { CredentialInputError } from './errors.ts';

/** A JSON record as the store keeps it. */
type JsonRecord = Record<string, unknown>;

export type SecretRecordKind = 'provider' | 'aggregator';

/** What API answers show instead of a secret that is set. A PUT that sends it back keeps the value. */
export const MASK = '********';

const SECRET_NAMES = new Set([
  'apikey',
  'requestorid',
  'key',
  'password',
  'passwd',
  'pwd',
  'pass',
  'token',
  'secret',
  'auth',
  'authorization',
  'signature',
  'sessionid',
]);
const SECRET_SUFFIXES = ['key', 'token', 'secret', 'password', 'passwd'];

/**
 * True for a credential, parameter or configuration name whose value is a secret: compared without
 * case, `_`, `-` and `.`, it is one of api_key, requestor_id, key, password, passwd, pwd, pass, token,
 * secret, auth, authorization, signature, session_id, or it ends in key, token, secret, password or
 * passwd (access_token, client_secret, x-api-key, ...). customer_id and platform are not secrets.
 */
export function isSecretName(name: string): boolean {
  const n = name.toLowerCase().replace(/[-_.\s]/g, '');
  return SECRET_NAMES.has(n) || SECRET_SUFFIXES.some((suffix) => n.endsWith(suffix));
}

/** Where a secret sits in a record: an object and one of its keys. */
interface Slot {
  /** Dotted path, for messages: `sushiCredentials.apiKey`. */
  field: string;
  holder: JsonRecord;
  key: string;
}

function objectAt(record: JsonRecord, path: readonly string[]): JsonRecord | undefined {
  let v: unknown = record;
  for (const key of path) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
    v = (v as JsonRecord)[key];
  }
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as JsonRecord) : undefined;
}

/** The objects whose secret-named keys hold secrets, by record kind. */
const SECRET_HOLDERS: Record<SecretRecordKind, readonly (readonly string[])[]> = {
  provider: [['sushiCredentials'], ['harvestingConfig', 'sushiConfig', 'extraParameters']],
  aggregator: [['aggregatorConfig']],
};

/** The URL fields whose query parameters may carry secrets, by record kind. */
const URL_FIELDS: Record<SecretRecordKind, readonly (readonly string[])[]> = {
  provider: [['harvestingConfig', 'sushiConfig', 'serviceUrl']],
  aggregator: [['serviceUrl']],
};

function slotsOf(kind: SecretRecordKind, record: JsonRecord): Slot[] {
  const slots: Slot[] = [];
  for (const path of SECRET_HOLDERS[kind]) {
    const holder = objectAt(record, path);
    if (!holder) continue;
    for (const key of Object.keys(holder)) {
      if (isSecretName(key)) slots.push({ field: [...path, key].join('.'), holder, key });
    }
  }
  return slots;
}

/** The secret's value as text (numbers and booleans count as text); undefined when none is set. */
function textOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/** Calls `fn` with every secret slot of a deep copy of `record` and returns the copy. */
function transform<T extends JsonRecord>(
  kind: SecretRecordKind,
  record: T,
  fn: (slot: Slot, value: unknown) => void,
): T {
  const copy = structuredClone(record);
  for (const slot of slotsOf(kind, copy)) fn(slot, slot.holder[slot.key]);
  return copy;
}

/** The dotted paths of the secrets a record holds (with a value). */
export function secretFields(kind: SecretRecordKind, record: JsonRecord): string[] {
  return slotsOf(kind, record)
    .filter((slot) => textOf(slot.holder[slot.key]) !== undefined)
    .map((slot) => slot.field);
}

/** The record's secret values as they are stored (envelopes or plain text). */
export function storedSecretValues(kind: SecretRecordKind, record: JsonRecord): string[] {
  return slotsOf(kind, record)
    .map((slot) => textOf(slot.holder[slot.key]))
    .filter((v): v is string => v !== undefined);
}

/** A copy of `record` with each secret that is set replaced by `fn(field, value as text)`. */
export function rewriteSecrets<T extends JsonRecord>(
  kind: SecretRecordKind,
  record: T,
  fn: (field: string, value: string) => string,
): T {
  return transform(kind, record, (slot, value) => {
    const text = textOf(value);
    if (text !== undefined) slot.holder[slot.key] = fn(slot.field, text);
  });
}

/** A copy with every plain secret encrypted under the keyring's current key; envelopes stay as they are. */
export function encryptSecrets<T extends JsonRecord>(kind: SecretRecordKind, record: T, keyring: Keyring): T {
  return rewriteSecrets(kind, record, (field, text) =>
    parseEnvelope(text, field) ? text : keyring.encrypt(text),
  );
}

/**
 * A copy with every secret in plain text, as the harvesting engine needs it. Plain values (written
 * before encryption was enabled) pass through. Throws CredentialDecryptError naming `label` and the
 * field.
 */
export function decryptSecrets<T extends JsonRecord>(
  kind: SecretRecordKind,
  record: T,
  keyring: Keyring,
  label = `${kind} ${typeof record.id === 'string' ? record.id : '(new)'}`,
): T {
  return rewriteSecrets(kind, record, (field, text) => keyring.decrypt(text, `${label}: ${field}`));
}

/** Replaces the values of secret-named query parameters of a URL; other text is kept byte for byte. */
function mapUrlSecrets(url: string, fn: (name: string, value: string) => string | undefined): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const hash = url.indexOf('#', q);
  const end = hash < 0 ? url.length : hash;
  const kept: string[] = [];
  for (const part of url.slice(q + 1, end).split('&')) {
    const eq = part.indexOf('=');
    const rawName = eq < 0 ? part : part.slice(0, eq);
    let name = rawName;
    let value = eq < 0 ? '' : part.slice(eq + 1);
    try {
      name = decodeURIComponent(rawName.replace(/\+/g, ' '));
      value = decodeURIComponent(value.replace(/\+/g, ' '));
    } catch {
      // keep the raw text
    }
    if (!isSecretName(name)) {
      kept.push(part);
      continue;
    }
    const replaced = fn(name, value);
    if (replaced === value) kept.push(part);
    else if (replaced !== undefined)
      kept.push(`${rawName}=${replaced === MASK ? MASK : encodeURIComponent(replaced)}`);
  }
  const query = kept.join('&');
  return `${url.slice(0, q)}${query === '' ? '' : `?${query}`}${url.slice(end)}`;
}

function eachUrlField(
  kind: SecretRecordKind,
  record: JsonRecord,
  fn: (holder: JsonRecord, key: string, field: string) => void,
): void {
  for (const path of URL_FIELDS[kind]) {
    const holder = objectAt(record, path.slice(0, -1));
    const key = path[path.length - 1];
    if (holder && typeof holder[key] === 'string') fn(holder, key, path.join('.'));
  }
}

/**
 * A copy for an API answer: every secret that is set shows as MASK (secrets that are not set stay
 * absent or empty, so a client can tell the two apart), and so do secret query parameters of service
 * URLs. Works on stored (encrypted) and on decrypted records alike.
 */
export function maskSecrets<T extends JsonRecord>(kind: SecretRecordKind, record: T): T {
  const copy = transform(kind, record, (slot, value) => {
    if (textOf(value) !== undefined) slot.holder[slot.key] = MASK;
  });
  eachUrlField(kind, copy, (holder, key) => {
    holder[key] = mapUrlSecrets(holder[key] as string, (_name, value) => (value === '' ? '' : MASK));
  });
  return copy;
}

function storedValueAt(stored: JsonRecord | undefined, field: string): unknown {
  if (!stored) return undefined;
  const path = field.split('.');
  return objectAt(stored, path.slice(0, -1))?.[path[path.length - 1]];
}

/**
 * The record to store for a written body (POST: `stored` undefined; PUT: the record as stored now). A
 * PUT replaces the whole record, as in FOLIO, and for each secret of the body:
 *
 * * the MASK keeps the stored value (a stored envelope is kept as it is); with nothing stored the field
 *   is dropped;
 * * any other non-empty value is a new plain value (encrypt the result with `encryptSecrets`);
 * * an empty value is dropped, and a secret the body leaves out is gone: this is how FOLIO's edit form
 *   removes a credential (it omits cleared fields);
 * * a value that looks like an envelope (`enc:v1:...`) is refused with CredentialInputError: API answers
 *   never contain envelopes, so such a value was copied from a database and would otherwise let a
 *   client plant another record's ciphertext.
 *
 * Secret query parameters of a service URL sent back with the MASK get their stored value back (or are
 * dropped when the stored URL has none).
 */
export function mergeSecrets<T extends JsonRecord>(kind: SecretRecordKind, body: T, stored?: JsonRecord): T {
  const merged = transform(kind, body, (slot, value) => {
    if (looksEncrypted(value)) {
      throw new CredentialInputError(
        'ENCRYPTED_INPUT',
        slot.field,
        `${slot.field} looks like an encrypted value (enc:...); send the plain value, or ${MASK} to keep ` +
          'the stored one',
      );
    }
    const keep = value === MASK ? textOf(storedValueAt(stored, slot.field)) : textOf(value);
    if (keep === undefined) delete slot.holder[slot.key];
    else slot.holder[slot.key] = keep;
  });
  eachUrlField(kind, merged, (holder, key, field) => {
    const storedUrl = textOf(storedValueAt(stored, field));
    const storedParams = storedUrl === undefined ? new Map<string, string>() : urlSecretParams(storedUrl);
    holder[key] = mapUrlSecrets(holder[key] as string, (name, value) =>
      value === MASK ? storedParams.get(name) : value,
    );
  });
  return merged;
}

/** The secret-named query parameters of a URL, decoded. */
function urlSecretParams(url: string): Map<string, string> {
  const params = new Map<string, string>();
  mapUrlSecrets(url, (name, value) => {
    params.set(name, value);
    return value;
  });
  return params;
}

/** Where COUNTER's credential parameters go when they are found in a provider's service URL. */
const CREDENTIAL_PARAMS: Readonly<Record<string, string>> = { apikey: 'apiKey', requestorid: 'requestorId' };

export interface MovedUrlSecrets<T extends JsonRecord = JsonRecord> {
  record: T;
  /** Parameter names moved into `sushiCredentials` or `sushiConfig.extraParameters`. */
  moved: string[];
  /** Parameter names removed because the field they belong to already holds a value. */
  dropped: string[];
}

/**
 * Takes secret query parameters out of a provider's service URL, so that no secret is stored in plain
 * text there: `api_key` / `requestor_id` become `sushiCredentials.apiKey` / `requestorId`, other
 * secret names entries of `sushiConfig.extraParameters`; a parameter whose target is already set is
 * dropped (the harvester never sent URL query parameters, so nothing that worked stops working).
 * Returns the names only, never the values.
 */
export function moveUrlSecrets<T extends JsonRecord>(provider: T): MovedUrlSecrets<T> {
  const record = structuredClone(provider);
  const fields: JsonRecord = record;
  const moved: string[] = [];
  const dropped: string[] = [];
  const sushiConfig = objectAt(record, ['harvestingConfig', 'sushiConfig']);
  const url = sushiConfig?.serviceUrl;
  if (!sushiConfig || typeof url !== 'string') return { record, moved, dropped };
  sushiConfig.serviceUrl = mapUrlSecrets(url, (name, value) => {
    if (value === '' || value === MASK) return undefined;
    const credential = CREDENTIAL_PARAMS[name.toLowerCase().replace(/[-_.\s]/g, '')];
    const holder = credential
      ? ((fields.sushiCredentials ??= {}) as JsonRecord)
      : ((sushiConfig.extraParameters ??= {}) as JsonRecord);
    const key = credential ?? name;
    if (textOf(holder[key]) === undefined) {
      holder[key] = value;
      moved.push(name);
    } else {
      dropped.push(name);
    }
    return undefined;
  });
  return { record, moved, dropped };
}
