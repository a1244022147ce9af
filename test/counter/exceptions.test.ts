import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  actionableExceptions,
  classifyCode,
  failedReasonForErrorBody,
  failedReasonForHeaderExceptions,
  findExceptions,
  findExceptionsWithPlacement,
  harvestErrorClass,
  isWarningCode,
  isWarningOnly,
  parseExceptionCode,
  primaryException,
  toSushiException,
  type SushiException,
} from '../../src/counter/index.ts';

const header = { Report_ID: 'TR', Release: '5' };
const e3030 = { Code: 3030, Severity: 'Error', Message: 'No Usage Available for Requested Dates' };
const e3031 = {
  Code: 3031,
  Message: 'Usage Not Ready for Requested Dates',
  Data: 'Months not processed: 2024-02',
};

function codes(body: unknown): (number | undefined)[] {
  return findExceptions(body).map((e) => e.code);
}

void describe('findExceptions: placements', () => {
  void it('Report_Header.Exceptions (standard)', () => {
    const found = findExceptionsWithPlacement({
      Report_Header: { ...header, Exceptions: [e3030, e3031] },
      Report_Items: [],
    });
    assert.deepEqual(
      found.map((e) => [e.code, e.placement]),
      [
        [3030, 'header_exceptions'],
        [3031, 'header_exceptions'],
      ],
    );
    assert.equal(found[1].data, 'Months not processed: 2024-02');
    assert.equal(found[0].severity, 'Error');
    assert.deepEqual(found[0].raw, e3030);
  });

  void it('Report_Header.Exception as a single object', () => {
    const found = findExceptionsWithPlacement({
      Report_Header: { ...header, Exception: e3031 },
      Report_Items: [],
    });
    assert.deepEqual(
      found.map((e) => [e.code, e.placement]),
      [[3031, 'header_exception']],
    );
  });

  void it('root Exceptions / Exception beside Report_Header', () => {
    assert.deepEqual(
      findExceptionsWithPlacement({ Report_Header: header, Exceptions: [e3030] }).map((e) => [
        e.code,
        e.placement,
      ]),
      [[3030, 'root_exceptions']],
    );
    assert.deepEqual(
      findExceptionsWithPlacement({ Report_Header: header, Exception: e3031 }).map((e) => [
        e.code,
        e.placement,
      ]),
      [[3031, 'root_exception']],
    );
  });

  void it('a naked error object', () => {
    const body = {
      Code: 1011,
      Severity: 'Warning',
      Message: 'Report Queued for Processing',
      Data: 'token 42',
    };
    const [found] = findExceptionsWithPlacement(body);
    assert.equal(found.placement, 'naked_object');
    assert.deepEqual(
      { code: found.code, severity: found.severity, message: found.message, data: found.data },
      { code: 1011, severity: 'Warning', message: 'Report Queued for Processing', data: 'token 42' },
    );
  });

  void it('lower-case keys, number alias, code as numeric string, Severity as number', () => {
    const [a] = findExceptions({
      code: '2020',
      message: 'api_key Invalid',
      severity: 4,
      data: 'x',
      help_url: 'https://h',
    });
    assert.deepEqual(
      { code: a.code, severity: a.severity, message: a.message, data: a.data, helpUrl: a.helpUrl },
      { code: 2020, severity: '4', message: 'api_key Invalid', data: 'x', helpUrl: 'https://h' },
    );
    assert.deepEqual(codes({ number: 1001, severity: 'Error', message: 'Unknown' }), [1001]);
    assert.deepEqual(codes({ Code: ' 3030 ', Message: 'x' }), [3030]);
    assert.deepEqual(codes({ Help_URL: 'u', Message: 'm', Code: 1000 }), [1000]);
  });

  void it('Status holds the code only with a message, and does not hide Code', () => {
    assert.deepEqual(codes({ Status: 1011, Message: 'Report Queued' }), [1011]);
    assert.deepEqual(codes({ Status: 'error', Code: 1011, Message: 'q' }), [1011]);
    assert.deepEqual(codes({ status: 200, body: { Report_Header: header } }), []);
  });

  void it('a non-numeric code is kept as undefined', () => {
    const [e] = findExceptions({ Code: 'ERR_X', Message: 'Something', Severity: 'Fatal' });
    assert.equal(e.code, undefined);
    assert.equal(e.message, 'Something');
  });

  void it('an array of error objects', () => {
    const found = findExceptionsWithPlacement([
      { Code: 1011, Message: 'Report Queued for Processing' },
      { Code: 3060, Message: 'Invalid ReportFilter Value', Data: 'Access_Type' },
      'garbage',
      null,
    ]);
    assert.deepEqual(
      found.map((e) => [e.code, e.placement]),
      [
        [1011, 'array'],
        [3060, 'array'],
      ],
    );
  });

  void it('JSON inside a JSON string (stringified body), also for single array elements', () => {
    assert.deepEqual(codes(JSON.stringify(JSON.stringify({ Code: 2010, Message: 'Not authorized' }))), []);
    assert.deepEqual(codes(JSON.stringify({ Code: 2010, Message: 'Not authorized' })), [2010]);
    assert.deepEqual(codes(`\uFEFF ${JSON.stringify([{ Code: 1020, Message: 'Too many' }])}`), [1020]);
    assert.deepEqual(codes({ Report_Header: { Exceptions: [JSON.stringify(e3030)] } }), [3030]);
  });

  void it('a {body, response} wrapper without COUNTER members', () => {
    const found = findExceptionsWithPlacement({
      response: { status: 400 },
      body: JSON.stringify({ Code: 1030, Message: 'Insufficient' }),
    });
    assert.deepEqual(
      found.map((e) => [e.code, e.placement]),
      [[1030, 'wrapped']],
    );
  });

  void it('merges duplicates found in several places', () => {
    assert.deepEqual(codes({ Report_Header: { Exceptions: [e3030] }, Exceptions: [e3030] }), [3030]);
  });

  void it('finds nothing in reports without exceptions, or in garbage', () => {
    for (const body of [
      { Report_Header: header, Report_Items: [] },
      null,
      undefined,
      42,
      'text',
      '<html>',
      [],
      [1, 2],
      {},
    ]) {
      assert.deepEqual(findExceptions(body), [], JSON.stringify(body));
    }
    assert.equal(toSushiException({ Report_Header: {}, Code: 1 }), undefined);
    assert.equal(toSushiException({ Message: 'only a message' }), undefined);
  });

  void it('parseExceptionCode', () => {
    assert.equal(parseExceptionCode(3031), 3031);
    assert.equal(parseExceptionCode('3031'), 3031);
    assert.equal(parseExceptionCode('30a1'), undefined);
    assert.equal(parseExceptionCode(-1), undefined);
    assert.equal(parseExceptionCode(1.5), undefined);
  });
});

