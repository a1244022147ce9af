/**
 * The service token is compared as a whole (in constant time, over digests): near misses of any length
 * are refused, the exact token in either header is accepted.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import type { RunningService } from '../../src/server.ts';
import { call, startOn } from '../helpers/service.ts';

const TOKEN = 'tök-3n/with+odd=chars';

describe('service token comparison', () => {
  let svc: RunningService;
  before(async () => {
    svc = await startOn('pglite', undefined, { config: { token: TOKEN } });
  });
  after(() => svc?.close());

  it('refuses near misses: one character off, a prefix, a longer value, empty', async () => {
    for (const presented of [
      `${TOKEN.slice(0, -1)}X`,
      TOKEN.slice(0, -1),
      `${TOKEN}x`,
      TOKEN.toUpperCase(),
      ' ',
    ]) {
      const res = await call(svc, 'GET', '/erm-usage-harvester/impl', {
        headers: { 'x-okapi-token': presented },
      });
      assert.equal(res.status, 401, presented);
    }
  });

  it('accepts the exact token as X-Okapi-Token and as a bearer token', async () => {
    const both: Record<string, string>[] = [{ 'x-okapi-token': TOKEN }, { authorization: `Bearer ${TOKEN}` }];
    for (const headers of both) {
      const res = await call(svc, 'GET', '/erm-usage-harvester/impl', { headers });
      assert.equal(res.status, 200, JSON.stringify(headers));
    }
  });
});
