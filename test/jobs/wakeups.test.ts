/**
 * Wakeups between processes on one PostgreSQL database (store/notify.ts): a job accepted by process A (an
 * API-only process, it runs no workers) is started by process B at once, although B polls its queue only
 * every 10 minutes while idle (QUEUE_IDLE_POLL_MS): A's NOTIFY wakes it. When B's LISTEN connection is
 * lost, a job accepted meanwhile is still run (B polls at QUEUE_POLL_MS until it listens again, and wakes
 * its workers once after reconnecting), and B listens again: the next job starts at once too.
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { startMockCounterServer, type MockCounterServer } from '../../mock/counter-server.ts';
import {
  killAllChildren,
  providerRecord,
  request,
  startChild,
  until,
  type ChildService,
} from '../helpers/child-service.ts';
import { startPgServer, type PgServer } from '../helpers/pg-server.ts';

/** Far longer than any wait below: a job that starts did not wait for B's idle poll. */
const IDLE_POLL_MS = 600_000;
/** Generous for a loaded machine, and still far below the idle poll. */
const WAIT_MS = 120_000;

describe('wakeups between processes on one PostgreSQL database', () => {
  let pgServer: PgServer;
  let mock: MockCounterServer;
  let admin: pg.Client;
  let a: ChildService;
  let b: ChildService;

  before(async () => {
    pgServer = await startPgServer();
    mock = await startMockCounterServer({ latencyMs: 5 });
    const url = await pgServer.createDatabase();
    const env = { DATABASE_URL: url, QUEUE_IDLE_POLL_MS: String(IDLE_POLL_MS) };
    a = await startChild('A', { ...env, HARVESTER_INSTANCE_ID: 'api-a', HARVESTER_WORKERS: 'false' });
    b = await startChild('B', { ...env, HARVESTER_INSTANCE_ID: 'worker-b' });
    admin = new pg.Client({ connectionString: url });
    await admin.connect();
  });
  after(async () => {
    await admin?.end();
    await killAllChildren();
    await mock?.close();
    await pgServer?.stop();
  });

  /** The backend of B's LISTEN connection once it listens (A runs no workers: it has none). */
  const listenerPid = () =>
    until(
      async () => {
        const res = await admin.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity
           WHERE datname = current_database() AND application_name = 'erm-usage-harvester listen'
             AND query LIKE 'LISTEN%' AND state = 'idle'`,
        );
        return res.rows.length === 1 ? res.rows[0].pid : undefined;
      },
      WAIT_MS,
      () => 'process B does not listen',
      100,
    );

  /** A provider with one month of TR, created through A; its provider job started through A. */
  async function startProviderJobThroughA(name: string): Promise<string> {
    const id = randomUUID();
    const created = await request(
      a.url,
      'POST',
      '/usage-data-providers',
      providerRecord(id, {
        label: `wakeup ${name}`,
        serviceUrl: `${mock.url}/ok-wakeup-${name}`,
        reports: ['TR'],
        start: '2022-01',
        end: '2022-01',
      }),
    );
    assert.equal(created.status, 201, created.text);
    const started = await request(a.url, 'GET', `/erm-usage-harvester/start/${id}`);
    assert.equal(started.status, 200, started.text);
    return id;
  }

  /** The provider job of `providerId` once it finished (within WAIT_MS, far below the idle poll). */
  const finishedJob = (providerId: string) =>
    until(
      async () => {
        const res = await request(a.url, 'GET', '/erm-usage-harvester/jobs?limit=1000');
        const infos = (res.json?.jobInfos ?? []) as Record<string, any>[];
        return infos.find((j) => j.type === 'provider' && j.providerId === providerId && j.finishedAt);
      },
      WAIT_MS,
      async () => `job of ${providerId}: ${(await request(a.url, 'GET', '/erm-usage-harvester/jobs')).text}`,
      200,
    );

  const harvested = async (providerId: string) => {
    const res = await request(a.url, 'GET', `/counter-reports?query=providerId%3D%3D${providerId}&tiny=true`);
    assert.equal(res.status, 200, res.text);
    return (res.json.counterReports as Record<string, any>[]).map((r) => `${r.reportName} ${r.yearMonth}`);
  };

  it('a job accepted by an API-only process is started by the other process without waiting for its poll', async () => {
    await listenerPid();
    const providerId = await startProviderJobThroughA('first');
    const job = await finishedJob(providerId);
    assert.equal(job.result, 'success', JSON.stringify(job));
    assert.deepEqual(await harvested(providerId), ['TR 2022-01']);
    // B ran it: A runs no workers.
    assert.ok(
      b.logRecords().some((r) => r.jobId === job.id),
      'process B logged nothing about the job',
    );
  });

  it('after its LISTEN connection is lost, jobs are still run and the process listens again', async () => {
    const before = await listenerPid();
    const killed = await admin.query<{ ok: boolean }>('SELECT pg_terminate_backend($1) AS ok', [before]);
    assert.equal(killed.rows[0].ok, true);
    // Accepted while B may not listen: its notification may be lost; the job runs all the same.
    const meanwhile = await startProviderJobThroughA('meanwhile');
    assert.equal((await finishedJob(meanwhile)).result, 'success');

    // B listens again, on a new connection, and the next job starts at once too.
    const again = await until(
      async () => {
        const pid = await listenerPid();
        return pid !== before ? pid : undefined;
      },
      WAIT_MS,
      () => 'process B did not listen again',
      200,
    );
    assert.notEqual(again, before);
    const next = await startProviderJobThroughA('next');
    assert.equal((await finishedJob(next)).result, 'success');
    assert.deepEqual(await harvested(next), ['TR 2022-01']);
    assert.ok(
      b.logRecords().some((r) => /wakeup connection lost/.test(String(r.msg))),
      'process B did not log the lost connection',
    );
  });
});
