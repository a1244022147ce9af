/**
 * The pure input checks (src/model/input-checks.ts) and the date range of src/dates.ts: what PostgreSQL
 * cannot store is found with its place, deep JSON is found without recursion, dates outside the years
 * 0001–9999 are no dates (docs/hardening.md, "Client input").
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeDateTime, parseDateTime } from '../../src/dates.ts';
import {
  isCalendarDay,
  isYearMonth,
  jsonProblem,
  MAX_JSON_DEPTH,
  paramsProblem,
  textProblem,
} from '../../src/model/input-checks.ts';

describe('input checks', () => {
  it('find NUL and lone surrogates with their position, and pass paired surrogates and other text', () => {
    assert.equal(textProblem('ab\u0000c'), 'contains a NUL character (U+0000) at position 2');
    assert.equal(textProblem('x\uD800'), 'contains a lone UTF-16 surrogate (U+D800) at position 1');
    assert.equal(textProblem('\uDC00y'), 'contains a lone UTF-16 surrogate (U+DC00) at position 0');
    for (const fine of ['', '😀', 'e\u0301', '\uFFFF', '%00', '\\u0000', 'ключ'])
      assert.equal(textProblem(fine), undefined, fine);
  });

  it('name the JSON path of a bad string or member name', () => {
    assert.deepEqual(jsonProblem({ a: [{ b: 'ok' }, { 'odd key': 'x\u0000' }] }), {
      where: 'a[1]["odd key"]',
      what: 'contains a NUL character (U+0000) at position 1',
    });
    assert.deepEqual(jsonProblem({ a: { 'k\uDBFF': 1 } }), {
      where: 'a',
      what: 'has a member name that contains a lone UTF-16 surrogate (U+DBFF) at position 1',
    });
    assert.deepEqual(jsonProblem(['\u0000']), {
      where: '[0]',
      what: 'contains a NUL character (U+0000) at position 0',
    });
    assert.equal(jsonProblem({ a: [1, true, null, 'x', { b: 2.5 }] }), undefined);
    assert.equal(jsonProblem(Buffer.from('\u0000')), undefined, 'not plain JSON: not looked into');
  });

  it('find nesting beyond the limit at any depth without recursion, and take the limit itself', () => {
    const nest = (levels: number): unknown => {
      let v: unknown = 1;
      for (let i = 0; i < levels; i++) v = i % 2 ? { a: v } : [v];
      return v;
    };
    assert.equal(jsonProblem(nest(MAX_JSON_DEPTH)), undefined);
    const deep = jsonProblem(nest(MAX_JSON_DEPTH + 1));
    assert.match(deep!.what, /^is nested deeper than 64 levels/);
    const huge = jsonProblem(nest(200_000));
    assert.match(huge!.what, /nested deeper than 64/);
    assert.ok(huge!.where.length <= 120, 'the path is shortened');
  });

  it('check parameter names and values, also repeated ones', () => {
    assert.deepEqual(paramsProblem({ limit: '10', query: ['a', 'b\u0000'] }, 'query parameter'), {
      where: "query parameter 'query'",
      what: 'contains a NUL character (U+0000) at position 1',
    });
    assert.equal(paramsProblem({ 'x\u0000': '1' }, 'query parameter')?.where, 'query parameter name');
    assert.equal(paramsProblem(undefined, 'path parameter'), undefined);
  });

  it('take months yyyy-MM and days yyyy-MM-dd of the years 0001–9999 only', () => {
    for (const month of ['2024-01', '0001-12', '9999-12']) assert.ok(isYearMonth(month), month);
    for (const bad of ['2024-13', '2024-00', '2024-1', '0000-01', '24-01', 'garbage', ' 2024-01', 202401])
      assert.ok(!isYearMonth(bad), String(bad));
    for (const day of ['2024-02-29', '0001-01-01', '9999-12-31']) assert.ok(isCalendarDay(day), day);
    for (const bad of ['2023-02-29', '2024-04-31', '2024-01-00', '0000-01-01', '2024-01'])
      assert.ok(!isCalendarDay(bad), bad);
  });
});

describe('date-time range', () => {
  it('accepts the years 0001–9999, as strings and as epoch ms, without moving years below 100', () => {
    assert.equal(normalizeDateTime('0001-01-01'), '0001-01-01T00:00:00.000+00:00');
    assert.equal(normalizeDateTime('0050-06-01T12:00:00Z'), '0050-06-01T12:00:00.000+00:00');
    assert.equal(normalizeDateTime('9999-12-31T23:59:59.999Z'), '9999-12-31T23:59:59.999+00:00');
    assert.equal(normalizeDateTime(253_402_300_799_999), '9999-12-31T23:59:59.999+00:00');
  });

  it('refuses what lies outside, such as 1e300, instead of failing later', () => {
    for (const bad of [
      1e300,
      -1e300,
      253_402_300_800_000,
      -62_135_596_800_001,
      '0000-12-31T23:59:59Z',
      '0001-01-01T00:30:00+01:00',
    ])
      assert.equal(parseDateTime(bad), undefined, String(bad));
  });
});
