/**
 * Which addresses the harvester may call for a provider (docs/hardening.md, "Provider addresses").
 *
 * A provider record names any URL, and a failed request's text comes back in `failedReason`: without a
 * rule a provider pointing at `http://169.254.169.254/` reads the cloud's credentials into the database.
 * The policy is checked on the address actually connected to: literal addresses before connecting, host
 * names inside the socket's DNS lookup (the addresses checked are the ones used, so a name that resolves
 * differently a moment later gains nothing), redirects included.
 *
 * Built in, always denied: `link-local`, `metadata`, `unspecified`, `broadcast`, `multicast`. Loopback and
 * private ranges are allowed (local mirrors, test servers) unless the operator denies them.
 * `HARVESTER_PROVIDER_HOSTS_DENY` adds entries, `HARVESTER_PROVIDER_HOSTS_ALLOW` makes exceptions (an
 * allowed address or host is never denied). An entry is a keyword, an address, a CIDR range, a host name,
 * or `.domain` for a domain and its sub-domains.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;
type Cidr = [Address, number];

export const HOSTS_DENY_VARIABLE = 'HARVESTER_PROVIDER_HOSTS_DENY';
export const HOSTS_ALLOW_VARIABLE = 'HARVESTER_PROVIDER_HOSTS_ALLOW';

/** The keywords of the settings and the ranges (and host names) they stand for. */
const KEYWORDS: Record<string, { cidrs: string[]; hosts?: string[] }> = {
  loopback: { cidrs: ['127.0.0.0/8', '::1/128'] },
  // RFC 1918, carrier-grade NAT (RFC 6598), IPv6 unique local and the deprecated site-local range.
  private: {
    cidrs: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', 'fc00::/7', 'fec0::/10'],
  },
  'link-local': { cidrs: ['169.254.0.0/16', 'fe80::/10'] },
  // Instance metadata services: AWS, GCP, Azure, OpenStack, Oracle (169.254.169.254, AWS also over IPv6),
  // AWS ECS and EKS task credentials, Alibaba Cloud; and the names that lead to them.
  metadata: {
    cidrs: [
      '169.254.169.254/32',
      '169.254.170.2/32',
      '169.254.170.23/32',
      '100.100.100.200/32',
      'fd00:ec2::254/128',
      'fd00:ec2::23/128',
    ],
    hosts: [
      'metadata.google.internal',
      'metadata.goog',
      'metadata',
      'instance-data',
      'instance-data.ec2.internal',
    ],
  },
  unspecified: { cidrs: ['0.0.0.0/8', '::/128'] },
  broadcast: { cidrs: ['255.255.255.255/32'] },
  multicast: { cidrs: ['224.0.0.0/4', 'ff00::/8'] },
  any: { cidrs: ['0.0.0.0/0', '::/0'] },
};

/** Denied whatever the settings say, unless allowed explicitly. */
export const BUILT_IN_DENY = ['metadata', 'link-local', 'unspecified', 'broadcast', 'multicast'];

interface Rule {
  /** How the refusal names it: the keyword or the entry as written. */
  label: string;
  cidrs: Cidr[];
  /** Exact host names (lower case, no trailing dot) and `.domain` suffixes. */
  hosts: string[];
}

/** A malformed entry in the settings; the message names the variable and the entry. */
export class HostPolicyError extends Error {
  override name = 'HostPolicyError';
}

/** A request refused by the policy; undici passes it through unchanged, the transport maps it. */
export class HostDeniedError extends Error {
  override name = 'HostDeniedError';
  readonly code = 'HOST_DENIED';
}

function normalHost(host: string): string {
  return host
    .trim()
    .toLowerCase()
    .replace(/\.$/, '')
    .replace(/^\[(.*)\]$/, '$1');
}

function parseEntry(entry: string, variable: string): Rule {
  const text = entry.trim();
  const keyword = KEYWORDS[text.toLowerCase()];
  if (keyword)
    return {
      label: text.toLowerCase(),
      cidrs: keyword.cidrs.map((c) => ipaddr.parseCIDR(c)),
      hosts: keyword.hosts ?? [],
    };
  const bare = text.replace(/^\[(.*)\](\/\d+)?$/, '$1$2');
  if (bare.includes('/')) {
    if (!ipaddr.isValidCIDR(bare))
      throw new HostPolicyError(`${variable}: "${text}" is not a CIDR range such as 10.0.0.0/8 or fd00::/8`);
    return { label: text, cidrs: [ipaddr.parseCIDR(bare)], hosts: [] };
  }
  if (isIP(bare)) {
    const address = ipaddr.parse(bare);
    return { label: text, cidrs: [[address, address.kind() === 'ipv4' ? 32 : 128]], hosts: [] };
  }
  if (/^\.?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/i.test(text))
    return { label: text, cidrs: [], hosts: [normalHost(text)] };
  const known = Object.keys(KEYWORDS).join(', ');
  throw new HostPolicyError(
    `${variable}: "${text}" is neither a keyword (${known}), an address, a CIDR range nor a host name`,
  );
}

function parseList(raw: string | undefined, variable: string): Rule[] {
  return (raw ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '')
    .map((e) => parseEntry(e, variable));
}

/** The addresses a connection to `address` really reaches: IPv4-mapped and NAT64 IPv6 carry an IPv4 one. */
function effectiveAddresses(address: Address): Address[] {
  if (address.kind() === 'ipv4') return [address];
  const v6 = address as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress()) return [v6.toIPv4Address()];
  if (v6.range() === 'rfc6052' && v6.match(ipaddr.parseCIDR('64:ff9b::/96'))) {
    const bytes = v6.toByteArray().slice(12);
    return [v6, ipaddr.fromByteArray(bytes)];
  }
  return [v6];
}

