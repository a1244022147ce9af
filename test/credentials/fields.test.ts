import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import {
  CredentialInputError,
  decryptSecrets,
  encryptSecrets,
  isSecretName,
  Keyring,
  looksEncrypted,
  MASK,
  maskSecrets,
  mergeSecrets,
  moveUrlSecrets,
  secretFields,
  SecretKey,
} from '../../src/credentials/index.ts';

const keyring = new Keyring(SecretKey.generate());

function provider(overrides: Record<string, unknown> = {}): Record<string, any> {
  return {
    id: 'a1b2c3d4-0000-4000-8000-000000000001',
    label: 'Example Press',
    status: 'active',
    harvestingConfig: {
      harvestingStatus: 'active',
      harvestVia: 'sushi',
      sushiConfig: {
        serviceType: 'cs51',
        serviceUrl: 'https://sushi.example.org/counter/r51',
        extraParameters: { access_token: 'TOKEN-extra-777', institution: 'north' },
      },
      reportRelease: '5.1',
    },
    sushiCredentials: {
      customerId: 'C-1001',
      requestorId: 'REQ-secret-0815',
      apiKey: 'KEY-secret-4711',
      platform: 'ExamplePlatform',
      requestorName: 'Library',
    },
    ...overrides,
  };
}

const aggregator: Record<string, any> = {
  id: 'a1b2c3d4-0000-4000-8000-0000000000a1',
  label: 'NSS',
  serviceType: 'NSS',
  serviceUrl: 'https://nss.example.org/Sushiservice/GetReport',
  aggregatorConfig: {
    apiKey: 'AGG-key-2222',
    requestorId: 'AGG-req-3333',
    customerId: 'CUST-9',
    reportRelease: '4',
  },
  accountConfig: { configType: 'Manual' },
};

describe('which names are secret', () => {
  it('covers COUNTER credentials and common secret parameters, not customer ids or platforms', () => {
    for (const name of [
      'api_key',
      'apiKey',
      'APIKey',
      'requestor_id',
      'RequestorID',
      'requestorId',
      'password',
      'token',
      'access_token',
      'client_secret',
      'x-api-key',
      'key',
    ]) {
      assert.ok(isSecretName(name), name);
    }
    for (const name of [
      'customer_id',
      'customerId',
      'CustomerID',
      'platform',
      'requestorName',
      'requestorMail',
      'institution',
      'begin_date',
    ]) {
      assert.ok(!isSecretName(name), name);
    }
  });
});

describe('encrypting and decrypting the secret fields of records', () => {
  it("encrypts a provider's apiKey, requestorId and secret extra parameters, nothing else", () => {
    const plain = provider();
    const stored = encryptSecrets('provider', plain, keyring);
    assert.ok(looksEncrypted(stored.sushiCredentials.apiKey));
    assert.ok(looksEncrypted(stored.sushiCredentials.requestorId));
    assert.ok(looksEncrypted(stored.harvestingConfig.sushiConfig.extraParameters.access_token));
    assert.equal(stored.harvestingConfig.sushiConfig.extraParameters.institution, 'north');
    assert.equal(stored.sushiCredentials.customerId, 'C-1001');
    assert.equal(stored.sushiCredentials.platform, 'ExamplePlatform');
    assert.equal(stored.label, 'Example Press');
    assert.deepEqual(plain, provider(), 'the input is not changed');
    assert.deepEqual(secretFields('provider', stored), [
      'sushiCredentials.requestorId',
      'sushiCredentials.apiKey',
      'harvestingConfig.sushiConfig.extraParameters.access_token',
    ]);
    assert.deepEqual(decryptSecrets('provider', stored, keyring), plain);
  });

  it('encrypts the secret parts of an aggregator setting (NSS: apiKey, requestorId)', () => {
    const stored = encryptSecrets('aggregator', aggregator, keyring);
    assert.ok(looksEncrypted(stored.aggregatorConfig.apiKey));
    assert.ok(looksEncrypted(stored.aggregatorConfig.requestorId));
    assert.equal(stored.aggregatorConfig.customerId, 'CUST-9');
    assert.equal(stored.aggregatorConfig.reportRelease, '4');
    assert.deepEqual(decryptSecrets('aggregator', stored, keyring), aggregator);
  });

  it('leaves values that are already encrypted as they are, and plain old records readable', () => {
    const once = encryptSecrets('provider', provider(), keyring);
    assert.deepEqual(encryptSecrets('provider', once, keyring), once);
    assert.deepEqual(decryptSecrets('provider', provider(), keyring), provider());
  });

  it('names the record and the field, never the value, when a value cannot be decrypted', () => {
    const stored = encryptSecrets('provider', provider(), new Keyring(SecretKey.generate()));
    assert.throws(
      () => decryptSecrets('provider', stored, keyring),
      (e: Error) =>
        e.message.startsWith('provider a1b2c3d4-0000-4000-8000-000000000001: sushiCredentials.') &&
        !e.message.includes('secret'),
    );
  });
});

