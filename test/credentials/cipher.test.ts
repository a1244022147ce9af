import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import {
  CredentialDecryptError,
  encryptValue,
  Keyring,
  looksEncrypted,
  parseEnvelope,
  SecretKey,
} from '../../src/credentials/index.ts';

const SECRET = 'api-key-ÄÖÜ-€-4711';

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof CredentialDecryptError, `expected CredentialDecryptError, got ${String(e)}`);
    assert.ok(!e.message.includes(SECRET), 'the message must not contain the secret');
    return e.code;
  }
  assert.fail('expected an error');
}

/** Flips one bit of the base64url part `part` (3 = iv, 4 = ciphertext+tag) at byte `at`. */
function flip(envelope: string, part: 3 | 4, at: number): string {
  const parts = envelope.split(':');
  const bytes = Buffer.from(parts[part], 'base64url');
  bytes[at] ^= 0x01;
  parts[part] = bytes.toString('base64url');
  return parts.join(':');
}

describe('credential envelopes (AES-256-GCM)', () => {
  const key = SecretKey.generate();
  const keyring = new Keyring(key);

  it('round-trips any text, also long keys and non-ASCII, and tells envelopes from plain values', () => {
    const long = 'k'.repeat(400);
    for (const plain of [SECRET, long, 'x', 'username:password']) {
      const sealed = keyring.encrypt(plain);
      assert.ok(looksEncrypted(sealed));
      if (plain.length > 4) assert.ok(!sealed.includes(plain));
      assert.equal(keyring.decrypt(sealed), plain);
    }
    assert.equal(keyring.decrypt('plain-value'), 'plain-value', 'plain values pass through');
    assert.equal(looksEncrypted('plain-value'), false);
  });

  it('writes enc:v1:<keyId>:<iv>:<ciphertext+tag> with a fresh 96-bit IV per value', () => {
    const a = keyring.encrypt(SECRET);
    const b = keyring.encrypt(SECRET);
    assert.notEqual(a, b, 'two encryptions of one value differ');
    assert.match(a, /^enc:v1:[0-9a-f]{16}:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]+$/);
    const envelope = parseEnvelope(a);
    assert.equal(envelope?.keyId, key.id);
    assert.equal(envelope?.iv.length, 12);
    assert.equal(envelope?.sealed.length, Buffer.byteLength(SECRET) + 16);
  });

  it('detects any change to the ciphertext, the tag, the IV or the key id label', () => {
    const sealed = keyring.encrypt(SECRET);
    assert.equal(
      code(() => keyring.decrypt(flip(sealed, 4, 0))),
      'DECRYPT_FAILED',
    );
    const tagByte = Buffer.byteLength(SECRET) + 3;
    assert.equal(
      code(() => keyring.decrypt(flip(sealed, 4, tagByte))),
      'DECRYPT_FAILED',
    );
    assert.equal(
      code(() => keyring.decrypt(flip(sealed, 3, 5))),
      'DECRYPT_FAILED',
    );

    // Relabelled to the id of another key the keyring holds: it does not decrypt under that key.
    const other = SecretKey.generate();
    const both = new Keyring(key, [other]);
    const relabelled = sealed.replace(`:${key.id}:`, `:${other.id}:`);
    assert.equal(
      code(() => both.decrypt(relabelled)),
      'DECRYPT_FAILED',
    );
  });

  it('refuses malformed envelopes and envelopes of an unknown format version', () => {
    const sealed = keyring.encrypt(SECRET);
    assert.equal(
      code(() => keyring.decrypt(sealed.slice(0, 30))),
      'BAD_ENVELOPE',
    );
    assert.equal(
      code(() => keyring.decrypt(`${sealed.split(':').slice(0, 4).join(':')}:AAAA`)),
      'BAD_ENVELOPE',
    );
    assert.equal(
      code(() => keyring.decrypt(sealed.replace('enc:v1:', 'enc:v2:'))),
      'UNSUPPORTED_VERSION',
    );
  });

  it('does not decrypt with another key, and names both key ids', () => {
    const sealed = encryptValue(SecretKey.generate(), SECRET);
    let message = '';
    try {
      keyring.decrypt(sealed, 'provider p1: sushiCredentials.apiKey');
    } catch (e) {
      message = (e as Error).message;
      assert.equal((e as CredentialDecryptError).code, 'UNKNOWN_KEY');
    }
    assert.match(message, /provider p1: sushiCredentials\.apiKey/);
    assert.ok(message.includes(key.id));
    assert.ok(message.includes(parseEnvelope(sealed)!.keyId));
  });

  it('decrypts values of a previous key while encrypting under the current one', () => {
    const old = SecretKey.generate();
    const sealedOld = encryptValue(old, SECRET);
    const rotating = new Keyring(key, [old]);
    assert.equal(rotating.decrypt(sealedOld), SECRET);
    assert.equal(parseEnvelope(rotating.encrypt(SECRET))?.keyId, key.id);
    assert.deepEqual(rotating.keyIds(), [key.id, old.id]);
  });

  it('never shows key material when a key or keyring is printed or serialised', () => {
    const material = key.exportBase64();
    for (const text of [
      inspect(key),
      JSON.stringify({ key }),
      String(key),
      inspect(keyring),
      JSON.stringify(keyring),
    ]) {
      assert.ok(!text.includes(material), text);
      assert.ok(text.includes(key.id));
    }
  });
});
