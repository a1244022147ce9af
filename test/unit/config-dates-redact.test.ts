import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { formatDateTime, normalizeDateTime, parseDateTime } from '../../src/dates.ts';
import { redactSecrets } from '../../src/redact.ts';
import { SecretRegistry } from '../../src/log.ts';

describe('configuration', () => {
  it('defaults to a safe standalone service on 127.0.0.1:8081 with data in ./data', () => {
    const c = loadConfig({});
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.port, 8081);
    assert.equal(c.dataDir, './data');
    assert.equal(c.mode, 'standalone');
    assert.equal(c.defaultTenant, 'diku');
    assert.equal(c.maxFailedAttempts, 5);
    assert.equal(c.daysToKeepLogs, 60);
    assert.equal(c.providerJobConcurrency, 4);
  });
  it('reads the environment', () => {
    const c = loadConfig({
      PORT: '9000',
      HOST: '0.0.0.0',
      DATABASE_URL: 'postgres://x/y',
      MAX_FAILED_ATTEMPTS: '12',
    });
    assert.equal(c.port, 9000);
    assert.equal(c.host, '0.0.0.0');
    assert.equal(c.databaseUrl, 'postgres://x/y');
    assert.equal(c.maxFailedAttempts, 12);
  });
  it('switches to FOLIO mode with OKAPI_URL and refuses FOLIO mode without it, naming OKAPI_URL', () => {
    assert.equal(loadConfig({ OKAPI_URL: 'http://okapi:9130' }).mode, 'folio');
    assert.throws(
      () => loadConfig({ HARVESTER_MODE: 'folio' }),
      (e: Error) => e instanceof ConfigError && /OKAPI_URL/.test(e.message),
    );
  });
  it('rejects malformed numbers with the variable name', () => {
    assert.throws(() => loadConfig({ PORT: 'eighty' }), /PORT must be an integer/);
    assert.throws(
      () => loadConfig({ PROVIDER_JOB_CONCURRENCY: '0' }),
      /PROVIDER_JOB_CONCURRENCY must be at least 1/,
    );
    assert.throws(
      () => loadConfig({ HARVESTER_WORKERS: 'maybe' }),
      /HARVESTER_WORKERS must be true or false/,
    );
  });
});

describe('date-times (folio-contract H7 out, H8 in)', () => {
  it('formats UTC with milliseconds and +00:00', () => {
    assert.equal(formatDateTime(Date.UTC(2022, 8, 14, 10, 14, 36, 843)), '2022-09-14T10:14:36.843+00:00');
  });
  it('accepts Z, +hh:mm and +hhmm, with or without fractions, and epoch ms', () => {
    const t = Date.UTC(2019, 0, 1, 8);
    for (const s of [
      '2019-01-01T08:00:00.000+0000',
      '2019-01-01T08:00:00+0000',
      '2019-01-01T08:00:00Z',
      '2019-01-01T09:00:00+01:00',
      '2019-01-01T08:00Z',
    ])
      assert.equal(parseDateTime(s), t, s);
    assert.equal(parseDateTime(t), t);
    assert.equal(normalizeDateTime('2019-01-01T08:00:00+0000'), '2019-01-01T08:00:00.000+00:00');
  });
  it('rejects what is not a date-time', () => {
    for (const s of [
      '',
      'tomorrow',
      '2019-13-01T00:00:00Z',
      '2019-02-30T00:00:00Z',
      '2019-01-01T25:00:00Z',
      null,
      {},
      Number.NaN,
    ])
      assert.equal(parseDateTime(s), undefined, JSON.stringify(s));
  });
});

describe('secret redaction', () => {
  it('masks credential query parameters, headers and known values', () => {
    const url =
      'https://stats.example.org/GetReport?APIKey=abc123&RequestorID=req-77&CustomerID=ghi&api_key=k&requestor_id=r9&Platform=Nature';
    assert.equal(
      redactSecrets(url),
      'https://stats.example.org/GetReport?APIKey=***&RequestorID=***&CustomerID=ghi&api_key=***&requestor_id=***&Platform=Nature',
    );
    assert.equal(redactSecrets('Authorization: Bearer xyz'), 'Authorization: ***');
    assert.equal(redactSecrets('got key SECRETKEY42 back', ['SECRETKEY42']), 'got key *** back');
    // Short values go as whole tokens only (test/unit/redact.test.ts has the details).
    assert.equal(redactSecrets('short abc goes, abcd stays', ['abc']), 'short *** goes, abcd stays');
  });
  it('the registry learns credentials from provider and aggregator records', () => {
    const reg = new SecretRegistry();
    reg.addFromRecord({
      sushiCredentials: { apiKey: 'udp-key-1234', requestorId: 'udp-req-5678', customerId: 'cust' },
    });
    reg.addFromRecord({ aggregatorConfig: { apiKey: 'agg-key-0000' } });
    assert.equal(reg.redact('udp-key-1234 udp-req-5678 agg-key-0000 cust'), '*** *** *** cust');
  });
});
