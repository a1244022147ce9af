/**
 * Text PostgreSQL cannot store (NUL, lone UTF-16 surrogates) in a provider's JSON is replaced by U+FFFD
 * and counted; everything else, escaped backslashes and surrogate pairs included, stays as it was.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { storableJsonText, storableValue } from '../../src/counter/storable-text.ts';

describe('storable text', () => {
  it('replaces escaped NULs and lone surrogates, in values and member names', () => {
    const json = JSON.stringify({ a: 'x\u0000y', ['\ud800']: 1, pair: '\ud83d\ude00', d: '\udc00\ud800' });
    const { text, replaced } = storableJsonText(json);
    assert.equal(replaced, 4);
    assert.deepEqual(JSON.parse(text), {
      a: 'x\ufffdy',
      '\ufffd': 1,
      pair: '\ud83d\ude00',
      d: '\ufffd\ufffd',
    });
  });

  it('leaves escaped backslashes followed by "u0000", and upper-case pairs, alone', () => {
    const json = String.raw`{"lit":"\\u0000","odd":"\\\u0000","pair":"\uD83D\uDE00","hi":"\ud800\ud800\udc00"}`;
    const { text, replaced } = storableJsonText(json);
    assert.equal(replaced, 2);
    assert.deepEqual(JSON.parse(text), {
      lit: '\\u0000',
      odd: '\\\ufffd',
      pair: '\ud83d\ude00',
      hi: '\ufffd\ud800\udc00',
    });
  });

  it('returns clean text and values unchanged (the same string, the same object)', () => {
    const json = '{"Title":"Über \\"quoted\\" \\\\ text","n":1}';
    assert.equal(storableJsonText(json).text, json);
    const value = { Title: 'ok', list: [1, 'two'] };
    assert.equal(storableValue(value).value, value);
    assert.deepEqual(storableValue({ k: { '\udfff': 'a\u0000' } }), {
      value: { k: { '\ufffd': 'a\ufffd' } },
      replaced: 2,
    });
  });
});