function ex(code: number | undefined, message = 'm'): SushiException {
  return { code, message, raw: { Code: code, Message: message } };
}

void describe('classification by code', () => {
  void it('warning-only codes: 0, 1–999, 3050, 3060–3063, 3070 (and R5.0.1 3071, 3080)', () => {
    for (const code of [0, 1, 500, 999, 3050, 3060, 3061, 3062, 3063, 3070, 3071, 3080])
      assert.ok(isWarningCode(code), `${code}`);
    for (const code of [
      undefined,
      1000,
      1010,
      1011,
      1020,
      1030,
      2000,
      2010,
      2011,
      2020,
      2030,
      3000,
      3010,
      3020,
      3030,
      3031,
      3032,
      3040,
      4001,
    ]) {
      assert.ok(!isWarningCode(code), `${code}`);
    }
    assert.ok(isWarningOnly([ex(0), ex(3050)]));
    assert.ok(!isWarningOnly([ex(0), ex(3031)]));
    assert.ok(!isWarningOnly([]));
  });

  void it('classifyCode', () => {
    const table: [number | undefined, string][] = [
      [0, 'warning'],
      [1000, 'service_unavailable'],
      [1010, 'service_busy'],
      [1011, 'queued'],
      [1020, 'rate_limited'],
      [1030, 'request_error'],
      [3020, 'request_error'],
      [2000, 'credentials'],
      [2010, 'credentials'],
      [2020, 'credentials'],
      [2030, 'credentials'],
      [2011, 'global_reports_unsupported'],
      [3000, 'report_unsupported'],
      [3010, 'release_unsupported'],
      [3030, 'no_usage'],
      [3031, 'not_ready'],
      [3032, 'no_longer_available'],
      [3040, 'partial_data'],
      [4001, 'unknown'],
      [undefined, 'unknown'],
    ];
    for (const [code, cls] of table) assert.equal(classifyCode(code), cls, `${code}`);
  });

  void it('harvestErrorClass follows folio-contract §8.1', () => {
    assert.equal(harvestErrorClass(1020, false), 'rate_limit');
    for (const code of [1000, 1010, 1011]) assert.equal(harvestErrorClass(code, false), 'transient');
    assert.equal(harvestErrorClass(3031, true), 'not_yet_available');
    assert.equal(harvestErrorClass(3040, true), 'informational');
    assert.equal(harvestErrorClass(3062, true), 'informational');
    assert.equal(harvestErrorClass(3062, false), 'other');
    for (const code of [1030, 2000, 2010, 2011, 2020, 2030, 3000, 3010])
      assert.equal(harvestErrorClass(code, false), 'configuration');
    assert.equal(harvestErrorClass(3030, false), 'no_usage');
    assert.equal(harvestErrorClass(3032, false), 'no_usage');
    assert.equal(harvestErrorClass(3020, false), 'other');
    assert.equal(harvestErrorClass(undefined, false), 'other');
  });

  void it('primaryException picks the lowest actionable code', () => {
    assert.equal(primaryException([ex(3060), ex(3031), ex(1011)])?.code, 1011);
    assert.equal(primaryException([ex(3060), ex(0)])?.code, 0);
    assert.equal(primaryException([ex(undefined), ex(3031)])?.code, 3031);
    assert.equal(primaryException([]), undefined);
    assert.deepEqual(
      actionableExceptions([ex(0), ex(3030)]).map((e) => e.code),
      [3030],
    );
  });
});

void describe('failedReason text (folio-contract §7.9, §8.1)', () => {
  void it('header exceptions as compact JSON with an extractable code', () => {
    const [e] = findExceptions({
      Report_Header: { Exceptions: [{ Code: 1030, Severity: 'Fatal', Message: 'Invalid Customer Id' }] },
    });
    assert.equal(
      failedReasonForHeaderExceptions([e]),
      'Report not valid: [{"Code":1030,"Severity":"Fatal","Message":"Invalid Customer Id"}]',
    );
  });

  void it('adds {"Code": n} when the vendor wrote the code as a string', () => {
    const body = '{"Code":"2020","Data":"x","Message":"api_key Invalid","Severity":"Error"}';
    const exceptions = findExceptions(body);
    assert.equal(failedReasonForErrorBody(body, exceptions), `${body} {"Code": 2020}`);
    assert.match(failedReasonForErrorBody(body, exceptions), /(?:Number=|"Code": ?)([0-9]{1,4})/);
    assert.equal(failedReasonForErrorBody('{"Code":2020}', findExceptions('{"Code":2020}')), '{"Code":2020}');
  });
});
