import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequestNode } from 'node:http';
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import {
  closeDispatchers,
  failureFromError,
  httpRequest,
  isTransportFailure,
  parseRetryAfter,
  type HttpResult,
} from '../../src/sushi/transport.ts';
import { reply, startStub, TRANSPORT } from '../helpers/sushi.ts';

after(closeDispatchers);

const BODY = JSON.stringify({ hello: 'world', list: Array.from({ length: 500 }, (_, i) => i) });

async function textOf(result: HttpResult): Promise<string> {
  if (isTransportFailure(result)) throw new Error(result.reason);
  const text = await result.body.text();
  if (typeof text !== 'string') throw new Error(text.reason);
  return text;
}

describe('transport: decompression', () => {
  for (const [encoding, encode] of [
    ['gzip', gzipSync],
    ['deflate', deflateSync],
    ['br', brotliCompressSync],
  ] as const) {
    it(`decodes ${encoding} and asks for gzip, deflate, br`, async () => {
      const stub = await startStub((_req, res) =>
        reply(res, 200, encode(Buffer.from(BODY)), { 'content-encoding': encoding }),
      );
      try {
        const result = await httpRequest({ method: 'GET', url: `${stub.url}/x` }, TRANSPORT);
        assert.equal(await textOf(result), BODY);
        assert.equal(stub.requests[0].headers['accept-encoding'], 'gzip, deflate, br');
        assert.equal(stub.requests[0].headers['user-agent'], TRANSPORT.userAgent);
      } finally {
        await stub.close();
      }
    });
  }

  it('decodes raw deflate (no zlib header) as some servers send it', async () => {
    const stub = await startStub((_req, res) =>
      reply(res, 200, deflateRawSync(Buffer.from(BODY)), { 'content-encoding': 'deflate' }),
    );
    try {
      assert.equal(await textOf(await httpRequest({ method: 'GET', url: stub.url }, TRANSPORT)), BODY);
    } finally {
      await stub.close();
    }
  });

  it('reports a corrupt gzip body as a connection error', async () => {
    const stub = await startStub((_req, res) =>
      reply(res, 200, Buffer.from('definitely not gzip'), { 'content-encoding': 'gzip' }),
    );
    try {
      const result = await httpRequest({ method: 'GET', url: stub.url }, TRANSPORT);
      assert.ok(!isTransportFailure(result));
      const text = await result.body.text();
      assert.ok(typeof text !== 'string');
      assert.match(text.reason, /^Connection error: Z_DATA_ERROR /);
    } finally {
      await stub.close();
    }
  });
});

describe('transport: timeouts', () => {
  it('headers timeout: no response headers in time', async () => {
    const stub = await startStub(() => undefined); // never answers
    try {
      const result = await httpRequest(
        { method: 'GET', url: stub.url },
        { ...TRANSPORT, headersTimeoutMs: 150 },
      );
      assert.ok(isTransportFailure(result));
      assert.equal(result.cause, 'transport');
      assert.equal(
        result.reason,
        'Connection error: UND_ERR_HEADERS_TIMEOUT no response headers within 150 ms',
      );
    } finally {
      await stub.close();
    }
  });

  it('idle timeout: the body stalls between chunks', async () => {
    const stub = await startStub((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"a":'); // and then nothing
    });
    try {
      const result = await httpRequest(
        { method: 'GET', url: stub.url },
        { ...TRANSPORT, idleTimeoutMs: 150 },
      );
      assert.ok(!isTransportFailure(result));
      const text = await result.body.text();
      assert.ok(typeof text !== 'string');
      assert.equal(text.reason, 'Connection error: UND_ERR_BODY_TIMEOUT no data received for 150 ms');
      assert.deepEqual(result.body.failure(), text);
    } finally {
      await stub.close();
    }
  });

  it('total timeout: a body that keeps trickling is cut off', async () => {
    const stub = await startStub((_req, res) => {
      res.writeHead(200);
      const timer = setInterval(() => res.write(' '), 20);
      res.on('close', () => clearInterval(timer));
    });
    try {
      const started = Date.now();
      const result = await httpRequest(
        { method: 'GET', url: stub.url },
        { ...TRANSPORT, idleTimeoutMs: 1000, totalTimeoutMs: 300 },
      );
      assert.ok(!isTransportFailure(result));
      const text = await result.body.text();
      assert.ok(typeof text !== 'string');
      assert.equal(text.reason, 'Connection error: TOTAL_TIMEOUT request not complete within 300 ms');
      assert.ok(Date.now() - started < 3000);
    } finally {
      await stub.close();
    }
  });

  it('total timeout also covers waiting for headers', async () => {
    const stub = await startStub(() => undefined);
    try {
      const result = await httpRequest(
        { method: 'GET', url: stub.url },
        { ...TRANSPORT, totalTimeoutMs: 150 },
      );
      assert.ok(isTransportFailure(result));
      assert.equal(result.code, 'TOTAL_TIMEOUT');
    } finally {
      await stub.close();
    }
  });

  it('connect timeout maps to a clear reason', () => {
    const error = Object.assign(new Error('Connect Timeout Error'), { code: 'UND_ERR_CONNECT_TIMEOUT' });
    const failure = failureFromError(error, { ...TRANSPORT, connectTimeoutMs: 75 }, { fired: undefined });
    assert.equal(failure.reason, 'Connection error: UND_ERR_CONNECT_TIMEOUT no connection within 75 ms');
  });

  it('an external abort signal ends the request', async () => {
    const stub = await startStub(() => undefined);
    try {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 50);
      const result = await httpRequest(
        { method: 'GET', url: stub.url, signal: controller.signal },
        TRANSPORT,
      );
      assert.ok(isTransportFailure(result));
      assert.equal(result.reason, 'Connection error: ABORTED request aborted');
    } finally {
      await stub.close();
    }
  });
});