describe('masking for API answers', () => {
  it('shows set secrets as the mask, keeps unset ones unset, and masks secret URL parameters', () => {
    const record = provider();
    record.sushiCredentials.requestorId = '';
    delete record.sushiCredentials.apiKey;
    record.harvestingConfig.sushiConfig.serviceUrl = 'https://s.example.org/r51?api_key=abc&inst=7&token=';
    const masked = maskSecrets('provider', encryptSecrets('provider', record, keyring));
    assert.equal(masked.sushiCredentials.requestorId, '');
    assert.equal('apiKey' in masked.sushiCredentials, false);
    assert.equal(masked.sushiCredentials.customerId, 'C-1001');
    assert.equal(masked.harvestingConfig.sushiConfig.extraParameters.access_token, MASK);
    assert.equal(
      masked.harvestingConfig.sushiConfig.serviceUrl,
      `https://s.example.org/r51?api_key=${MASK}&inst=7&token=`,
    );
    assert.ok(!JSON.stringify(masked).includes('enc:v1'), 'no envelope leaves the service');
  });

  it('masks aggregator settings the same way', () => {
    const masked = maskSecrets('aggregator', aggregator);
    assert.deepEqual(masked.aggregatorConfig, {
      apiKey: MASK,
      requestorId: MASK,
      customerId: 'CUST-9',
      reportRelease: '4',
    });
  });
});

