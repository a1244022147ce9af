/**
 * A month the database refuses while a harvest stores it (here a trigger raising an error, as a full
 * disk or a broken constraint would) is not stored; the provider job's report counts it under
 * `failed.upload` beside the months stored, so a job that "succeeded" does not hide a missing month,
 * and the log names the month. A request for several months (PR) whose months are written in one
 * statement falls back to writing them one by one: the others stored, the refused one counted. Both
 * databases.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import type { RunningService } from '../../src/server.ts';
import { startMockCounterServer, type MockCounterServer } from '../../mock/counter-server.ts';
import { backends, call } from '../helpers/service.ts';
import { harvestMockProviders, reportsOf } from '../helpers/harvest.ts';

const SCHEMA = 'diku_mod_erm_usage_harvester';

for (const backend of backends()) {
  describe(`a month the database refuses during a harvest (${backend.name})`, () => {
    let svc: RunningService;
    let mock: MockCounterServer;
    const logLines: string[] = [];
    let providerId = '';

    before(async () => {
      mock = await startMockCounterServer();
      svc = await backend.start({ logLines });
      await svc.ctx.db.query(
        `CREATE OR REPLACE FUNCTION ${SCHEMA}.refuse_month() RETURNS trigger AS $$
        BEGIN IF NEW.jsonb->>'yearMonth' = '2022-02' THEN RAISE EXCEPTION 'disk full'; END IF;
        RETURN NEW; END $$ LANGUAGE plpgsql`,
      );
      await svc.ctx.db.query(
        `CREATE TRIGGER refuse_month BEFORE INSERT ON ${SCHEMA}.counter_reports
       FOR EACH ROW EXECUTE FUNCTION ${SCHEMA}.refuse_month()`,
      );
      const ids = await harvestMockProviders(svc, mock.url, {
        'ok-refused': [['TR', 'PR'], '2022-01', '2022-03'],
      });
      providerId = ids['ok-refused'];
    });
    after(async () => {
      await svc?.close();
      await mock?.close();
    });

    it('stores the other months and counts the refused one in the job report', async () => {
      const months = (await reportsOf(svc, providerId)).map((r) => `${r.reportName} ${r.yearMonth}`).sort();
      assert.deepEqual(months, ['PR 2022-01', 'PR 2022-03', 'TR 2022-01', 'TR 2022-03']);
      const job = (await call(svc, 'GET', `/erm-usage-harvester/jobs?providerId=${providerId}`)).json
        .jobInfos[0];
      assert.equal(job.report.stored, 4);
      assert.deepEqual(job.report.failed, { upload: 2 });
      assert.ok(
        logLines.some((l) => l.includes('"event":"upload-failed"') && l.includes('2022-02')),
        'the log names the month',
      );
    });
  });
}
