/**
 * GET /erm-usage-harvester/jobs and purgefinished over real HTTP on PGlite and PostgreSQL, with the 18-job
 * sample (folio-contract checklist §9.1 15–23, 28–30, 46–48).
 */
import { strict as assert } from 'node:assert';
import { Agent, request } from 'undici';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { RunningService } from '../../src/server.ts';
import { addJobNote, saveJobInfo } from '../../src/store/sql/job-info.ts';
import { backends, call } from '../helpers/service.ts';
import { allJobs, insertJobs, postEmpty, PLACEHOLDER_18, sample18, TENANT_18 } from '../helpers/jobs.ts';

const JOBS = '/erm-usage-harvester/jobs';
const ids = (res: { json: any }) => res.json.jobInfos.map((j: any) => j.id);

for (const backend of backends()) {
  describe(`GET /jobs and purgefinished on ${backend.name}`, () => {
    let svc: RunningService;
    const sample = sample18();
    before(async () => {
      svc = await backend.start({ config: { runWorkers: false } });
    });
    after(async () => {
      await svc.close();
    });
    beforeEach(async () => {
      await svc.ctx.db.query('DELETE FROM "diku_mod_erm_usage_harvester".job_info');
      await insertJobs(svc, sample);
    });

    it('lists all 18 in insertion order with limit=1000 (15)', async () => {
      const res = await call(svc, 'GET', `${JOBS}?limit=1000`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      assert.equal(res.json.totalRecords, 18);
      assert.deepEqual(
        ids(res),
        sample.map((j) => j.id),
      );
      assert.deepEqual(res.json.jobInfos[0], sample[0]);
      assert.deepEqual(res.json.jobInfos[1], sample[1]);
    });

    it('pages with default limit 10 and offset, exact total on both pages (16)', async () => {
      const first = await call(svc, 'GET', JOBS);
      const second = await call(svc, 'GET', `${JOBS}?offset=10`);
      assert.equal(first.json.jobInfos.length, 10);
      assert.equal(second.json.jobInfos.length, 8);
      assert.equal(first.json.totalRecords, 18);
      assert.equal(second.json.totalRecords, 18);
      assert.deepEqual(
        [...ids(first), ...ids(second)],
        sample.map((j) => j.id),
      );
    });

    it('limit=0 returns no records but the total', async () => {
      const res = await call(svc, 'GET', `${JOBS}?limit=0`);
      assert.deepEqual(res.json, { jobInfos: [], totalRecords: 18 });
    });

    it('filters by CQL (17)', async () => {
      const res = await call(svc, 'GET', `${JOBS}?query=type==tenant`);
      assert.deepEqual(ids(res), [TENANT_18]);
      assert.equal(res.json.totalRecords, 1);
    });

    it('filters by timestamp ≤ value, a decimal truncated (18)', async () => {
      const res = await call(svc, 'GET', `${JOBS}?timestamp=1663150477573`);
      assert.deepEqual(ids(res), [sample[1].id, sample[2].id]);
      assert.equal(res.json.totalRecords, 2);
      const dec = await call(svc, 'GET', `${JOBS}?timestamp=1663150477573.9`);
      assert.equal(dec.json.totalRecords, 2);
    });

    it('filters by providerId; empty providerId is no filter (19)', async () => {
      const res = await call(svc, 'GET', `${JOBS}?providerId=p18-provider-05`);
      assert.deepEqual(ids(res), [sample[6].id]);
      const empty = await call(svc, 'GET', `${JOBS}?providerId=&limit=100`);
      assert.equal(empty.json.totalRecords, 18);
    });

    it('combines query, timestamp and providerId', async () => {
      const res = await call(
        svc,
        'GET',
        `${JOBS}?query=cql.allRecords%3D1&timestamp=1663150477673&providerId=p18-provider-02`,
      );
      assert.deepEqual(ids(res), [sample[3].id]);
    });

    it('ignores unknown parameters and totalRecords (20)', async () => {
      const res = await call(svc, 'GET', `${JOBS}?flag=true&limit=5&totalRecords=none`);
      assert.equal(res.status, 200);
      assert.equal(res.json.jobInfos.length, 5);
      assert.equal(res.json.totalRecords, 18);
    });

    it('decodes + as space in the query and sorts (21)', async () => {
      const res = await call(
        svc,
        'GET',
        `${JOBS}?query=providerId%3D%3D%22p18-provider-0*%22+sortby+timestamp%2Fsort.descending&limit=3`,
      );
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.totalRecords, 9);
      assert.deepEqual(ids(res), [sample[10].id, sample[9].id, sample[8].id]);
    });

    it('sorts with undefined values first when descending, insertion order breaking ties', async () => {
      const res = await call(
        svc,
        'GET',
        `${JOBS}?query=${encodeURIComponent('(cql.allRecords=1) sortby startedAt/sort.descending')}&limit=3`,
      );
      assert.deepEqual(ids(res), [PLACEHOLDER_18, sample[17].id, sample[16].id]);
    });

    it('answers invalid CQL with 400 text/plain (22)', async () => {
      const res = await call(svc, 'GET', `${JOBS}?query=type%3D%3D`);
      assert.equal(res.status, 400);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
      assert.ok(res.text.length > 0);
    });

    it('answers bad numbers with 400 text/plain naming the parameter (23)', async () => {
      for (const [q, name] of [
        ['limit=-1', 'limit'],
        ['timestamp=abc', 'timestamp'],
        ['offset=-5', 'offset'],
        ['limit=x', 'limit'],
        ['limit=2147483648', 'limit'],
      ]) {
        const res = await call(svc, 'GET', `${JOBS}?${q}`);
        assert.equal(res.status, 400, q);
        assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
        assert.match(res.text, new RegExp(`'${name}'`), q);
      }
    });

    it('purgefinished?timestamp keeps the placeholder and the 3 newer jobs (28)', async () => {
      const res = await postEmpty(svc, `${JOBS}/purgefinished?timestamp=1663150479004`, {
        'content-type': 'application/json',
        'content-length': '0',
      });
      assert.equal(res.status, 204);
      assert.equal(res.text, '');
      assert.deepEqual(
        (await allJobs(svc)).map((j) => j.id),
        [PLACEHOLDER_18, sample[15].id, sample[16].id, sample[17].id],
      );
    });

    it('purgefinished without timestamp leaves only the placeholder (29)', async () => {
      const res = await call(svc, 'POST', `${JOBS}/purgefinished`);
      assert.equal(res.status, 204);
      assert.deepEqual(await allJobs(svc), [sample[0]]);
    });

    it('notes: one field, added in order, kept when the job end rewrites the JobInfo; an older `message` is read as notes', async () => {
      const id = 'a0be0000-0000-4000-8000-000000000001';
      const legacy = 'a0be0000-0000-4000-8000-000000000002';
      const base = { type: 'provider' as const, providerId: 'p-notes', timestamp: 1663150499000 };
      await saveJobInfo(svc.ctx.db, 'diku', { id, ...base });
      await addJobNote(svc.ctx.db, 'diku', id, 'first note');
      await addJobNote(svc.ctx.db, 'diku', id, 'second note');
      const ended = {
        id,
        ...base,
        startedAt: '2022-09-14T10:14:37.888+00:00',
        finishedAt: '2022-09-14T10:14:58.285+00:00',
        result: 'success' as const,
      };
      await saveJobInfo(svc.ctx.db, 'diku', ended);
      await svc.ctx.db.query(
        `INSERT INTO "diku_mod_erm_usage_harvester".job_info (id, jsonb) VALUES ($1, $2::jsonb)`,
        [legacy, JSON.stringify({ id: legacy, ...base, result: 'success', message: 'one\ntwo' })],
      );
      const res = await call(svc, 'GET', `${JOBS}?providerId=p-notes`);
      assert.equal(res.status, 200);
      assert.deepEqual(res.json.jobInfos, [
        { ...ended, notes: ['first note', 'second note'] },
        { id: legacy, ...base, result: 'success', notes: ['one', 'two'] },
      ]);
      const byNote = await call(svc, 'GET', `${JOBS}?query=${encodeURIComponent('notes="second note"')}`);
      assert.deepEqual(ids(byNote), [id], 'notes are searchable with CQL');
    });

    it('purgefinished?timestamp=abc is 400 and deletes nothing (30)', async () => {
      const res = await call(svc, 'POST', `${JOBS}/purgefinished?timestamp=abc`);
      assert.equal(res.status, 400);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
      assert.equal((await allJobs(svc)).length, 18);
    });

    it('never sends x-okapi-token and accepts an empty token (46, 48)', async () => {
      const paths: [string, string][] = [
        ['GET', JOBS],
        ['GET', '/erm-usage-harvester/impl'],
        ['GET', '/erm-usage-harvester/periodic'],
        ['POST', `${JOBS}/purgestale`],
        ['POST', `${JOBS}/cleanup`],
        ['POST', `${JOBS}/purgefinished?timestamp=1`],
        ['DELETE', '/erm-usage-harvester/periodic'],
      ];
      for (const [method, path] of paths) {
        const res = await call(svc, method, path, {
          headers: {
            'x-okapi-token': '',
            'user-agent': 'python-requests/2.31.0',
            'accept-encoding': 'gzip, deflate',
            accept: 'application/json, text/plain',
            'x-okapi-request-id': '123/abc',
          },
        });
        assert.ok([200, 204, 404].includes(res.status), `${method} ${path}: ${res.status}`);
        assert.equal(res.headers.get('x-okapi-token'), null);
      }
    });

    it('serves two keep-alive clients with interleaved requests (47)', async () => {
      const a = new Agent({ connections: 1, pipelining: 0 });
      const b = new Agent({ connections: 1, pipelining: 0 });
      try {
        const get = async (agent: Agent, path: string) => {
          const res = await request(svc.url + path, {
            dispatcher: agent,
            headers: { 'x-okapi-tenant': 'diku', connection: 'keep-alive' },
          });
          return { status: res.statusCode, body: (await res.body.json()) as any };
        };
        for (let i = 0; i < 3; i++) {
          const [ra, rb] = await Promise.all([
            get(a, `${JOBS}?limit=1`),
            get(b, '/erm-usage-harvester/impl'),
          ]);
          assert.equal(ra.status, 200);
          assert.equal(ra.body.totalRecords, 18);
          assert.equal(rb.status, 200);
          assert.equal(rb.body.implementations.length, 4);
        }
      } finally {
        await a.close();
        await b.close();
      }
    });
  });
}
