/**
 * Standalone store over HTTP: /usage-data-providers and /aggregator-settings (folio-contract §4, checklist items 142–144,
 * 147–150), on PGlite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningService } from '../../src/server.ts';
import { backends, call } from '../helpers/service.ts';
import { create, get, H7, INVALID_UUID, report, startStore, udp } from '../helpers/store.ts';

const UNKNOWN = '6e6190bb-0000-4000-8000-000000000099';

const aggregator = (label: string) => ({
  label,
  serviceType: 'NSS',
  serviceUrl: 'https://stats.example.org/Sushiservice/GetReport',
  aggregatorConfig: { apiKey: 'abc-secret', requestorId: 'def', customerId: 'ghi', reportRelease: '4' },
  accountConfig: { configType: 'Manual', configMail: 'ab@example.org', displayContact: ['Contact'] },
});

for (const backend of backends()) {
  describe(`store: usage data providers and aggregator settings (${backend.name})`, () => {
    let svc: RunningService;
    before(async () => {
      svc = await startStore(backend);
    });
    after(async () => {
      await svc.close();
    });

    it('POST answers 201 with the stored record, a Location header, metadata and derived fields', async () => {
      const res = await call(svc, 'POST', '/usage-data-providers', {
        body: udp('Provider POST', { unknownProp: { kept: true }, notes: null }),
        headers: { 'x-okapi-user-id': 'user-1' },
      });
      assert.equal(res.status, 201);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      const rec = res.json;
      assert.match(rec.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.equal(res.headers.get('location'), rec.id);
      assert.deepEqual(rec.unknownProp, { kept: true });
      assert.equal('notes' in rec, false, 'nulls are omitted');
      assert.match(rec.metadata.createdDate, H7);
      assert.equal(rec.metadata.updatedDate, rec.metadata.createdDate);
      assert.equal(rec.metadata.createdByUserId, 'user-1');
      assert.equal(rec.metadata.updatedByUserId, 'user-1');
      assert.equal(rec.hasFailedReport, 'no');
      assert.deepEqual(rec.reportErrorCodes, []);
      assert.deepEqual(rec.reportTypes, []);
      assert.deepEqual(rec.reportReleases, []);
      assert.equal('latestReport' in rec, false);
      assert.deepEqual(await get(svc, `/usage-data-providers/${rec.id}`), rec);
    });

    it('POST with an id keeps it; a duplicate id → 422 naming the table; a non-UUID id → 422', async () => {
      const id = '6e6190bb-0000-4000-8000-000000000001';
      assert.equal((await create(svc, '/usage-data-providers', udp('With id', { id }))).id, id);
      const dup = await call(svc, 'POST', '/usage-data-providers', { body: udp('Again', { id }) });
      assert.equal(dup.status, 422);
      assert.equal(
        dup.json.errors[0].message,
        `id value already exists in table usage_data_providers: ${id}`,
      );
      assert.equal(dup.json.total_records, 1);
      const bad = await call(svc, 'POST', '/usage-data-providers', { body: udp('Bad id', { id: 'abc' }) });
      assert.equal(bad.status, 422);
      assert.deepEqual(bad.json.errors[0].parameters, [{ key: 'id', value: 'abc' }]);
    });

    it('142: missing label → 422 naming the field; enum violations → 422', async () => {
      const body = udp('x');
      delete body.label;
      const res = await call(svc, 'POST', '/usage-data-providers', { body });
      assert.equal(res.status, 422);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      assert.deepEqual(res.json, {
        errors: [
          {
            message: 'label must not be null',
            type: '1',
            code: 'javax.validation.constraints.NotNull.message',
            parameters: [{ key: 'label', value: 'null' }],
          },
        ],
        total_records: 1,
      });
      const badEnum = await call(svc, 'POST', '/usage-data-providers', {
        body: udp('x', { harvestingConfig: { harvestingStatus: 'sometimes' } }),
      });
      assert.equal(badEnum.status, 422);
      assert.deepEqual(badEnum.json.errors[0].parameters, [
        { key: 'harvestingConfig.harvestingStatus', value: 'sometimes' },
      ]);
      assert.match(
        badEnum.json.errors[0].message,
        /^harvestingConfig\.harvestingStatus must be one of "active", "inactive"$/,
      );
      const noConfig = await call(svc, 'POST', '/usage-data-providers', {
        body: { label: 'x', status: 'active' },
      });
      assert.equal(noConfig.status, 422);
      assert.equal(noConfig.json.errors[0].parameters[0].key, 'harvestingConfig');
      const aggNoId = await call(svc, 'POST', '/usage-data-providers', {
        body: udp('x', { harvestingConfig: { harvestingStatus: 'active', aggregator: { name: 'n' } } }),
      });
      assert.equal(aggNoId.status, 422);
      assert.equal(aggNoId.json.errors[0].parameters[0].key, 'harvestingConfig.aggregator.id');
    });

    it('142: status inactive with harvestingStatus active → 422 naming both fields', async () => {
      const res = await call(svc, 'POST', '/usage-data-providers', {
        body: udp('x', { status: 'inactive' }),
      });
      assert.equal(res.status, 422);
      assert.equal(res.json.errors.length, 1);
      assert.match(res.json.errors[0].message, /status/);
      assert.match(res.json.errors[0].message, /harvestingConfig\.harvestingStatus/);
      assert.deepEqual(res.json.errors[0].parameters, [
        { key: 'status', value: 'inactive' },
        { key: 'harvestingConfig.harvestingStatus', value: 'active' },
      ]);
      const ok = await call(svc, 'POST', '/usage-data-providers', {
        body: udp('x', { status: 'inactive', harvestingConfig: { harvestingStatus: 'inactive' } }),
      });
      assert.equal(ok.status, 201);
    });

    it('a missing status takes the schema default "active"', async () => {
      const body = udp('No status');
      delete body.status;
      assert.equal((await create(svc, '/usage-data-providers', body)).status, 'active');
    });

    it('a body that is not JSON, or not an object → 400 text/plain', async () => {
      const bad = await call(svc, 'POST', '/usage-data-providers', {
        rawBody: '{"label":',
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(bad.status, 400);
      assert.match(bad.headers.get('content-type') ?? '', /^text\/plain/);
      const arr = await call(svc, 'POST', '/usage-data-providers', { body: [1] });
      assert.equal(arr.status, 400);
      const empty = await call(svc, 'POST', '/usage-data-providers', {
        rawBody: '',
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(empty.status, 400);
    });

    it('143: GET/DELETE of a non-UUID → 404 with the invalid-UUID text; unknown UUID → 404 Not found', async () => {
      for (const method of ['GET', 'DELETE']) {
        const res = await call(svc, method, '/usage-data-providers/abc');
        assert.equal(res.status, 404);
        assert.equal(res.text, INVALID_UUID);
        assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
        const unknown = await call(svc, method, `/usage-data-providers/${UNKNOWN}`);
        assert.equal(unknown.status, 404);
        assert.equal(unknown.text, 'Not found');
      }
      const put = await call(svc, 'PUT', '/usage-data-providers/abc', { body: udp('x') });
      assert.equal(put.status, 400);
      assert.equal(put.text, INVALID_UUID);
      const putUnknown = await call(svc, 'PUT', `/usage-data-providers/${UNKNOWN}`, { body: udp('x') });
      assert.equal(putUnknown.status, 404);
      assert.equal(putUnknown.text, 'Not found');
      const putInvalid = await call(svc, 'PUT', `/usage-data-providers/${UNKNOWN}`, {
        body: { status: 'active' },
      });
      assert.equal(putInvalid.status, 422);
    });

    it('144/149/150: PUT stores under the path id, keeps created metadata, replaces derived values', async () => {
      const rec = await create(svc, '/usage-data-providers', udp('Put me'));
      await create(svc, '/counter-reports', report(rec.id, '2020-03'));
      const otherId = '6e6190bb-0000-4000-8000-0000000000aa';
      const res = await call(svc, 'PUT', `/usage-data-providers/${rec.id}`, {
        body: {
          ...udp('Put me renamed'),
          id: otherId,
          latestReport: '2099-01',
          earliestReport: '1999-01',
          hasFailedReport: 'yes',
          reportErrorCodes: ['3030'],
          reportTypes: ['JR1'],
          reportReleases: ['4'],
          harvestingDate: 1663150476842,
          metadata: { createdDate: '2000-01-01T00:00:00.000+00:00', createdByUserId: 'forger' },
        },
        headers: { 'x-okapi-user-id': 'user-2' },
      });
      assert.equal(res.status, 204);
      assert.equal(res.text, '');
      assert.equal((await call(svc, 'GET', `/usage-data-providers/${otherId}`)).status, 404);
      const stored = await get(svc, `/usage-data-providers/${rec.id}`);
      assert.equal(stored.id, rec.id);
      assert.equal(stored.label, 'Put me renamed');
      assert.equal(stored.latestReport, '2020-03');
      assert.equal(stored.earliestReport, '2020-03');
      assert.equal(stored.hasFailedReport, 'no');
      assert.deepEqual(stored.reportErrorCodes, []);
      assert.deepEqual(stored.reportTypes, ['TR']);
      assert.deepEqual(stored.reportReleases, ['5']);
      assert.equal(stored.harvestingDate, '2022-09-14T10:14:36.842+00:00');
      assert.equal(stored.metadata.createdDate, rec.metadata.createdDate);
      assert.equal('createdByUserId' in stored.metadata, false);
      assert.equal(stored.metadata.updatedByUserId, 'user-2');
      assert.match(stored.metadata.updatedDate, H7);
    });

    it('folio-contract H8 date-time strings are stored as H7; an invalid date-time → 422', async () => {
      for (const [input, output] of [
        ['2019-01-01T08:00:00.000+0000', '2019-01-01T08:00:00.000+00:00'],
        ['2019-01-01T08:00:00+0100', '2019-01-01T07:00:00.000+00:00'],
        ['2019-01-01T08:00:00Z', '2019-01-01T08:00:00.000+00:00'],
      ]) {
        const rec = await create(svc, '/usage-data-providers', udp('Dates', { harvestingDate: input }));
        assert.equal(rec.harvestingDate, output);
      }
      const bad = await call(svc, 'POST', '/usage-data-providers', {
        body: udp('x', { harvestingDate: 'yesterday' }),
      });
      assert.equal(bad.status, 422);
      assert.deepEqual(bad.json.errors[0].parameters, [{ key: 'harvestingDate', value: 'yesterday' }]);
    });

    it('147: deleting a provider deletes its counter reports only', async () => {
      const a = await create(svc, '/usage-data-providers', udp('Delete A'));
      const b = await create(svc, '/usage-data-providers', udp('Delete B'));
      await create(svc, '/counter-reports', report(a.id, '2018-01'));
      await create(svc, '/counter-reports', report(a.id, '2018-02'));
      await create(
        svc,
        '/counter-reports',
        report(b.id, '2018-01', { failedAttempts: 1, failedReason: 'Number=3030' }),
      );
      const del = await call(svc, 'DELETE', `/usage-data-providers/${a.id}`);
      assert.equal(del.status, 204);
      assert.equal((await call(svc, 'GET', `/usage-data-providers/${a.id}`)).status, 404);
      const left = await get(svc, `/counter-reports?query=${encodeURIComponent(`providerId=="${a.id}"`)}`);
      assert.equal(left.totalRecords, 0);
      const others = await get(svc, `/counter-reports?query=${encodeURIComponent(`providerId=="${b.id}"`)}`);
      assert.equal(others.totalRecords, 1);
      const bAfter = await get(svc, `/usage-data-providers/${b.id}`);
      assert.deepEqual(bAfter.reportErrorCodes, ['3030']);
      assert.equal(bAfter.hasFailedReport, 'yes');
    });

    it('148: aggregator CRUD; the label is copied into linked providers and follows label changes', async () => {
      const agg = await create(svc, '/aggregator-settings', aggregator('Nationaler Statistikserver'));
      assert.equal(agg.label, 'Nationaler Statistikserver');
      assert.match(agg.metadata.createdDate, H7);
      const linked = await create(
        svc,
        '/usage-data-providers',
        udp('Linked', {
          harvestingConfig: {
            harvestingStatus: 'active',
            harvestVia: 'aggregator',
            aggregator: { id: agg.id, name: 'stale name', vendorCode: 'V1' },
          },
        }),
      );
      assert.deepEqual(linked.harvestingConfig.aggregator, {
        id: agg.id,
        name: 'Nationaler Statistikserver',
        vendorCode: 'V1',
      });
      const unlinked = await create(svc, '/usage-data-providers', udp('Unlinked'));
      const put = await call(svc, 'PUT', `/aggregator-settings/${agg.id}`, {
        body: aggregator('NSS renamed'),
      });
      assert.equal(put.status, 204);
      assert.equal((await get(svc, `/aggregator-settings/${agg.id}`)).label, 'NSS renamed');
      const after1 = await get(svc, `/usage-data-providers/${linked.id}`);
      assert.equal(after1.harvestingConfig.aggregator.name, 'NSS renamed');
      assert.equal(after1.harvestingConfig.aggregator.vendorCode, 'V1');
      assert.deepEqual(await get(svc, `/usage-data-providers/${unlinked.id}`), unlinked);
      // A PUT of the provider with a wrong name gets the label again.
      const body = {
        ...after1,
        harvestingConfig: { ...after1.harvestingConfig, aggregator: { id: agg.id, name: 'x' } },
      };
      assert.equal((await call(svc, 'PUT', `/usage-data-providers/${linked.id}`, { body })).status, 204);
      assert.equal(
        (await get(svc, `/usage-data-providers/${linked.id}`)).harvestingConfig.aggregator.name,
        'NSS renamed',
      );
      const q = await get(
        svc,
        `/usage-data-providers?query=${encodeURIComponent('harvestingConfig.aggregator.name="NSS renamed"')}`,
      );
      assert.deepEqual(
        q.usageDataProviders.map((p: any) => p.id),
        [linked.id],
      );
      const list = await get(svc, '/aggregator-settings');
      assert.equal(list.totalRecords, 1);
      // Credentials are encrypted at rest and masked in answers (docs/credentials.md).
      assert.equal(list.aggregatorSettings[0].aggregatorConfig.apiKey, '********');
      assert.equal(list.aggregatorSettings[0].aggregatorConfig.customerId, 'ghi');
      assert.equal((await call(svc, 'DELETE', `/aggregator-settings/${agg.id}`)).status, 204);
      assert.equal((await call(svc, 'GET', `/aggregator-settings/${agg.id}`)).status, 404);
    });

    it('aggregator validation: required fields and configType enum → 422', async () => {
      const body: Record<string, unknown> = aggregator('x');
      delete body.serviceUrl;
      const res = await call(svc, 'POST', '/aggregator-settings', { body });
      assert.equal(res.status, 422);
      assert.deepEqual(res.json.errors[0].parameters, [{ key: 'serviceUrl', value: 'null' }]);
      const badType = await call(svc, 'POST', '/aggregator-settings', {
        body: { ...aggregator('x'), accountConfig: { configType: 'Fax' } },
      });
      assert.equal(badType.status, 422);
      assert.deepEqual(badType.json.errors[0].parameters, [
        { key: 'accountConfig.configType', value: 'Fax' },
      ]);
      assert.equal(
        (await call(svc, 'PUT', '/aggregator-settings/abc', { body: aggregator('x') })).text,
        INVALID_UUID,
      );
    });
  });

  describe(`store: collection paging (${backend.name})`, () => {
    let svc: RunningService;
    const ids: string[] = [];
    before(async () => {
      svc = await startStore(backend);
      for (let i = 0; i < 12; i++) ids.push((await create(svc, '/usage-data-providers', udp(`P${i}`))).id);
    });
    after(async () => {
      await svc.close();
    });

    it('default limit 10, insertion order, exact totalRecords; offset pages', async () => {
      const first = await get(svc, '/usage-data-providers');
      assert.equal(first.totalRecords, 12);
      assert.deepEqual(
        first.usageDataProviders.map((p: any) => p.id),
        ids.slice(0, 10),
      );
      const second = await get(svc, '/usage-data-providers?offset=10&limit=10');
      assert.deepEqual(
        second.usageDataProviders.map((p: any) => p.id),
        ids.slice(10),
      );
      const beyond = await get(svc, '/usage-data-providers?offset=50');
      assert.deepEqual(beyond, { usageDataProviders: [], totalRecords: 12 });
    });

    it('limit=0 gives no records but totalRecords; limit 2147483647 gives all', async () => {
      assert.deepEqual(await get(svc, '/usage-data-providers?limit=0'), {
        usageDataProviders: [],
        totalRecords: 12,
      });
      assert.equal((await get(svc, '/usage-data-providers?limit=2147483647')).usageDataProviders.length, 12);
    });

    it('folio-contract H3/H2: empty parameters mean absent; orderBy, order, totalRecords and unknown parameters are ignored', async () => {
      const res = await get(
        svc,
        '/usage-data-providers?limit=&offset=&query=&orderBy=label&order=desc&totalRecords=none&flag=true',
      );
      assert.equal(res.usageDataProviders.length, 10);
      assert.equal(res.usageDataProviders[0].id, ids[0]);
    });

    it('folio-contract H11: non-numeric or negative offset/limit → 400 text/plain naming the parameter', async () => {
      for (const [qs, name] of [
        ['limit=abc', 'limit'],
        ['limit=-1', 'limit'],
        ['offset=-5', 'offset'],
        ['offset=1.5', 'offset'],
        ['limit=2147483648', 'limit'],
      ]) {
        const res = await call(svc, 'GET', `/usage-data-providers?${qs}`);
        assert.equal(res.status, 400, qs);
        assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
        assert.match(res.text, new RegExp(`parameter ${name}\\b`));
      }
    });

    it('invalid CQL → 422 with the key "CQL parse error"', async () => {
      const res = await call(svc, 'GET', `/usage-data-providers?query=${encodeURIComponent('label==')}`);
      assert.equal(res.status, 422);
      assert.equal(res.json.errors[0].parameters[0].key, 'CQL parse error');
      assert.equal(res.json.total_records, 1);
      assert.ok(res.json.errors[0].message.length > 0);
    });

    it('OpenAPI documents the store paths with the record schemas', async () => {
      const res = await call(svc, 'GET', '/openapi.json', { tenant: null });
      assert.equal(res.status, 200);
      for (const path of [
        '/usage-data-providers',
        '/usage-data-providers/{id}',
        '/aggregator-settings',
        '/counter-reports/{id}',
      ])
        assert.ok(res.json.paths[path], path);
      const post = res.json.paths['/usage-data-providers'].post;
      const schema = post.requestBody.content['application/json'].schema;
      assert.deepEqual(schema.required, ['label', 'status', 'harvestingConfig']);
    });

    it('the tenant header is required', async () => {
      const res = await call(svc, 'GET', '/usage-data-providers', { tenant: null });
      assert.equal(res.status, 400);
      assert.equal(res.text, 'Unable to process request Tenant must be set');
    });
  });
}
