/**
 * Credentials an older version stored in clear text (docs/credentials.md "Clear text from older
 * versions") are encrypted when the service starts with a key: after a restart the database files
 * (PGlite) or a pg_dump (PostgreSQL) hold no credential, the API still reveals the right values, the log
 * says how many were encrypted without naming one, and a further restart writes nothing.
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createLogger } from '../../src/log.ts';
import { startService, type RunningService } from '../../src/server.ts';
import { enableTenant } from '../../src/tenant-lifecycle.ts';
import { pgDump } from '../helpers/pg-server.ts';
import { backends, call, testConfig } from '../helpers/service.ts';
import { udp } from '../helpers/store.ts';

const API_KEY = 'APIKEY-older-version-4471-plain';
const REQUESTOR = 'REQUESTOR-older-version-8812-plain';
const AGG_KEY = 'AGGKEY-older-version-3307-plain';
const SECRETS = [API_KEY, REQUESTOR, AGG_KEY];
const TOKEN = 'service-token-for-plain-upgrade';
const PROVIDER = 'c1ea0000-0000-4000-8000-000000000001';
const AGGREGATOR = 'c1ea0000-0000-4000-8000-000000000002';
const SCHEMA = '"diku_mod_erm_usage_harvester"';
const NOTICE = 'credentials stored in clear text (by an older version) are now encrypted';

/** Every file below `dir`, read as bytes. */
async function* filesOf(dir: string): AsyncGenerator<{ path: string; bytes: Buffer }> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* filesOf(path);
    else if (entry.isFile()) yield { path, bytes: await readFile(path) };
  }
}

interface Storage {
  dataDir?: string;
  databaseUrl?: string;
}

async function start(storage: Storage, lines: string[]): Promise<RunningService> {
  const svc = await startService(
    testConfig({
      token: TOKEN,
      runWorkers: false,
      ...(storage.dataDir
        ? { memory: false, dataDir: storage.dataDir }
        : { databaseUrl: storage.databaseUrl }),
    }),
    { logger: createLogger({ level: 'info', write: (line) => void lines.push(line) }) },
  );
  await enableTenant(svc.ctx, 'diku');
  return svc;
}

/** The records as a version before encryption wrote them: credentials in clear text. */
async function writeAsOlderVersion(svc: RunningService): Promise<void> {
  const provider = {
    id: PROVIDER,
    ...udp('Older Press', {
      sushiCredentials: { customerId: 'cust-older', apiKey: API_KEY, requestorId: REQUESTOR },
    }),
  };
  const aggregator = {
    id: AGGREGATOR,
    label: 'Older NSS',
    serviceType: 'NSS',
    serviceUrl: 'https://nss.example.org/GetReport',
    aggregatorConfig: { apiKey: AGG_KEY, customerId: 'X' },
    accountConfig: { configType: 'Manual' },
  };
  await svc.ctx.db.query(`INSERT INTO ${SCHEMA}.usage_data_providers (id, jsonb) VALUES ($1, $2::jsonb)`, [
    PROVIDER,
    JSON.stringify(provider),
  ]);
  await svc.ctx.db.query(`INSERT INTO ${SCHEMA}.aggregator_settings (id, jsonb) VALUES ($1, $2::jsonb)`, [
    AGGREGATOR,
    JSON.stringify(aggregator),
  ]);
}

/** The stored JSON of both records, as text. */
async function storedText(svc: RunningService): Promise<string> {
  const p = await svc.ctx.db.query<{ jsonb: unknown }>(`SELECT jsonb FROM ${SCHEMA}.usage_data_providers`);
  const a = await svc.ctx.db.query<{ jsonb: unknown }>(`SELECT jsonb FROM ${SCHEMA}.aggregator_settings`);
  return JSON.stringify([...p.rows, ...a.rows]);
}

for (const backend of backends()) {
  describe(`clear-text credentials of an older version on ${backend.name}`, () => {
    const open: RunningService[] = [];
    let dataDir: string | undefined;
    after(async () => {
      for (const svc of open) await svc.close().catch(() => {});
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    });

    it('are encrypted at the next start, once, and still read back right', async () => {
      const storage: Storage = {};
      if (backend.name === 'pglite') {
        dataDir = await mkdtemp(join(tmpdir(), 'harvester-plain-upgrade-'));
        storage.dataDir = dataDir;
      } else {
        const { db, url } = await backend.freshDb();
        await db.close();
        storage.databaseUrl = url;
      }
      const firstLines: string[] = [];
      const first = await start(storage, firstLines);
      open.push(first);
      await writeAsOlderVersion(first);
      const before = await storedText(first);
      for (const secret of SECRETS) assert.ok(before.includes(secret), 'written in clear text');
      await first.close();

      const lines: string[] = [];
      const second = await start(storage, lines);
      open.push(second);
      const stored = await storedText(second);
      for (const secret of SECRETS) assert.ok(!stored.includes(secret), 'no credential in clear text');
      const keyId = second.ctx.keyring.keyId;
      assert.equal(stored.split(`enc:v1:${keyId}:`).length - 1, 3, 'three envelopes under the key in use');

      const notice = lines.filter((l) => l.includes(NOTICE));
      assert.equal(notice.length, 1, 'the start says it encrypted them');
      assert.deepEqual(
        (({ records, values, keyId: id }) => ({ records, values, keyId: id }))(JSON.parse(notice[0])),
        { records: 2, values: 3, keyId },
      );
      for (const line of lines)
        for (const secret of SECRETS) assert.ok(!line.includes(secret), 'no credential in the log');

      const shown = await call(second, 'GET', `/usage-data-providers/${PROVIDER}?reveal=true`, {
        headers: { 'x-okapi-token': TOKEN },
      });
      assert.equal(shown.status, 200, shown.text);
      assert.equal(shown.json.sushiCredentials.apiKey, API_KEY);
      assert.equal(shown.json.sushiCredentials.requestorId, REQUESTOR);
      const agg = await call(second, 'GET', `/aggregator-settings/${AGGREGATOR}?reveal=true`, {
        headers: { 'x-okapi-token': TOKEN },
      });
      assert.equal(agg.json.aggregatorConfig.apiKey, AGG_KEY);
      const masked = await call(second, 'GET', `/usage-data-providers/${PROVIDER}`, {
        headers: { 'x-okapi-token': TOKEN },
      });
      assert.equal(masked.json.sushiCredentials.apiKey, '********');
      await second.close();

      if (dataDir) {
        // The table files; the write-ahead log (pg_wal) keeps the older version's writes until its
        // segments are overwritten (docs/credentials.md).
        for await (const { path, bytes } of filesOf(join(dataDir, 'pgdata', 'base')))
          for (const secret of SECRETS) assert.equal(bytes.indexOf(secret), -1, `${path} holds a credential`);
      } else {
        const dump = pgDump(storage.databaseUrl!);
        for (const secret of SECRETS) assert.ok(!dump.includes(secret), 'the dump holds no credential');
        assert.ok(dump.includes(`enc:v1:${keyId}:`));
      }

      const thirdLines: string[] = [];
      const third = await start(storage, thirdLines);
      open.push(third);
      assert.equal(await storedText(third), stored, 'a further start writes nothing');
      assert.equal(thirdLines.filter((l) => l.includes(NOTICE)).length, 0);
      await third.close();
    });
  });
}