describe('merging a written body with the stored record (PUT)', () => {
  const stored = encryptSecrets('provider', provider(), keyring);

  it('keeps the stored values when the body sends the mask back (GET → edit label → PUT)', () => {
    const body = maskSecrets('provider', stored);
    body.label = 'Example Press (renamed)';
    const merged = mergeSecrets('provider', body, stored);
    assert.equal(
      merged.sushiCredentials.apiKey,
      stored.sushiCredentials.apiKey,
      'the stored envelope is kept',
    );
    assert.equal(merged.sushiCredentials.requestorId, stored.sushiCredentials.requestorId);
    const again = decryptSecrets('provider', encryptSecrets('provider', merged, keyring), keyring);
    assert.deepEqual(again, { ...provider(), label: 'Example Press (renamed)' });
  });

  it('replaces a secret with a new value, and removes one that is empty or left out', () => {
    const body = maskSecrets('provider', stored);
    body.sushiCredentials.apiKey = 'KEY-new-9999';
    body.sushiCredentials.requestorId = '';
    delete body.harvestingConfig.sushiConfig.extraParameters.access_token;
    const merged = mergeSecrets('provider', body, stored);
    assert.equal(merged.sushiCredentials.apiKey, 'KEY-new-9999');
    assert.equal('requestorId' in merged.sushiCredentials, false);
    assert.deepEqual(merged.harvestingConfig.sushiConfig.extraParameters, { institution: 'north' });
    const saved = encryptSecrets('provider', merged, keyring);
    assert.equal(decryptSecrets('provider', saved, keyring).sushiCredentials.apiKey, 'KEY-new-9999');
  });

  it('removes all credentials when the body has no sushiCredentials (a PUT replaces the record)', () => {
    const body = maskSecrets('provider', stored);
    delete body.sushiCredentials;
    assert.equal('sushiCredentials' in mergeSecrets('provider', body, stored), false);
  });

  it('drops a mask that has nothing stored behind it (POST, or a field that was never set)', () => {
    const created = mergeSecrets(
      'provider',
      provider({ sushiCredentials: { customerId: 'C1', apiKey: MASK } }),
    );
    assert.deepEqual(created.sushiCredentials, { customerId: 'C1' });
  });

  it('refuses an envelope sent as a value, naming the field and not the value', () => {
    const body = maskSecrets('provider', stored);
    body.sushiCredentials.apiKey = stored.sushiCredentials.apiKey;
    assert.throws(
      () => mergeSecrets('provider', body, stored),
      (e: Error) =>
        e instanceof CredentialInputError &&
        e.code === 'ENCRYPTED_INPUT' &&
        e.field === 'sushiCredentials.apiKey' &&
        !e.message.includes(stored.sushiCredentials.apiKey),
    );
  });

  it('restores masked secret parameters of the service URL from the stored URL', () => {
    const withUrl = provider();
    withUrl.harvestingConfig.sushiConfig.serviceUrl = 'https://s.example.org/r51?token=t%2Fsecret&inst=7';
    const body = maskSecrets('provider', withUrl);
    const merged = mergeSecrets('provider', body, withUrl);
    assert.equal(
      merged.harvestingConfig.sushiConfig.serviceUrl,
      'https://s.example.org/r51?token=t%2Fsecret&inst=7',
    );
    const fresh = mergeSecrets('provider', body, provider());
    assert.equal(fresh.harvestingConfig.sushiConfig.serviceUrl, 'https://s.example.org/r51?inst=7');
  });

  it('merges aggregator settings by the same rules', () => {
    const storedAgg = encryptSecrets('aggregator', aggregator, keyring);
    const body = maskSecrets('aggregator', storedAgg);
    body.aggregatorConfig.requestorId = 'AGG-req-new';
    const merged = decryptSecrets('aggregator', mergeSecrets('aggregator', body, storedAgg), keyring);
    assert.deepEqual(merged.aggregatorConfig, { ...aggregator.aggregatorConfig, requestorId: 'AGG-req-new' });
  });
});

describe("secrets in a provider's service URL", () => {
  it('moves api_key and requestor_id into sushiCredentials and other secrets into extraParameters', () => {
    const record = provider({ sushiCredentials: { customerId: 'C1' } });
    record.harvestingConfig.sushiConfig = {
      serviceType: 'cs51',
      serviceUrl: 'https://s.example.org/r51/?api_key=K%2B1&requestor_id=R1&customer_id=C1&password=pw#x',
    };
    const { record: out, moved, dropped } = moveUrlSecrets(record);
    assert.equal(out.harvestingConfig.sushiConfig.serviceUrl, 'https://s.example.org/r51/?customer_id=C1#x');
    assert.deepEqual(out.sushiCredentials, { customerId: 'C1', apiKey: 'K+1', requestorId: 'R1' });
    assert.deepEqual(out.harvestingConfig.sushiConfig.extraParameters, { password: 'pw' });
    assert.deepEqual(moved, ['api_key', 'requestor_id', 'password']);
    assert.deepEqual(dropped, []);
  });

  it('drops a URL parameter whose credential is already set (the stored credential wins)', () => {
    const record = provider();
    record.harvestingConfig.sushiConfig.serviceUrl = 'https://s.example.org/r51?api_key=OTHER';
    const { record: out, moved, dropped } = moveUrlSecrets(record);
    assert.equal(out.sushiCredentials.apiKey, 'KEY-secret-4711');
    assert.equal(out.harvestingConfig.sushiConfig.serviceUrl, 'https://s.example.org/r51');
    assert.deepEqual([moved, dropped], [[], ['api_key']]);
  });
});
