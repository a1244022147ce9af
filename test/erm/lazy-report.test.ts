/**
 * A report object parsed only when read (erm/port.ts `lazyJsonReport`): until something reads it, only
 * its text exists (which a store writes as it is); any read gives what `JSON.parse` of the text gives.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jsonTextOf, lazyJsonReport } from '../../src/erm/port.ts';

const TEXT = JSON.stringify({
  Report_Header: { Report_ID: 'TR', Release: '5.1', Exceptions: [{ Code: 3030, Message: 'x' }] },
  Report_Items: [{ Title: 'Ä "quoted" \u0001', Performance: { Total_Item_Requests: { '2022-01': 3 } } }],
});

describe('lazyJsonReport', () => {
  it('keeps its text for the store; reads, enumeration and JSON.stringify give the parsed report', () => {
    const report = lazyJsonReport(TEXT) as Record<string, unknown>;
    assert.equal(jsonTextOf(report), TEXT);
    assert.equal(JSON.stringify(report), TEXT);
    assert.deepEqual(report, JSON.parse(TEXT));
    assert.deepEqual(Object.keys(report), ['Report_Header', 'Report_Items']);
    assert.ok('Report_Items' in report);
    assert.equal((report.Report_Header as { Report_ID: string }).Report_ID, 'TR');
    const { Report_Items: items, ...rest } = report;
    assert.deepEqual(items, JSON.parse(TEXT).Report_Items);
    assert.deepEqual(Object.keys(rest), ['Report_Header']);
    assert.deepEqual({ ...report }, JSON.parse(TEXT));
    assert.equal(Array.isArray(report), false);
    assert.equal(Object.getPrototypeOf(report), Object.prototype);
  });

  it('a `__proto__` member stays a member, as JSON.parse makes it', () => {
    const text = '{"__proto__":{"polluted":true},"Report_Items":[]}';
    const report = lazyJsonReport(text) as Record<string, unknown>;
    assert.deepEqual(Object.keys(report), ['__proto__', 'Report_Items']);
    assert.equal(Object.getPrototypeOf(report), Object.prototype);
    assert.equal((report as { polluted?: boolean }).polluted, undefined);
    assert.equal(JSON.stringify(report), text);
  });

  it('the first read parses once; a text that is not JSON fails on that read, not before', () => {
    const report = lazyJsonReport('{"a":') as Record<string, unknown>;
    assert.throws(() => report.a, SyntaxError);
  });
});
