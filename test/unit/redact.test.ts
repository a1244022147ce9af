/**
 * Redaction of secret values in every form a provider may echo them in, of any length, and of JSON log
 * lines without breaking them.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { SecretRegistry, createLogger, secrets } from '../../src/log.ts';
import { MIN_EVERYWHERE_LENGTH, redactSecrets, SecretMatcher } from '../../src/redact.ts';

const HOSTILE = ['+/ "\\=&', `<>&'`, 'ключ é😀', 'tab\there', 'a"b\\c/d'];

/** What encoders in the wild make of a value. */
function encodings(value: string): Record<string, string> {
  const json = JSON.stringify(value).slice(1, -1);
  const utf16 = [...Array(value.length).keys()].map((i) => value.charCodeAt(i));
  // PHP's json_encode: `\/` for a slash and `\uxxxx` for everything beyond ASCII.
  const php = [...value]
    .map((c) => {
      if (c === '/') return '\\/';
      if (c.charCodeAt(0) < 128) return JSON.stringify(c).slice(1, -1);
      return [...Array(c.length).keys()]
        .map((i) => `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`)
        .join('');
    })
    .join('');
  return {
    raw: value,
    json,
    'json in json': JSON.stringify(json).slice(1, -1),
    'json three deep': JSON.stringify(JSON.stringify(json).slice(1, -1)).slice(1, -1),
    'php json_encode (\\/ and \\uxxxx)': php,
    // .NET's default JSON encoder: \uXXXX for everything but letters, digits and a few safe characters.
    '.NET \\u escapes': utf16
      .map((u) =>
        /[A-Za-z0-9]/.test(String.fromCharCode(u))
          ? String.fromCharCode(u)
          : `\\u${u.toString(16).padStart(4, '0').toUpperCase()}`,
      )
      .join(''),
    encodeURIComponent: encodeURIComponent(value),
    'lower-case hex': encodeURIComponent(value).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
    'form (+ for space)': new URLSearchParams([['k', value]]).toString().slice(2),
    'URL-encoded twice': encodeURIComponent(encodeURIComponent(value)),
    encodeURI: encodeURI(value),
    'xml named': value
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;'),
    'xml numeric': value.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`),
    'xml hex, escaped twice': value.replace(/[<>&"']/g, (c) => `&amp;#x${c.charCodeAt(0).toString(16)};`),
    base64: Buffer.from(value).toString('base64'),
    base64url: Buffer.from(value).toString('base64url'),
  };
}

describe('secret values in every form', () => {
  for (const secret of HOSTILE) {
    it(`${JSON.stringify(secret)} is removed raw, URL-, form-, JSON-, XML- and base64-encoded`, () => {
      for (const [name, form] of Object.entries(encodings(secret))) {
        const text = `before [${form}] after`;
        assert.equal(redactSecrets(text, [secret]), 'before [***] after', `${name}: ${form}`);
      }
    });
  }

  it('NFC and NFD spellings of a non-ASCII value are both removed', () => {
    const nfc = 'clé-Ünïcode';
    assert.equal(redactSecrets(`x ${nfc.normalize('NFD')} y`, [nfc]), 'x *** y');
    assert.equal(redactSecrets(`x ${nfc} y`, [nfc.normalize('NFD')]), 'x *** y');
  });

  it('a value inside a longer word is removed when it has 4 or more characters', () => {
    assert.equal(MIN_EVERYWHERE_LENGTH, 4);
    assert.equal(redactSecrets('prefixs3cr3tsuffix', ['s3cr3t']), 'prefix***suffix');
  });

  it('a value containing another one is removed whole', () => {
    assert.equal(redactSecrets('key abcdef-long', ['abcdef', 'abcdef-long']), 'key ***');
  });
});

