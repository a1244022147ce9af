/**
 * A client of the COUNTER Registry API v1 (https://registry.countermetrics.org/api/v1/):
 *
 * * `GET platform/` — every platform (one JSON array), with its reports and links to its services;
 * * `GET platform/<id>/` — one platform;
 * * `GET sushi-service/<id>/` — one COUNTER API service: base URL, release, which credentials it needs.
 *
 * The API has no documented search, so `searchPlatforms` filters the platform list, which is fetched
 * once and kept for `listTtlMs` (a day by default). Requests go through the harvester's keep-alive
 * dispatcher (so `HTTPS_PROXY` applies), follow up to three redirects and have one total timeout.
 */
import { STATUS_CODES } from 'node:http';
import pLimit from 'p-limit';
import { interceptors, request, type Dispatcher } from 'undici';
import { systemClock, type Clock } from '../clock.ts';
import { dispatcherFor } from '../sushi/transport.ts';
import { RegistryError, RegistryNotFoundError, RegistryUnreachableError } from './errors.ts';
import {
  readPlatform,
  readPlatformList,
  readSushiService,
  type RegistryPlatform,
  type RegistrySushiService,
} from './model.ts';

export const DEFAULT_REGISTRY_URL = 'https://registry.countermetrics.org/api/v1/';
export const REGISTRY_URL_VARIABLE = 'HARVESTER_REGISTRY_URL';

export interface RegistryClientOptions {
  /** The API root; default HARVESTER_REGISTRY_URL or the public registry. */
  baseUrl?: string;
  /** Time for one request, from sending to the last byte; default 20 s. */
  timeoutMs?: number;
  /** Time to open a connection; default 10 s. */
  connectTimeoutMs?: number;
  /** How long the platform list is reused; default 24 h. */
  listTtlMs?: number;
  /** Largest answer read; default 64 MiB. */
  maxBytes?: number;
  /** Requests at once when several services are fetched; default 4. */
  concurrency?: number;
  userAgent?: string;
  clock?: Clock;
}

/** The registry's base URL from the environment (HARVESTER_REGISTRY_URL), or the public registry. */
export function registryUrlFrom(env: NodeJS.ProcessEnv = process.env): string {
  const value = env[REGISTRY_URL_VARIABLE]?.trim();
  return value ? value : DEFAULT_REGISTRY_URL;
}

/** The API root as an absolute http(s) URL ending in `/`. */
function parseBaseUrl(raw: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(raw.trim());
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new RegistryError(
      'REGISTRY_URL',
      `${REGISTRY_URL_VARIABLE} must be an http(s) URL such as ${DEFAULT_REGISTRY_URL}`,
    );
  }
  url.search = '';
  url.hash = '';
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

/** The URL without user name or password, for messages. */
function displayUrl(url: URL): string {
  const copy = new URL(url.href);
  copy.username = '';
  copy.password = '';
  return copy.href;
}

function errorCode(e: unknown): string | undefined {
  const err = e as { code?: unknown; cause?: { code?: unknown } };
  if (typeof err?.code === 'string') return err.code;
  return typeof err?.cause?.code === 'string' ? err.cause.code : undefined;
}

/** Why a request got no answer, in words. */
function reasonOf(e: unknown, timeoutMs: number): string {
  const code = errorCode(e);
  const name = (e as Error)?.name;
  if (
    name === 'TimeoutError' ||
    name === 'AbortError' ||
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT'
  ) {
    return `no answer within ${timeoutMs / 1000} s`;
  }
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return 'connection timed out';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return 'connection closed before an answer';
    default: {
      const message = (e as Error)?.message ?? String(e);
      return code ? `${code} ${message}` : message;
    }
  }
}

