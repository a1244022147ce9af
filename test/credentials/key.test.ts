import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  CredentialKeyError,
  encryptValue,
  keyFilePath,
  loadKeyring,
  parseSecretKey,
  SecretKey,
  type CredentialErrorCode,
} from '../../src/credentials/index.ts';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'harvester-key-'));
  dirs.push(dir);
  return dir;
}
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function rejection(promise: Promise<unknown>, expected: CredentialErrorCode): Promise<string> {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof CredentialKeyError, `expected CredentialKeyError, got ${String(e)}`);
    assert.equal(e.code, expected, e.message);
    return e.message;
  }
  assert.fail(`expected a ${expected} error`);
}

const posix = process.platform !== 'win32';

describe('HARVESTER_SECRET_KEY formats', () => {
  const bytes = randomBytes(32);

  it('accepts 32 bytes as 64 hex digits, base64 (with or without padding) and base64url', () => {
    const id = new SecretKey(bytes).id;
    for (const text of [
      bytes.toString('hex'),
      bytes.toString('hex').toUpperCase(),
      bytes.toString('base64'),
      bytes.toString('base64').replace(/=$/, ''),
      bytes.toString('base64url'),
      `  ${bytes.toString('base64')}\n`,
    ]) {
      assert.equal(parseSecretKey(text, 'HARVESTER_SECRET_KEY').id, id, text);
    }
  });

  it('refuses anything else with a message that names the variable but never repeats the value', () => {
    const wrong = [
      'my secret passphrase',
      bytes.toString('hex').slice(0, 63),
      randomBytes(31).toString('base64'),
      randomBytes(33).toString('base64'),
      randomBytes(16).toString('hex'),
      `${bytes.toString('hex')}00`,
      Buffer.alloc(32).toString('base64'),
      '',
    ];
    for (const text of wrong) {
      assert.throws(
        () => parseSecretKey(text, 'HARVESTER_SECRET_KEY'),
        (e: Error) =>
          e instanceof CredentialKeyError &&
          e.code === 'KEY_FORMAT' &&
          e.message.includes('HARVESTER_SECRET_KEY') &&
          e.message.includes('openssl rand') &&
          (text.trim() === '' || !e.message.includes(text.trim())),
        JSON.stringify(text),
      );
    }
  });

  it('refuses a malformed variable at start-up before touching the data directory', async () => {
    const dir = await tempDir();
    await rejection(loadKeyring({ secretKey: 'short', dataDir: dir, storedValues: [] }), 'KEY_FORMAT');
    await rejection(
      loadKeyring({ secretKey: bytes.toString('hex'), previousSecretKey: 'x', storedValues: [] }),
      'KEY_FORMAT',
    );
    assert.deepEqual(await readdir(dir), []);
  });
});

describe('key from HARVESTER_SECRET_KEY', () => {
  const key = SecretKey.generate();
  const text = key.exportBase64();

  it('is used as it is, and stored values under it are checked by decrypting them', async () => {
    const loaded = await loadKeyring({ secretKey: text, storedValues: [encryptValue(key, 'k1'), 'plain'] });
    assert.equal(loaded.source, 'variable');
    assert.equal(loaded.keyring.keyId, key.id);
  });

  it('stops the start when stored values are under another key, naming both ids and what to do', async () => {
    const other = SecretKey.generate();
    const message = await rejection(
      loadKeyring({ secretKey: text, storedValues: [encryptValue(other, 'k1')] }),
      'KEY_MISMATCH',
    );
    assert.ok(message.includes(other.id) && message.includes(key.id), message);
    assert.match(message, /HARVESTER_PREVIOUS_SECRET_KEY/);
    assert.match(message, /Nothing was changed/);
  });

  it('reads values of the previous key during a rotation', async () => {
    const old = SecretKey.generate();
    const loaded = await loadKeyring({
      secretKey: text,
      previousSecretKey: old.exportBase64(),
      storedValues: [encryptValue(old, 'k1'), encryptValue(key, 'k2')],
    });
    assert.equal(loaded.keyring.keyId, key.id);
    assert.equal(loaded.keyring.decrypt(encryptValue(old, 'k3')), 'k3');
  });

  it('stops the start when a stored value under the right key id fails its integrity check', async () => {
    const parts = encryptValue(key, 'k1').split(':');
    const body = Buffer.from(parts[4], 'base64url');
    body[body.length - 1] ^= 0x80;
    const tampered = [...parts.slice(0, 4), body.toString('base64url')].join(':');
    const message = await rejection(
      loadKeyring({ secretKey: text, storedValues: [tampered] }),
      'KEY_MISMATCH',
    );
    assert.match(message, /integrity check/);
  });
});

