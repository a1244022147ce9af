import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import {
  CredentialDecryptError,
  decryptSecrets,
  encryptSecrets,
  Keyring,
  parseEnvelope,
  rotateCredentials,
  SecretKey,
  storedSecretValues,
  type StoredCredentialRecord,
} from '../../src/credentials/index.ts';

const oldKey = SecretKey.generate();
const newKey = SecretKey.generate();

function plainProvider(n: number): Record<string, unknown> {
  return {
    id: `p${n}`,
    label: `Provider ${n}`,
    harvestingConfig: { harvestingStatus: 'active' },
    sushiCredentials: { customerId: `C${n}`, apiKey: `KEY-${n}-secret`, requestorId: `REQ-${n}-secret` },
  };
}

const plainAggregator = {
  id: 'agg1',
  label: 'NSS',
  aggregatorConfig: { apiKey: 'AGG-secret', requestorId: 'AGGREQ-secret', customerId: 'X' },
};

/** A little database: records by id, as stored. */
function database(): Map<string, StoredCredentialRecord> {
  const db = new Map<string, StoredCredentialRecord>();
  const oldRing = new Keyring(oldKey);
  for (let n = 1; n <= 5; n++) {
    db.set(`p${n}`, {
      kind: 'provider',
      id: `p${n}`,
      record: encryptSecrets('provider', plainProvider(n), oldRing),
    });
  }
  // Written before encryption was enabled: plain text.
  db.set('p6', { kind: 'provider', id: 'p6', record: plainProvider(6) });
  db.set('agg1', {
    kind: 'aggregator',
    id: 'agg1',
    record: encryptSecrets('aggregator', plainAggregator, oldRing),
  });
  return db;
}

function keyIdsIn(db: Map<string, StoredCredentialRecord>): Set<string> {
  const ids = new Set<string>();
  for (const { kind, record } of db.values()) {
    for (const value of storedSecretValues(kind, record)) ids.add(parseEnvelope(value)?.keyId ?? 'plain');
  }
  return ids;
}

function expectedPlain(id: string): Record<string, unknown> {
  return id === 'agg1' ? plainAggregator : plainProvider(Number(id.slice(1)));
}

describe('key rotation', () => {
  it('re-encrypts every value from the old key to the new one and encrypts plain ones', async () => {
    const db = database();
    const result = await rotateCredentials({
      records: db.values(),
      from: oldKey,
      to: newKey,
      write: async (stored) => void db.set(stored.id, stored),
    });
    assert.deepEqual(result, { records: 7, written: 7, reencrypted: 12, encrypted: 2, alreadyCurrent: 0 });
    assert.deepEqual(keyIdsIn(db), new Set([newKey.id]));
    const newOnly = new Keyring(newKey);
    for (const { kind, id, record } of db.values()) {
      assert.deepEqual(decryptSecrets(kind, record, newOnly), expectedPlain(id));
    }
  });

  it('can be interrupted and run again: finished records are skipped, a third run writes nothing', async () => {
    const db = database();
    let writes = 0;
    const failingWrite = async (stored: StoredCredentialRecord) => {
      if (++writes === 3) throw new Error('connection lost');
      db.set(stored.id, stored);
    };
    await assert.rejects(
      rotateCredentials({ records: [...db.values()], from: oldKey, to: newKey, write: failingWrite }),
      /connection lost/,
    );
    assert.deepEqual(keyIdsIn(db), new Set([oldKey.id, newKey.id, 'plain']), 'half done');

    const written: string[] = [];
    const second = await rotateCredentials({
      records: [...db.values()],
      from: oldKey,
      to: newKey,
      write: async (stored) => {
        written.push(stored.id);
        db.set(stored.id, stored);
      },
    });
    assert.equal(second.written, 5);
    assert.ok(
      !written.includes('p1') && !written.includes('p2'),
      'records finished before are not written again',
    );
    assert.equal(second.alreadyCurrent, 4);
    assert.deepEqual(keyIdsIn(db), new Set([newKey.id]));

    const third = await rotateCredentials({
      records: [...db.values()],
      from: oldKey,
      to: newKey,
      write: async () => assert.fail('nothing to write'),
    });
    assert.deepEqual(third, { records: 7, written: 0, reencrypted: 0, encrypted: 0, alreadyCurrent: 14 });
    for (const { kind, id, record } of db.values()) {
      assert.deepEqual(decryptSecrets(kind, record, new Keyring(newKey)), expectedPlain(id));
    }
  });

  it('reencrypt: false encrypts only the plain values and leaves values under other keys unread', async () => {
    const db = database();
    const before = new Map([...db].map(([id, stored]) => [id, JSON.stringify(stored.record)]));
    const written: string[] = [];
    const result = await rotateCredentials({
      records: db.values(),
      from: [],
      to: newKey,
      reencrypt: false,
      write: async (stored) => {
        written.push(stored.id);
        db.set(stored.id, stored);
      },
    });
    assert.deepEqual(result, { records: 7, written: 1, reencrypted: 0, encrypted: 2, alreadyCurrent: 0 });
    assert.deepEqual(written, ['p6']);
    for (const [id, text] of before) if (id !== 'p6') assert.equal(JSON.stringify(db.get(id)!.record), text);
    assert.deepEqual(keyIdsIn(db), new Set([oldKey.id, newKey.id]), 'no plain value left');
    const p6 = db.get('p6')!;
    assert.deepEqual(decryptSecrets('provider', p6.record, new Keyring(newKey)), plainProvider(6));
  });

  it('reads the records from an async iterator (the database walk)', async () => {
    const db = database();
    async function* walk() {
      for (const stored of [...db.values()]) yield stored;
    }
    const result = await rotateCredentials({
      records: walk(),
      from: [SecretKey.generate(), oldKey],
      to: newKey,
      write: async (stored) => void db.set(stored.id, stored),
      encryptPlain: false,
    });
    assert.equal(result.encrypted, 0);
    assert.deepEqual(keyIdsIn(db), new Set([newKey.id, 'plain']), 'plain values left as they were');
  });

  it('stops at a value under an unknown key, naming record and field, not the value', async () => {
    const db = database();
    const stranger = new Keyring(SecretKey.generate());
    db.set('p3', {
      kind: 'provider',
      id: 'p3',
      tenant: 'diku',
      record: encryptSecrets('provider', plainProvider(3), stranger),
    });
    const writtenIds: string[] = [];
    await assert.rejects(
      rotateCredentials({
        records: [...db.values()],
        from: oldKey,
        to: newKey,
        write: async (stored) => void writtenIds.push(stored.id),
      }),
      (e: Error) =>
        e instanceof CredentialDecryptError &&
        e.code === 'UNKNOWN_KEY' &&
        e.message.startsWith('provider p3 of tenant diku: sushiCredentials.') &&
        !e.message.includes('secret') &&
        e.message.includes(stranger.keyId),
    );
    assert.deepEqual(writtenIds, ['p1', 'p2']);
  });
});