describe('transport: errors, size, redirects', () => {
  it('connection refused: `Connection error: ECONNREFUSED connect ECONNREFUSED 127.0.0.1:<port>`', async () => {
    const stub = await startStub(() => undefined);
    const port = stub.port;
    await stub.close();
    const result = await httpRequest({ method: 'GET', url: `http://127.0.0.1:${port}/` }, TRANSPORT);
    assert.ok(isTransportFailure(result));
    assert.equal(result.reason, `Connection error: ECONNREFUSED connect ECONNREFUSED 127.0.0.1:${port}`);
  });

  it('connection reset by the server', async () => {
    const stub = await startStub((_req, _res, raw) => raw.socket.destroy());
    try {
      const result = await httpRequest({ method: 'GET', url: stub.url }, TRANSPORT);
      assert.ok(isTransportFailure(result));
      assert.match(result.reason, /^Connection error: \S+ /);
    } finally {
      await stub.close();
    }
  });

  it('sends a request once more when a kept-alive socket was closed before the answer began', async () => {
    let n = 0;
    const stub = await startStub((_req, res, raw) => {
      n += 1;
      // The second request arrives on the kept-alive socket of the first: the server drops it unanswered.
      if (n === 2) raw.socket.destroy();
      else reply(res, 200, Buffer.from(BODY));
    });
    try {
      assert.equal(await textOf(await httpRequest({ method: 'GET', url: stub.url }, TRANSPORT)), BODY);
      assert.equal(await textOf(await httpRequest({ method: 'GET', url: stub.url }, TRANSPORT)), BODY);
      assert.equal(n, 3, 'one repeat of the dropped request');
    } finally {
      await stub.close();
    }
  });

  it('does not repeat a request whose answer had begun', async () => {
    let n = 0;
    const stub = await startStub((_req, res) => {
      n += 1;
      res.writeHead(200, { 'content-length': '1000' });
      res.write('{"partial":');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    try {
      const result = await httpRequest({ method: 'GET', url: stub.url }, TRANSPORT);
      assert.ok(!isTransportFailure(result));
      const text = await result.body.text();
      assert.equal(typeof text, 'object', 'the body fails');
      assert.equal(n, 1);
    } finally {
      await stub.close();
    }
  });

  it('a declared Content-Length above the maximum fails as too-large', async () => {
    const stub = await startStub((_req, res) => reply(res, 200, 'x'.repeat(2000)));
    try {
      const result = await httpRequest(
        { method: 'GET', url: stub.url },
        { ...TRANSPORT, maxResponseBytes: 1000 },
      );
      assert.ok(!isTransportFailure(result));
      const text = await result.body.text();
      assert.ok(typeof text !== 'string');
      assert.equal(text.cause, 'too-large');
      assert.equal(text.reason, 'Report not valid: response exceeds 1000 bytes');
    } finally {
      await stub.close();
    }
  });

  it('a chunked (or compressed) body is cut off when it exceeds the maximum', async () => {
    const stub = await startStub((_req, res) =>
      reply(res, 200, gzipSync(Buffer.from('y'.repeat(5000))), { 'content-encoding': 'gzip' }),
    );
    try {
      const result = await httpRequest(
        { method: 'GET', url: stub.url },
        { ...TRANSPORT, maxResponseBytes: 1000 },
      );
      assert.ok(!isTransportFailure(result));
      const text = await result.body.text();
      assert.ok(typeof text !== 'string');
      assert.equal(text.reason, 'Report not valid: response exceeds 1000 bytes');
    } finally {
      await stub.close();
    }
  });

  it('follows redirects and re-sends a POST with its body', async () => {
    const target = await startStub((req, res) => reply(res, 200, `got ${req.method} ${req.body}`));
    const origin = await startStub((_req, res) => reply(res, 302, '', { location: `${target.url}/next` }));
    try {
      const result = await httpRequest({ method: 'POST', url: origin.url, body: '<x/>' }, TRANSPORT);
      assert.equal(await textOf(result), 'got POST <x/>');
      assert.equal(origin.requests.length, 1);
      assert.equal(target.requests.length, 1);
      assert.equal(target.requests[0].url, '/next');
      assert.ok(!isTransportFailure(result));
      assert.equal(result.url, `${target.url}/next`);
    } finally {
      await origin.close();
      await target.close();
    }
  });

  it('gives up after the redirect limit and returns the redirect itself', async () => {
    const stub = await startStub((req, res) => reply(res, 302, '', { location: `/r${req.url.length}` }));
    try {
      const result = await httpRequest({ method: 'GET', url: stub.url, maxRedirects: 2 }, TRANSPORT);
      assert.ok(!isTransportFailure(result));
      assert.equal(result.status, 302);
      await result.body.dump();
      assert.equal(stub.requests.length, 3);
    } finally {
      await stub.close();
    }
  });

  it('keeps the server reason phrase, or the standard one when none is sent', async () => {
    const stub = await startStub((req, res) =>
      req.url === '/custom' ? reply(res, 500, '', {}, 'Server Error') : reply(res, 404),
    );
    try {
      const a = await httpRequest({ method: 'GET', url: `${stub.url}/custom` }, TRANSPORT);
      const b = await httpRequest({ method: 'GET', url: `${stub.url}/plain` }, TRANSPORT);
      assert.ok(!isTransportFailure(a) && !isTransportFailure(b));
      assert.equal(a.statusText, 'Server Error');
      assert.equal(b.statusText, 'Not Found');
      await a.body.dump();
      await b.body.dump();
    } finally {
      await stub.close();
    }
  });
});

describe('transport: Retry-After', () => {
  it('parses delta-seconds and HTTP-dates', () => {
    const now = Date.parse('2024-05-01T12:00:00Z');
    assert.equal(parseRetryAfter('120', now), 120_000);
    assert.equal(parseRetryAfter(' 0 ', now), 0);
    assert.equal(parseRetryAfter('Wed, 01 May 2024 12:00:30 GMT', now), 30_000);
    assert.equal(parseRetryAfter('Wed, 01 May 2024 11:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter(['5'], now), 5_000);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter('-3', now), undefined);
    assert.equal(parseRetryAfter(undefined, now), undefined);
  });
});

describe('transport: proxy', () => {
  it('sends plain HTTP through HTTP_PROXY as an absolute-URI request (no CONNECT)', async () => {
    const target = await startStub((_req, res) => reply(res, 200, 'direct'));
    const seen: string[] = [];
    const proxyStub = await startStub((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      // A tiny forwarding proxy: fetch the absolute URI and relay the answer.
      const upstream = httpRequestNode(req.url, { method: req.method }, (up) => {
        const chunks: Buffer[] = [];
        up.on('data', (c: Buffer) => chunks.push(c));
        up.on('end', () =>
          reply(res, up.statusCode ?? 502, Buffer.concat([Buffer.from('via proxy: '), ...chunks])),
        );
      });
      upstream.end();
    });
    const saved = {
      HTTP_PROXY: process.env.HTTP_PROXY,
      NO_PROXY: process.env.NO_PROXY,
      no_proxy: process.env.no_proxy,
      http_proxy: process.env.http_proxy,
    };
    process.env.HTTP_PROXY = proxyStub.url;
    delete process.env.http_proxy;
    delete process.env.NO_PROXY;
    delete process.env.no_proxy;
    try {
      const result = await httpRequest({ method: 'GET', url: `${target.url}/data?x=1` }, TRANSPORT);
      assert.equal(await textOf(result), 'via proxy: direct');
      assert.deepEqual(seen, [`GET ${target.url}/data?x=1`]);
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      await closeDispatchers();
      await proxyStub.close();
      await target.close();
    }
  });
});