/** What the harvester learns about the registry records its providers link to (see sync.ts). */
export interface RegistrySnapshot {
  /** Platforms by id; `null`: the registry no longer lists it. Ids not present were not looked up. */
  platforms: ReadonlyMap<string, RegistryPlatform | null>;
  /** Services by id; `null`: the registry has no such service any more. */
  services: ReadonlyMap<string, RegistrySushiService | null>;
}

export class RegistryClient {
  readonly baseUrl: string;
  private readonly base: URL;
  private readonly timeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly listTtlMs: number;
  private readonly maxBytes: number;
  private readonly concurrency: number;
  private readonly userAgent: string;
  private readonly clock: Clock;
  private dispatcher: Dispatcher | undefined;
  private list: { at: number; platforms: Promise<RegistryPlatform[]> } | undefined;

  constructor(options: RegistryClientOptions = {}) {
    this.base = parseBaseUrl(options.baseUrl ?? registryUrlFrom());
    this.baseUrl = displayUrl(this.base);
    this.timeoutMs = options.timeoutMs ?? 20_000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.listTtlMs = options.listTtlMs ?? 24 * 60 * 60_000;
    this.maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
    this.concurrency = options.concurrency ?? 4;
    this.userAgent = options.userAgent ?? 'erm-usage-harvester (COUNTER Registry client)';
    this.clock = options.clock ?? systemClock;
  }

  /** Every platform of the registry (kept for `listTtlMs`; a failed fetch is not kept). */
  async listPlatforms(): Promise<RegistryPlatform[]> {
    const now = this.clock.now();
    if (!this.list || now - this.list.at >= this.listTtlMs) {
      const platforms = this.getJson('platform/').then(readPlatformList);
      this.list = { at: now, platforms };
      platforms.catch(() => {
        if (this.list?.platforms === platforms) this.list = undefined;
      });
    }
    return this.list.platforms;
  }

  /** Forgets the kept platform list. */
  clearCache(): void {
    this.list = undefined;
  }

  /**
   * Platforms whose name, abbreviation or content provider contains every word of `query` (without
   * regard to case and accents), best first: exact name or abbreviation, then names starting with the
   * query, then words starting with it, then the rest; ties by name. An empty query finds nothing.
   */
  async searchPlatforms(query: string, limit = 25): Promise<RegistryPlatform[]> {
    const words = fold(query).split(' ').filter(Boolean);
    if (words.length === 0) return [];
    const wanted = words.join(' ');
    const scored: Array<{ platform: RegistryPlatform; score: number }> = [];
    for (const platform of await this.listPlatforms()) {
      const name = fold(platform.name);
      const abbrev = fold(platform.abbrev ?? '');
      const haystack = `${name} ${abbrev} ${fold(platform.contentProviderName ?? '')}`;
      if (!words.every((w) => haystack.includes(w))) continue;
      let score = 4;
      if (name === wanted || abbrev === wanted) score = 0;
      else if (name.startsWith(wanted)) score = 1;
      else if (` ${name}`.includes(` ${wanted}`)) score = 2;
      else if (name.includes(wanted)) score = 3;
      scored.push({ platform, score });
    }
    scored.sort((a, b) => a.score - b.score || a.platform.name.localeCompare(b.platform.name));
    return scored.slice(0, limit).map((s) => s.platform);
  }

  async getPlatform(id: string): Promise<RegistryPlatform> {
    return readPlatform(await this.getJson(`platform/${encodeURIComponent(id)}/`, ['platform', id]));
  }

  async getSushiService(id: string): Promise<RegistrySushiService> {
    return readSushiService(
      await this.getJson(`sushi-service/${encodeURIComponent(id)}/`, ['sushi-service', id]),
    );
  }

  /** The COUNTER API services a platform links to. */
  async servicesOf(platform: RegistryPlatform): Promise<RegistrySushiService[]> {
    const limit = pLimit(this.concurrency);
    return Promise.all(platform.sushiServices.map((ref) => limit(() => this.getSushiService(ref.id))));
  }