function cidrMatches(address: Address, [range, bits]: Cidr): boolean {
  return address.kind() === range.kind() && address.match(range, bits);
}

function hostMatches(host: string, pattern: string): boolean {
  return pattern.startsWith('.') ? host === pattern.slice(1) || host.endsWith(pattern) : host === pattern;
}

export class HostPolicy {
  private readonly deny: Rule[];
  private readonly allow: Rule[];
  /** Identifies the policy's content (dispatchers are cached per policy). */
  readonly key: string;

  /** `deny` and `allow`: the settings' comma-separated entries. Throws HostPolicyError. */
  constructor(deny?: string, allow?: string) {
    this.deny = [
      ...BUILT_IN_DENY.map((k) => parseEntry(k, 'built-in')),
      ...parseList(deny, HOSTS_DENY_VARIABLE),
    ];
    this.allow = parseList(allow, HOSTS_ALLOW_VARIABLE);
    this.key = `deny=${this.deny.map((r) => r.label).join(',')};allow=${this.allow.map((r) => r.label).join(',')}`;
  }

  /** The policy of an environment: `HARVESTER_PROVIDER_HOSTS_DENY` / `_ALLOW`. */
  static fromEnv(env: NodeJS.ProcessEnv): HostPolicy {
    return new HostPolicy(env[HOSTS_DENY_VARIABLE], env[HOSTS_ALLOW_VARIABLE]);
  }

  private refusal(subject: string, labels: string[]): string {
    return (
      `${subject} is not allowed (${[...new Set(labels)].join(', ')}); ` +
      `see ${HOSTS_DENY_VARIABLE} and ${HOSTS_ALLOW_VARIABLE}`
    );
  }

  /** The name rules alone: allowed or refused by name, or undefined when its addresses decide. */
  private nameVerdict(host: string): { allowed: true } | { refused: string } | undefined {
    const name = normalHost(host);
    if (this.allow.some((r) => r.hosts.some((p) => hostMatches(name, p)))) return { allowed: true };
    const labels = this.deny.filter((r) => r.hosts.some((p) => hostMatches(name, p))).map((r) => r.label);
    return labels.length > 0 ? { refused: this.refusal(`provider host ${name}`, labels) } : undefined;
  }

  /** Why connecting to this address (of `host`) is refused, or undefined when it is allowed. */
  checkAddress(address: string, host?: string): string | undefined {
    const bare = normalHost(address);
    if (!isIP(bare)) return `provider address ${bare} is not an IP address`;
    const reached = effectiveAddresses(ipaddr.parse(bare));
    if (reached.some((a) => this.allow.some((r) => r.cidrs.some((c) => cidrMatches(a, c))))) return undefined;
    const labels = this.deny
      .filter((r) => r.cidrs.some((c) => reached.some((a) => cidrMatches(a, c))))
      .map((r) => r.label);
    if (labels.length === 0) return undefined;
    const of = host !== undefined && normalHost(host) !== bare ? ` of ${normalHost(host)}` : '';
    return this.refusal(`provider address ${bare}${of}`, labels);
  }

  /** What is refused without DNS: a literal address that is denied, or a host name denied by name. */
  checkHost(host: string): string | undefined {
    const name = normalHost(host);
    if (isIP(name)) return this.checkAddress(name);
    const verdict = this.nameVerdict(name);
    return verdict && 'refused' in verdict ? verdict.refused : undefined;
  }

  /**
   * Resolves a host name and checks every address; for requests through a proxy, which resolves the name
   * itself, so that any denied address refuses the request.
   */
  async checkResolved(host: string): Promise<string | undefined> {
    const name = normalHost(host);
    if (isIP(name)) return this.checkAddress(name);
    const verdict = this.nameVerdict(name);
    if (verdict) return 'refused' in verdict ? verdict.refused : undefined;
    const addresses = await new Promise<LookupAddress[]>((resolve) =>
      dnsLookup(name, { all: true }, (err, found) => resolve(err ? [] : found)),
    );
    return addresses.map((a) => this.checkAddress(a.address, name)).find((r) => r !== undefined);
  }

  /**
   * A `lookup` for `net.connect`: resolves, drops denied addresses, and fails with HostDeniedError when
   * none is left. The socket connects only to what this returned.
   */
  readonly lookup = (
    hostname: string,
    options: LookupOptions,
    callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    const verdict = this.nameVerdict(hostname);
    if (verdict && 'refused' in verdict) {
      callback(new HostDeniedError(verdict.refused), '');
      return;
    }
    dnsLookup(hostname, { ...options, all: true }, (err, found) => {
      if (err) {
        callback(err, '');
        return;
      }
      const refusals = verdict ? [] : found.map((a) => this.checkAddress(a.address, hostname));
      const usable = found.filter((_, i) => refusals[i] === undefined);
      if (usable.length === 0) {
        const reason = refusals.find((r) => r !== undefined) ?? `provider host ${hostname} has no address`;
        callback(new HostDeniedError(reason), '');
        return;
      }
      if (options.all) callback(null, usable);
      else callback(null, usable[0].address, usable[0].family);
    });
  };
}

/** The policy without settings: the built-in denials only. */
export const DEFAULT_HOST_POLICY = new HostPolicy();