describe('short values (1 to 3 characters) are removed as tokens', () => {
  it('wherever they stand as a value: after = or :, in quotes, in tags, between spaces', () => {
    const cases: [string, string][] = [
      ['api_key=q&x=1', 'api_key=***&x=1'],
      ['{"Data":"key q is invalid"}', '{"Data":"key *** is invalid"}'],
      ['<ID>q</ID>', '<ID>***</ID>'],
      ['key:q.', 'key:***.'],
      ['"q"', '"***"'],
    ];
    for (const [text, want] of cases) assert.equal(redactSecrets(text, ['q']), want, text);
  });

  it('also when an escape sequence stands before them (%3D, \\n, \\u0022)', () => {
    assert.equal(redactSecrets('url=a%3Dq%26', ['q']), 'url=a%3D***%26');
    assert.equal(redactSecrets('line\\nq', ['q']), 'line\\n***');
    assert.equal(redactSecrets('\\u0022q\\u0022', ['q']), '\\u0022***\\u0022');
  });

  it('but not inside words and numbers, so messages stay readable', () => {
    assert.equal(
      redactSecrets('Usage for 2021-01 is not ready (q1 quality)', ['1', 'q']),
      'Usage for 2021-01 is not ready (q1 quality)',
    );
    assert.equal(redactSecrets('HTTP 1.1 for 1 month', ['1']), 'HTTP ***.*** for *** month');
  });

  it('short values made of punctuation and non-ASCII letters too, in their encoded forms', () => {
    for (const secret of ['&', '%"', 'Ж', '+', '\\']) {
      for (const [name, form] of Object.entries(encodings(secret))) {
        if (name.startsWith('base64')) continue; // a 1-3 byte value has no distinctive base64 form
        assert.equal(redactSecrets(`x ${form} y`, [secret]), 'x *** y', `${secret} ${name}: ${form}`);
      }
    }
  });
});

describe('parameter, header and field names', () => {
  it('mask the value whatever it is, also unknown values', () => {
    assert.equal(redactSecrets('GET /r?api_key=zz&x=1'), 'GET /r?api_key=***&x=1');
    assert.equal(
      redactSecrets('{"apiKey": "unknown-1", "requestor_id":"r\\"2", "customer_id":"c"}'),
      '{"apiKey": "***", "requestor_id":"***", "customer_id":"c"}',
    );
  });
});

describe('JSON log lines', () => {
  it('stay valid JSON when a short value looks like a number or a name in them', () => {
    const m = new SecretMatcher(['1', 'msg']);
    const line = `${JSON.stringify({ level: 30, count: 1, msg: 'key 1 rejected', 1: 'x' })}\n`;
    const out = m.redactJsonLine(line);
    const parsed = JSON.parse(out) as Record<string, unknown>;
    assert.equal(parsed.count, 1);
    assert.equal(parsed.level, 30);
    assert.ok(!out.includes('key 1 '), out);
    assert.ok(out.endsWith('\n'));
  });

  it('credential fields of logged objects are masked at any depth, whatever their value', () => {
    const line = JSON.stringify({
      level: 30,
      record: { provider: { sushiCredentials: { apiKey: 'never-seen-1', requestorId: 'r' } } },
      headers: { authorization: 'Bearer abc', 'x-okapi-token': 'tok' },
    });
    assert.deepEqual(JSON.parse(new SecretMatcher([]).redactJsonLine(line)), {
      level: 30,
      record: { provider: { sushiCredentials: { apiKey: '***', requestorId: '***' } } },
      headers: { authorization: '***', 'x-okapi-token': '***' },
    });
  });

  it('a hostile value inside a quoted provider body inside the line is removed', () => {
    const secret = '+/ "\\=&';
    const reason = `HTTP 401 - ${JSON.stringify({ Data: `bad key ${secret}`, Echo: JSON.stringify([secret]) })}`;
    const out = new SecretMatcher([secret]).redactJsonLine(JSON.stringify({ msg: reason }));
    assert.deepEqual(JSON.parse(out), {
      msg: `HTTP 401 - ${JSON.stringify({ Data: 'bad key ***', Echo: JSON.stringify(['***']) })}`,
    });
  });

  it('the registry takes values of any length; the logger scrubs every line with it', () => {
    const reg = new SecretRegistry();
    reg.add('k', '<>&\'"', '');
    reg.addFromRecord({ sushiCredentials: { apiKey: 'x7', requestorId: '' } });
    assert.deepEqual([...reg].sort(), ['<>&\'"', 'k', 'x7']);
    assert.equal(
      reg.redact('key k, x7 and &lt;&gt;&amp;&apos;&quot; but kx7 stays'),
      'key ***, *** and *** but kx7 stays',
    );
    const lines: string[] = [];
    const log = createLogger({ write: (line) => lines.push(line) });
    secrets.add('z', 'Zz"\\');
    log.info({ count: 2, reason: 'provider said: key z / Zz"\\ unknown' }, 'bad key z');
    assert.equal(lines.length, 1);
    const parsed = JSON.parse(lines[0]) as Record<string, unknown>;
    assert.equal(parsed.reason, 'provider said: key *** / *** unknown');
    assert.equal(parsed.msg, 'bad key ***');
    assert.equal(parsed.count, 2);
  });
});
