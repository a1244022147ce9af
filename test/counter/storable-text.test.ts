/**
 * Text PostgreSQL cannot store (NUL, lone UTF-16 surrogates) in a provider's JSON is replaced by U+FFFD
 * and counted; everything else, escaped backslashes and surrogate pairs included, stays as it was.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { Buffer } from 'node:buffer';
import {
  makeStorableEscapedJsonBytes,
  storableEscapedJsonText,
  storableJsonText,
  storableValue,
} from '../../src/counter/storable-text.ts';

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
    // Surrogate pairs are storable: the same object; lone ones deep in arrays are found.
    const pairs = { topItems: { M: [{ name: 'smile \ud83d\ude00', identifiers: { '\ud83d\ude00': 'x' } }] } };
    assert.equal(storableValue(pairs).value, pairs);
    assert.deepEqual(storableValue({ a: [1, null, true, [{ b: ['ok', 'x\ud800'] }]] }), {
      value: { a: [1, null, true, [{ b: ['ok', 'x\ufffd'] }]] },
      replaced: 1,
    });
  });

  it('replaces the same escapes in text decoded from UTF-8, where nothing unstorable is raw', () => {
    // A lone surrogate sent raw (CESU-8 bytes) is decoded as U+FFFD; escaped ones stay escapes.
    const bytes = Buffer.concat([
      Buffer.from('{"raw":"'),
      Buffer.from([0xed, 0xa0, 0x80]),
      Buffer.from(String.raw`","esc":"\ud800 \u0000","pair":"\ud83d\ude00","lit":"\\u0000"}`),
    ]);
    const json = bytes.toString('utf8');
    assert.deepEqual(storableEscapedJsonText(json), storableJsonText(json));
    const { text, replaced } = storableEscapedJsonText(json);
    assert.equal(replaced, 2);
    assert.deepEqual(JSON.parse(text), {
      raw: '\ufffd\ufffd\ufffd',
      esc: '\ufffd \ufffd',
      pair: '\ud83d\ude00',
      lit: '\\u0000',
    });
  });

  it('replaces the same escapes in UTF-8 bytes, in place, as in the decoded text', () => {
    const texts = [
      String.raw`{"lit":"\\u0000","odd":"\\\u0000","pair":"\uD83D\uDE00","hi":"\ud800\ud800\udc00"}`,
      String.raw`["é\u0000€","\udc00\ud800","😀\ud83d\ude00","\\\\\u0000","\u00e9\ud800"]`,
      String.raw`{"q":"\"\\","u":"\u12","end":"\ud800"}`,
      String.raw`{"plain":"Über \"quoted\" \\ text"}`,
      String.raw`"\ud800\u0000"`,
    ];
    for (const json of texts) {
      const bytes = Buffer.from(json);
      const before = bytes.length;
      const replaced = makeStorableEscapedJsonBytes(bytes);
      const expected = storableEscapedJsonText(json);
      assert.equal(bytes.length, before);
      assert.equal(bytes.toString('utf8'), expected.text, json);
      assert.equal(replaced, expected.replaced, json);
    }
  });
});
