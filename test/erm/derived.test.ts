/** Unit tests: error-code extraction (folio-contract §4.5 table), code-point sorting, and the record checks of record-checks.ts. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errorCodeOf, sortedStrings, withStats } from '../../src/erm/derived.ts';
import { checkCounterReport, checkProvider, RecordValidationError } from '../../src/erm/record-checks.ts';
import { isFolioUuid } from '../../src/model/schemas.ts';

describe('errorCodeOf', () => {
  const cases: [string, string][] = [
    ['Report not valid: Exception{Number=3031, Severity=ERROR, ...}', '3031'],
    [
      'Report not valid: [{"Code":3030,"Severity":"Warning","Message":"No Usage Available for Requested Dates"}]',
      '3030',
    ],
    ['HTTP 403: Forbidden - {"Code": 2010, "Message": "Requestor is Not Authorized ..."}', '2010'],
    ['{"Code":"2020","Message":"api_key Invalid","Severity":"Error"}', 'other'],
    ['Error getting report: Could not send Message., UnknownHostException ...', 'other'],
    ['Number=123456', '1234'],
  ];
  for (const [reason, code] of cases)
    it(`${reason} → ${code}`, () => assert.equal(errorCodeOf(reason), code));
});

describe('sortedStrings / withStats', () => {
  it('sorts by code point, not locale', () => {
    assert.deepEqual(sortedStrings(['other', 'TR', 'DR', 'tr', '3030', 'Ä']), [
      '3030',
      'DR',
      'TR',
      'other',
      'tr',
      'Ä',
    ]);
  });
  it('replaces client-sent derived values; omits undefined latest/earliest', () => {
    const out = withStats(
      { id: 'x', latestReport: '2099-01', earliestReport: '1999-01', reportTypes: ['JR1'], label: 'L' },
      { hasFailedReport: 'no', reportErrorCodes: [], reportTypes: [], reportReleases: [] },
    );
    assert.deepEqual(out, {
      id: 'x',
      label: 'L',
      hasFailedReport: 'no',
      reportErrorCodes: [],
      reportTypes: [],
      reportReleases: [],
    });
  });
});

describe('record checks', () => {
  const errorsOf = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      assert.ok(err instanceof RecordValidationError);
      return err.errors.map((e) => `${e.field}=${e.value}`);
    }
    assert.fail('no validation error');
  };

  it('provider: nulls removed, metadata and derived fields dropped, dates normalised, unknown kept', () => {
    const out = checkProvider({
      label: 'L',
      status: 'active',
      harvestingConfig: { harvestingStatus: 'inactive', harvestingEnd: null },
      harvestingDate: '2019-01-01T08:00:00+0000',
      metadata: { createdDate: 'x' },
      hasFailedReport: 'maybe',
      custom: [1, null],
    });
    assert.deepEqual(out, {
      label: 'L',
      status: 'active',
      harvestingConfig: { harvestingStatus: 'inactive' },
      harvestingDate: '2019-01-01T08:00:00.000+00:00',
      custom: [1, null],
    });
  });

  it('provider: every missing required field is named', () => {
    assert.deepEqual(
      errorsOf(() => checkProvider({ status: 'x' })),
      ['label=null', 'harvestingConfig=null', 'status=x'],
    );
  });

  it('counter report: report kept as is (nulls inside too); type errors named', () => {
    const body = {
      downloadTime: 0,
      release: '5',
      reportName: 'TR',
      yearMonth: '2020-01',
      report: { a: null },
    };
    assert.deepEqual(checkCounterReport(body), { ...body, downloadTime: '1970-01-01T00:00:00.000+00:00' });
    assert.deepEqual(
      errorsOf(() => checkCounterReport({ ...body, failedAttempts: 1.5, report: 'text' })),
      ['failedAttempts=1.5', 'report=text'],
    );
  });

  it('isFolioUuid follows RMB: version 1–5, variant 8/9/a/b', () => {
    assert.equal(isFolioUuid('6e6190bb-0000-4000-8000-000000000001'), true);
    assert.equal(isFolioUuid('6E6190BB-0000-1000-B000-000000000001'), true);
    assert.equal(isFolioUuid('6e6190bb-0000-0000-8000-000000000001'), false);
    assert.equal(isFolioUuid('6e6190bb-0000-4000-c000-000000000001'), false);
    assert.equal(isFolioUuid('abc'), false);
  });
});