  /**
   * The registry's current records for the given links (for `diffWithRegistry`): platforms from the
   * platform list, services one by one. A record the registry no longer has is `null`.
   */
  async snapshotFor(links: Iterable<{ platformId: string; serviceId: string }>): Promise<RegistrySnapshot> {
    const byId = new Map((await this.listPlatforms()).map((p) => [p.id, p]));
    const platforms = new Map<string, RegistryPlatform | null>();
    const serviceIds = new Set<string>();
    for (const link of links) {
      platforms.set(link.platformId, byId.get(link.platformId) ?? null);
      serviceIds.add(link.serviceId);
      for (const ref of byId.get(link.platformId)?.sushiServices ?? []) serviceIds.add(ref.id);
    }
    const limit = pLimit(this.concurrency);
    const services = new Map<string, RegistrySushiService | null>();
    await Promise.all(
      [...serviceIds].map((id) =>
        limit(async () => {
          try {
            services.set(id, await this.getSushiService(id));
          } catch (e) {
            if (!(e instanceof RegistryNotFoundError)) throw e;
            services.set(id, null);
          }
        }),
      ),
    );
    return { platforms, services };
  }

  private dispatcherOf(): Dispatcher {
    this.dispatcher ??= dispatcherFor(this.connectTimeoutMs).compose(
      interceptors.redirect({ maxRedirections: 3 }),
    );
    return this.dispatcher;
  }

  /** GETs `path` below the API root as JSON; `record` names what a 404 means. */
  private async getJson(path: string, record?: ['platform' | 'sushi-service', string]): Promise<unknown> {
    const url = new URL(path, this.base);
    url.searchParams.set('format', 'json');
    const signal = AbortSignal.timeout(this.timeoutMs);
    let response: Dispatcher.ResponseData;
    try {
      response = await request(url, {
        method: 'GET',
        dispatcher: this.dispatcherOf(),
        headers: { accept: 'application/json', 'user-agent': this.userAgent },
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        signal,
      });
    } catch (e) {
      throw new RegistryUnreachableError(this.baseUrl, reasonOf(e, this.timeoutMs));
    }
    const { statusCode } = response;
    if (statusCode !== 200) {
      await response.body.dump().catch(() => undefined);
      const status = `HTTP ${statusCode} ${STATUS_CODES[statusCode] ?? ''}`.trim();
      if (statusCode === 404 && record) throw new RegistryNotFoundError(record[0], record[1]);
      if (statusCode >= 500 || statusCode === 429 || statusCode === 408) {
        throw new RegistryUnreachableError(this.baseUrl, status);
      }
      throw new RegistryError(
        'REGISTRY_BAD_ANSWER',
        `The COUNTER Registry at ${this.baseUrl} answered ${path} with ${status}`,
      );
    }
    const body = await this.readBody(response, path);
    try {
      return JSON.parse(body) as unknown;
    } catch {
      throw new RegistryError(
        'REGISTRY_BAD_ANSWER',
        `The COUNTER Registry at ${this.baseUrl} answered ${path} with something that is not JSON`,
      );
    }
  }

  private async readBody(response: Dispatcher.ResponseData, path: string): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of response.body) {
        const buffer = chunk as Buffer;
        size += buffer.length;
        if (size > this.maxBytes) {
          response.body.destroy();
          throw new RegistryError(
            'REGISTRY_BAD_ANSWER',
            `The COUNTER Registry at ${this.baseUrl} answered ${path} with more than ${this.maxBytes} bytes`,
          );
        }
        chunks.push(buffer);
      }
    } catch (e) {
      if (e instanceof RegistryError) throw e;
      throw new RegistryUnreachableError(this.baseUrl, reasonOf(e, this.timeoutMs));
    }
    return Buffer.concat(chunks).toString('utf8');
  }
}

/** Lower case, accents removed, runs of non-alphanumerics as one space. */
function fold(value: string): string {
  return value
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}