describe('key file beside the embedded database', () => {
  it('is created on the first start with mode 0600 in a 0700 directory, and read back later', async () => {
    const dataDir = await tempDir();
    const first = await loadKeyring({ dataDir, storedValues: [] });
    assert.equal(first.source, 'new-key-file');
    assert.equal(first.keyFile, keyFilePath(dataDir));
    assert.ok(first.warnings.some((w) => w.includes('Back it up')));
    if (posix) {
      assert.equal((await stat(first.keyFile)).mode & 0o777, 0o600);
      assert.equal((await stat(dirname(first.keyFile))).mode & 0o777, 0o700);
    }
    assert.deepEqual(await readdir(dirname(first.keyFile)), ['credentials.key'], 'no temporary file is left');

    const sealed = first.keyring.encrypt('secret-1');
    const second = await loadKeyring({ dataDir, storedValues: [sealed] });
    assert.equal(second.source, 'key-file');
    assert.equal(second.keyring.keyId, first.keyring.keyId);
    assert.equal(second.keyring.decrypt(sealed), 'secret-1');
    assert.deepEqual(second.warnings, []);
  });

  it('gives two processes starting together one key (the file is never overwritten)', async () => {
    const dataDir = await tempDir();
    const results = await Promise.all([1, 2, 3, 4].map(() => loadKeyring({ dataDir, storedValues: [] })));
    assert.equal(new Set(results.map((r) => r.keyring.keyId)).size, 1);
    assert.equal(results.filter((r) => r.source === 'new-key-file').length, 1);
  });

  it('stops the start when encrypted values exist but the key file is gone, and creates no new key', async () => {
    const dataDir = await tempDir();
    const lost = SecretKey.generate();
    const message = await rejection(
      loadKeyring({ dataDir, storedValues: [encryptValue(lost, 'k1')] }),
      'KEY_MISSING',
    );
    assert.ok(message.includes(keyFilePath(dataDir)), message);
    assert.ok(message.includes(lost.id) && message.includes('HARVESTER_SECRET_KEY'), message);
    assert.match(message, /backup/);
    assert.deepEqual(await readdir(dataDir), []);
  });

  it('stops the start when the key file holds another key than the stored values were written with', async () => {
    const dataDir = await tempDir();
    await loadKeyring({ dataDir, storedValues: [] });
    const message = await rejection(
      loadKeyring({ dataDir, storedValues: [encryptValue(SecretKey.generate(), 'k1')] }),
      'KEY_MISMATCH',
    );
    assert.ok(message.includes(keyFilePath(dataDir)), message);
  });

  it('refuses a key file that holds no key, naming the file', async () => {
    const dataDir = await tempDir();
    const path = keyFilePath(dataDir);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, 'not a key\n', { mode: 0o600 });
    const message = await rejection(loadKeyring({ dataDir, storedValues: [] }), 'KEY_FORMAT');
    assert.ok(message.includes(path), message);
  });

  it('warns when the key file can be read by other users', { skip: !posix }, async () => {
    const dataDir = await tempDir();
    const { keyFile } = await loadKeyring({ dataDir, storedValues: [] });
    await chmod(keyFile!, 0o644);
    const again = await loadKeyring({ dataDir, storedValues: [] });
    assert.ok(
      again.warnings.some((w) => w.includes('chmod 600')),
      again.warnings.join('\n'),
    );
  });

  it("points to the key file when HARVESTER_SECRET_KEY is set but the values are under the file's key", async () => {
    const dataDir = await tempDir();
    const fromFile = await loadKeyring({ dataDir, storedValues: [] });
    const sealed = fromFile.keyring.encrypt('secret-1');
    const message = await rejection(
      loadKeyring({ dataDir, secretKey: SecretKey.generate().exportBase64(), storedValues: [sealed] }),
      'KEY_MISMATCH',
    );
    assert.ok(
      message.includes(`The key file ${fromFile.keyFile} holds key ${fromFile.keyring.keyId}`),
      message,
    );
  });

  it('is not used when HARVESTER_SECRET_KEY is set', async () => {
    const dataDir = await tempDir();
    const loaded = await loadKeyring({
      dataDir,
      secretKey: SecretKey.generate().exportBase64(),
      storedValues: [],
    });
    assert.equal(loaded.source, 'variable');
    assert.deepEqual(await readdir(dataDir), []);
  });
});

describe('no key file (PostgreSQL server, in-memory database)', () => {
  it('asks for HARVESTER_SECRET_KEY with a PostgreSQL server', async () => {
    const message = await rejection(loadKeyring({ storedValues: [] }), 'KEY_MISSING');
    assert.match(message, /HARVESTER_SECRET_KEY is not set/);
    assert.match(message, /PostgreSQL/);
  });

  it('uses a key of its own for an in-memory database', async () => {
    const loaded = await loadKeyring({ memory: true, storedValues: [] });
    assert.equal(loaded.source, 'process');
    assert.equal(loaded.keyring.decrypt(loaded.keyring.encrypt('x1')), 'x1');
  });
});
