/**
 * The provider host policy: which addresses the harvester may call, checked on the address actually
 * connected to (literals before connecting, names in the socket's lookup, every redirect), and refused
 * requests as a clear failure that the policy table treats as a configuration error.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, loadHarvestConfig } from '../../src/config.ts';
import { decide } from '../../src/harvest/policy.ts';
import { DEFAULT_HOST_POLICY, HostDeniedError, HostPolicy } from '../../src/sushi/host-policy.ts';
import { closeDispatchers, httpRequest, isTransportFailure } from '../../src/sushi/transport.ts';
import { fromTransportFailure } from '../../src/sushi/failure.ts';
import { TRANSPORT } from '../helpers/sushi.ts';

after(closeDispatchers);

const SEE = 'see HARVESTER_PROVIDER_HOSTS_DENY and HARVESTER_PROVIDER_HOSTS_ALLOW';

describe('host policy: addresses', () => {
  const policy = DEFAULT_HOST_POLICY;

  it('denies link-local, cloud metadata, unspecified, broadcast and multicast by default', () => {
    const cases: [string, string][] = [
      ['169.254.169.254', 'metadata, link-local'],
      ['169.254.10.20', 'link-local'],
      ['100.100.100.200', 'metadata'],
      ['fd00:ec2::254', 'metadata'],
      ['fe80::1', 'link-local'],
      ['0.0.0.0', 'unspecified'],
      ['::', 'unspecified'],
      ['255.255.255.255', 'broadcast'],
      ['224.0.0.251', 'multicast'],
      ['ff02::1', 'multicast'],
    ];
    for (const [address, why] of cases)
      assert.equal(
        policy.checkAddress(address),
        `provider address ${address} is not allowed (${why}); ${SEE}`,
        address,
      );
  });

  it('allows loopback, private ranges and public addresses by default (local mirrors, test servers)', () => {
    for (const address of [
      '127.0.0.1',
      '::1',
      '10.1.2.3',
      '172.16.0.9',
      '192.168.1.1',
      'fd12::1',
      '8.8.8.8',
      '2001:4860::8888',
    ])
      assert.equal(policy.checkAddress(address), undefined, address);
  });

  it('sees the IPv4 address inside IPv4-mapped and NAT64 IPv6 addresses', () => {
    assert.match(
      policy.checkAddress('::ffff:169.254.169.254') ?? '',
      /^provider address ::ffff:169\.254\.169\.254 is not allowed \(metadata, link-local\)/,
    );
    assert.match(policy.checkAddress('::ffff:a9fe:a9fe') ?? '', /\(metadata, link-local\)/);
    assert.match(policy.checkAddress('64:ff9b::a9fe:a9fe') ?? '', /\(metadata, link-local\)/);
    assert.equal(policy.checkAddress('::ffff:8.8.8.8'), undefined);
    const noLoopback = new HostPolicy('loopback');
    assert.match(noLoopback.checkAddress('::ffff:127.0.0.1') ?? '', /\(loopback\)/);
  });

  it('operators deny more with keywords, addresses and CIDR ranges, and allow exceptions', () => {
    const p = new HostPolicy(
      'loopback, private, 203.0.113.0/24, 2001:db8::/32',
      '10.9.0.0/16, 169.254.169.254',
    );
    assert.match(p.checkAddress('127.0.0.1') ?? '', /\(loopback\)/);
    assert.match(p.checkAddress('192.168.0.10') ?? '', /\(private\)/);
    assert.match(p.checkAddress('100.64.1.1') ?? '', /\(private\)/);
    assert.match(p.checkAddress('fd00::5') ?? '', /\(private\)/);
    assert.match(p.checkAddress('203.0.113.7') ?? '', /\(203\.0\.113\.0\/24\)/);
    assert.match(p.checkAddress('2001:db8::1') ?? '', /\(2001:db8::\/32\)/);
    assert.equal(p.checkAddress('10.9.1.1'), undefined, 'allowed exception inside a denied range');
    assert.equal(
      p.checkAddress('169.254.169.254'),
      undefined,
      'the operator may allow even a built-in denial',
    );
    assert.equal(p.checkAddress('8.8.8.8'), undefined);
  });

  it('`any` with allow entries is an allow list', () => {
    const p = new HostPolicy('any', '198.51.100.0/24, .counter.example.org');
    assert.equal(p.checkAddress('198.51.100.20'), undefined);
    assert.match(p.checkAddress('8.8.8.8') ?? '', /\(any\)/);
    assert.equal(p.checkHost('sushi.counter.example.org'), undefined);
  });

  it('names: metadata host names are refused before DNS; names and domains can be denied', () => {
    assert.equal(
      DEFAULT_HOST_POLICY.checkHost('Metadata.Google.Internal.'),
      `provider host metadata.google.internal is not allowed (metadata); ${SEE}`,
    );
    const p = new HostPolicy('intranet.example, .corp.example');
    assert.match(
      p.checkHost('intranet.example') ?? '',
      /provider host intranet\.example is not allowed \(intranet\.example\)/,
    );
    assert.match(p.checkHost('stats.corp.example') ?? '', /\(\.corp\.example\)/);
    assert.equal(p.checkHost('corp.example.org'), undefined);
    assert.equal(p.checkHost('sushi.example.org'), undefined, 'other names are decided by their addresses');
  });

  it('bad entries are a configuration error naming the variable and the entry', () => {
    assert.throws(
      () => loadHarvestConfig({ HARVESTER_PROVIDER_HOSTS_DENY: 'loopback, 10.0.0.0/33' }),
      (e: Error) =>
        e instanceof ConfigError && /HARVESTER_PROVIDER_HOSTS_DENY: "10\.0\.0\.0\/33"/.test(e.message),
    );
    assert.throws(
      () => loadHarvestConfig({ HARVESTER_PROVIDER_HOSTS_ALLOW: 'not a host!' }),
      (e: Error) =>
        e instanceof ConfigError &&
        /HARVESTER_PROVIDER_HOSTS_ALLOW: "not a host!" is neither a keyword/.test(e.message),
    );
    const cfg = loadHarvestConfig({ HARVESTER_PROVIDER_HOSTS_DENY: 'private' });
    assert.match(cfg.providerHosts.checkAddress('10.0.0.1') ?? '', /\(private\)/);
    assert.match(
      cfg.providerHosts.checkAddress('169.254.169.254') ?? '',
      /link-local/,
      'the built-in denials stay',
    );
  });
});

describe('host policy: names resolved at connection time', () => {
  it('the socket lookup drops denied addresses and refuses a name that has only denied ones', async () => {
    const lookup = (policy: HostPolicy, all: boolean) =>
      new Promise<{ err: Error | null; address: unknown }>((resolve) =>
        policy.lookup('localhost', { all }, (err, address) => resolve({ err, address })),
      );
    const denied = await lookup(new HostPolicy('loopback'), true);
    assert.ok(denied.err instanceof HostDeniedError);
    assert.match(
      denied.err.message,
      /^provider address (127\.0\.0\.1|::1) of localhost is not allowed \(loopback\)/,
    );
    const allowed = await lookup(DEFAULT_HOST_POLICY, false);
    assert.equal(allowed.err, null);
    assert.match(String(allowed.address), /^(127\.0\.0\.1|::1)$/);
    const onlyV4 = await lookup(new HostPolicy('::1'), true);
    assert.deepEqual(
      (onlyV4.address as { address: string }[]).map((a) => a.address),
      ['127.0.0.1'],
      'a denied address among allowed ones is dropped, the others stay usable',
    );
  });
});

/** A server that counts TCP connections and answers every request with `answer`. */
async function countingServer(
  answer: (url: string) => { status: number; location?: string },
): Promise<{ url: string; port: number; connections: () => number; close: () => Promise<void> }> {
  let connections = 0;
  const server: Server = createServer((req, res) => {
    const { status, location } = answer(req.url ?? '/');
    res.writeHead(status, location ? { location, 'content-length': 0 } : { 'content-length': 2 });
    res.end(location ? undefined : 'ok');
  });
  server.on('connection', () => (connections += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('host policy in the transport', () => {
  it('refuses the metadata address in any spelling, before connecting, with a clear reason', async () => {
    for (const url of [
      'http://169.254.169.254/latest/meta-data/',
      'http://2852039166/latest/meta-data/', // the same address as one decimal number
      'http://[::ffff:169.254.169.254]/',
      'http://metadata.google.internal/computeMetadata/v1/',
    ]) {
      const result = await httpRequest({ method: 'GET', url }, TRANSPORT);
      assert.ok(isTransportFailure(result), url);
      assert.equal(result.cause, 'host-denied', url);
      assert.equal(result.code, 'HOST_DENIED');
      assert.match(result.reason, /^provider (address|host) \S+ is not allowed \(metadata/, url);
      assert.ok(result.reason.endsWith(SEE), result.reason);
    }
  });

  it('a denied address is never connected to: literal, by name, and after a redirect', async () => {
    const server = await countingServer(() => ({ status: 200 }));
    const redirector = await countingServer(() => ({
      status: 302,
      location: `http://localhost:${server.port}/moved`,
    }));
    try {
      const noLoopback = { ...TRANSPORT, hostPolicy: new HostPolicy('loopback') };
      const literal = await httpRequest({ method: 'GET', url: `${server.url}/r51/reports/tr` }, noLoopback);
      assert.ok(isTransportFailure(literal));
      assert.equal(literal.reason, `provider address 127.0.0.1 is not allowed (loopback); ${SEE}`);
      const named = await httpRequest(
        { method: 'GET', url: `http://localhost:${server.port}/x` },
        noLoopback,
      );
      assert.ok(isTransportFailure(named));
      assert.match(
        named.reason,
        /^provider address (127\.0\.0\.1|::1) of localhost is not allowed \(loopback\)/,
      );
      assert.equal(server.connections(), 0, 'no connection was made');

      // The redirector itself is allowed; the host it redirects to is not.
      const onlyServerDenied = { ...TRANSPORT, hostPolicy: new HostPolicy('localhost') };
      const redirected = await httpRequest({ method: 'GET', url: redirector.url }, onlyServerDenied);
      assert.ok(isTransportFailure(redirected));
      assert.match(redirected.reason, /^provider host localhost is not allowed \(localhost\)/);
      assert.equal(redirector.connections(), 1);
      assert.equal(server.connections(), 0);

      const fine = await httpRequest({ method: 'GET', url: `${server.url}/ok` }, TRANSPORT);
      assert.ok(!isTransportFailure(fine));
      assert.equal(await fine.body.text(), 'ok');
      assert.equal(server.connections(), 1, 'the default policy allows loopback');
    } finally {
      await server.close();
      await redirector.close();
    }
  });

  it('through a proxy the resolved addresses are checked before anything is sent', async () => {
    const proxy = await countingServer(() => ({ status: 200 }));
    const saved = { HTTP_PROXY: process.env.HTTP_PROXY, NO_PROXY: process.env.NO_PROXY };
    process.env.HTTP_PROXY = proxy.url;
    delete process.env.NO_PROXY;
    try {
      const noLoopback = { ...TRANSPORT, hostPolicy: new HostPolicy('loopback') };
      const denied = await httpRequest({ method: 'GET', url: 'http://localhost:1/x' }, noLoopback);
      assert.ok(isTransportFailure(denied));
      assert.match(denied.reason, /of localhost is not allowed \(loopback\)/);
      const metadata = await httpRequest({ method: 'GET', url: 'http://169.254.169.254/' }, TRANSPORT);
      assert.ok(isTransportFailure(metadata));
      assert.equal(proxy.connections(), 0);
      const via = await httpRequest(
        { method: 'GET', url: 'http://sushi.example.org/r51/status' },
        {
          ...TRANSPORT,
          hostPolicy: new HostPolicy(undefined, 'sushi.example.org'),
        },
      );
      assert.ok(!isTransportFailure(via), 'an allowed name goes through the proxy');
      await via.body.dump();
      assert.equal(proxy.connections(), 1);
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      await closeDispatchers();
      await proxy.close();
    }
  });

  it('the policy table stops the provider run as a configuration error', async () => {
    const result = await httpRequest({ method: 'GET', url: 'http://169.254.169.254/' }, TRANSPORT);
    assert.ok(isTransportFailure(result));
    const failure = fromTransportFailure(result, []);
    assert.equal(failure.cause, 'host-denied');
    const decision = decide(failure);
    assert.equal(decision.action, 'stop-job');
    assert.equal(decision.rule, 'provider address not allowed (host policy)');
  });
});
