/**
 * Onboarding from the COUNTER Registry (docs/registry.md): search its platforms, read one with its
 * COUNTER API services, create or complete a provider from a platform, and compare the providers made
 * from it with what it says now (and take the changes over). Standalone mode.
 *
 *   GET  /registry/platforms?q=&limit=          platforms, best match first
 *   GET  /registry/platforms/{id}               one platform with its services
 *   POST /usage-data-providers/from-registry    create a provider, or complete one (providerId)
 *   GET  /registry/sync                         what changed for the tenant's linked providers
 *   POST /registry/sync                         the same, and take the changes over (apply)
 */
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { ServiceContext } from '../context.ts';
import type { LocalRecords } from '../erm/local-records.ts';
import type { JsonRecord, UsageDataProvider } from '../model/records.ts';
import { isFolioUuid } from '../model/schemas.ts';
import {
  applyRegistryChanges,
  diffWithRegistry,
  missingCredentials,
  providerFromRegistry,
  RegistryClient,
  RegistryError,
  registryRefsOf,
  type ProviderCredentials,
  type RegistryPlatform,
  type RegistryRelease,
  type RegistrySushiService,
} from '../registry/index.ts';
import type { App, Routes } from './app.ts';
import { answer } from './erm-routes.ts';
import { HttpError } from './http-errors.ts';

const PROVIDERS = 'usage-data-providers';

/** The registry client of the service: HARVESTER_REGISTRY_URL, HARVESTER_REGISTRY_TIMEOUT_MS. */
export function registryClientFor(ctx: ServiceContext): RegistryClient {
  return new RegistryClient({
    baseUrl: ctx.config.registryUrl,
    timeoutMs: ctx.config.registryTimeoutMs,
    clock: ctx.clock,
    userAgent: ctx.config.harvest.userAgent,
  });
}

/** Registry failures as answers: not reachable or a bad answer 502, unknown record 404, no service 422. */
async function fromRegistry<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof RegistryError)) throw err;
    if (err.code === 'REGISTRY_NOT_FOUND') throw new HttpError(404, err.message);
    if (err.code === 'REGISTRY_NO_SERVICE') throw new HttpError(422, err.message);
    throw new HttpError(502, err.message);
  }
}

/** A platform as a search result. */
function platformSummary(p: RegistryPlatform): JsonRecord {
  return {
    id: p.id,
    name: p.name,
    ...(p.abbrev ? { abbrev: p.abbrev } : {}),
    ...(p.contentProviderName ? { contentProviderName: p.contentProviderName } : {}),
    ...(p.website ? { website: p.website } : {}),
    releases: [...new Set(p.sushiServices.map((s) => s.release))].sort(),
  };
}

function serviceSummary(s: RegistrySushiService): JsonRecord {
  return {
    id: s.id,
    release: s.release,
    url: s.url,
    requires: s.requires,
    help: s.help,
    ...(s.requestVolumeLimitsInfo ? { requestVolumeLimits: s.requestVolumeLimitsInfo } : {}),
    ipAddressAuthorization: s.ipAddressAuthorization,
    credentialsAutoExpire: s.credentialsAutoExpire,
  };
}

function text(body: JsonRecord, key: string): string | undefined {
  const v = body[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new HttpError(400, `${key} must be a string`);
  return v.trim();
}

function object(value: unknown, name: string): JsonRecord {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value))
    throw new HttpError(400, `${name} must be a JSON object`);
  return value as JsonRecord;
}

/** A platform named by its id, or by a name or abbreviation that picks one platform. */
async function resolvePlatform(client: RegistryClient, wanted: string): Promise<RegistryPlatform> {
  const all = await client.listPlatforms();
  const byId = all.find((p) => p.id === wanted);
  if (byId) return client.getPlatform(byId.id);
  const found = await client.searchPlatforms(wanted, 10);
  const folded = wanted.toLowerCase();
  const exact = found.filter((p) => p.name.toLowerCase() === folded || p.abbrev?.toLowerCase() === folded);
  const pick = exact.length === 1 ? exact[0] : found.length === 1 ? found[0] : undefined;
  if (pick) return client.getPlatform(pick.id);
  if (found.length === 0)
    throw new HttpError(404, `The COUNTER Registry has no platform named like "${wanted}"`);
  throw new HttpError(
    409,
    `"${wanted}" matches ${found.length} COUNTER Registry platforms; give one of their ids: ` +
      found.map((p) => `${p.name} (${p.id})`).join('; '),
  );
}

const CREDENTIAL_KEYS = ['customerId', 'requestorId', 'apiKey', 'platform'] as const;

function credentialsOf(body: JsonRecord): ProviderCredentials {
  const given = object(body.credentials, 'credentials');
  const out: ProviderCredentials = {};
  for (const key of CREDENTIAL_KEYS) {
    const v = given[key];
    if (v === undefined || v === null || v === '') continue;
    if (typeof v !== 'string') throw new HttpError(400, `credentials.${key} must be a string`);
    out[key] = v;
  }
  return out;
}

function releaseOf(body: JsonRecord): RegistryRelease | undefined {
  const r = text(body, 'release');
  if (r === undefined) return undefined;
  if (r === '5.1') return '5.1';
  if (r === '5' || r === '5.0') return '5';
  throw new HttpError(400, `release must be 5 or 5.1, got "${r}"`);
}

/**
 * An existing provider completed from the registry: its connection (service type, URL, release,
 * link) and notes follow the registry; its label, reports, months and credentials stay, and given
 * credentials are added.
 */
function completed(existing: JsonRecord, draft: JsonRecord, credentials: ProviderCredentials): JsonRecord {
  const config = { ...(existing.harvestingConfig as JsonRecord | undefined) };
  const fresh = draft.harvestingConfig as JsonRecord;
  config.sushiConfig = {
    ...(config.sushiConfig as JsonRecord | undefined),
    ...(fresh.sushiConfig as JsonRecord),
  };
  config.harvestVia = 'sushi';
  config.reportRelease = fresh.reportRelease;
  config.registry = fresh.registry;
  if (!Array.isArray(config.requestedReports) || config.requestedReports.length === 0)
    config.requestedReports = fresh.requestedReports;
  config.harvestingStatus ??= fresh.harvestingStatus;
  const sushiCredentials = { ...(existing.sushiCredentials as JsonRecord | undefined), ...credentials };
  return { ...existing, harvestingConfig: config, sushiCredentials, notes: draft.notes };
}

async function linkedProviders(store: LocalRecords, tenant: string): Promise<UsageDataProvider[]> {
  const page = await store.list(tenant, PROVIDERS, {
    cql: 'cql.allRecords=1',
    offset: 0,
    limit: 100_000,
  });
  return page.records as UsageDataProvider[];
}

function bool(value: unknown, name: string, dflt: boolean): boolean {
  if (value === undefined || value === null || value === '') return dflt;
  if (typeof value === 'boolean') return value;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new HttpError(400, `${name} must be true or false`);
}

function bodyOf(req: FastifyRequest): JsonRecord {
  return object(req.body, 'Request body');
}

export function registryRoutes(ctx: ServiceContext, store: LocalRecords): Routes {
  const client = registryClientFor(ctx);
  const tags = ['COUNTER Registry'];
  return {
    access: 'tenant',
    register: async (app: App) => {
      app.get(
        '/registry/platforms',
        {
          schema: {
            tags,
            summary: 'COUNTER Registry platforms whose name, abbreviation or content provider match q',
            querystring: Type.Object({
              q: Type.Optional(Type.String()),
              limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 25 })),
            }),
          },
        },
        async (req) => {
          const { q, limit } = req.query;
          const platforms = await fromRegistry(async () =>
            q && q.trim() !== ''
              ? client.searchPlatforms(q, limit ?? 25)
              : (await client.listPlatforms()).slice(0, limit ?? 25),
          );
          return { platforms: platforms.map(platformSummary), totalRecords: platforms.length };
        },
      );

      app.get(
        '/registry/platforms/:id',
        { schema: { tags, summary: 'One COUNTER Registry platform with its COUNTER API services' } },
        async (req) => {
          const { id } = req.params as { id: string };
          return fromRegistry(async () => {
            const platform = await client.getPlatform(id);
            const services = await client.servicesOf(platform);
            // The provider this platform makes (without credentials), for forms to start from.
            let draft: JsonRecord | undefined;
            try {
              draft = providerFromRegistry(platform, services, { now: new Date(ctx.clock.now()) }).provider;
            } catch (err) {
              if (!(err instanceof RegistryError)) throw err;
            }
            return {
              ...platformSummary(platform),
              platform,
              services: services.map(serviceSummary),
              ...(draft ? { draft } : {}),
            };
          });
        },
      );

      app.post(
        '/usage-data-providers/from-registry',
        {
          schema: {
            tags,
            summary:
              'Create a provider from a COUNTER Registry platform (id or name), or complete the provider ' +
              'providerId with it; answers the provider (credentials masked) and the required credentials missing',
          },
        },
        async (req, reply) => {
          const body = bodyOf(req);
          const wanted = text(body, 'platformId') ?? text(body, 'platform');
          if (!wanted)
            throw new HttpError(400, 'Give platformId (or platform: a name) of a COUNTER Registry platform');
          const credentials = credentialsOf(body);
          const providerId = text(body, 'providerId');
          if (providerId !== undefined && !isFolioUuid(providerId))
            throw new HttpError(400, `providerId must be a provider id (UUID), got "${String(providerId)}"`);
          const reports = body.requestedReports;
          if (
            reports !== undefined &&
            (!Array.isArray(reports) || reports.some((r) => typeof r !== 'string'))
          )
            throw new HttpError(400, 'requestedReports must be an array of report names');
          const draft = await fromRegistry(async () => {
            const platform = await resolvePlatform(client, wanted);
            return providerFromRegistry(platform, await client.servicesOf(platform), {
              credentials,
              release: releaseOf(body),
              label: text(body, 'label'),
              harvestingStart: text(body, 'harvestingStart'),
              requestedReports: reports as string[] | undefined,
              now: new Date(ctx.clock.now()),
            });
          });
          const result = (provider: JsonRecord, missing: string[]) => ({
            provider: store.masked(PROVIDERS, provider),
            missing,
            service: serviceSummary(draft.service),
          });
          if (providerId === undefined) {
            const created = await answer(() =>
              store.create(req.tenant, PROVIDERS, draft.provider as JsonRecord, {}),
            );
            return reply
              .code(201)
              .header('Location', String(created.id))
              .send(result(created, draft.missing));
          }
          const existing = store.unseal(
            PROVIDERS,
            await answer(() => store.read(req.tenant, PROVIDERS, providerId)),
          );
          const record = completed(existing, draft.provider, credentials);
          await answer(() => store.replace(req.tenant, PROVIDERS, providerId, record));
          const after = await answer(() => store.read(req.tenant, PROVIDERS, providerId));
          return reply.code(200).send(result(after, missingCredentials(record as UsageDataProvider)));
        },
      );

      const sync = async (req: FastifyRequest, apply: boolean, options: JsonRecord) => {
        const providers = await linkedProviders(store, req.tenant);
        const snapshot = await fromRegistry(() => client.snapshotFor(registryRefsOf(providers)));
        const reports = diffWithRegistry(providers, snapshot);
        const applied: string[] = [];
        if (apply) {
          const byId = new Map(providers.map((p) => [p.id, p]));
          for (const report of reports) {
            const current = byId.get(report.providerId);
            if (!current) continue;
            const plain = store.unseal(PROVIDERS, current) as UsageDataProvider;
            const updated = applyRegistryChanges(plain, report, snapshot, {
              switchRelease: bool(options.switchRelease, 'switchRelease', false),
              overrideEditedUrl: bool(options.overrideEditedUrl, 'overrideEditedUrl', false),
              now: new Date(ctx.clock.now()),
            });
            if (JSON.stringify(updated) === JSON.stringify(plain)) continue;
            await answer(() =>
              store.replace(req.tenant, PROVIDERS, report.providerId, updated as JsonRecord),
            );
            applied.push(report.providerId);
          }
        }
        return {
          checked: providers.filter((p) => registryRefsOf([p]).length > 0).length,
          providers: reports.map((r) => ({ providerId: r.providerId, label: r.label, changes: r.changes })),
          ...(apply ? { applied } : {}),
        };
      };

      app.get(
        '/registry/sync',
        { schema: { tags, summary: 'What the COUNTER Registry changed for the providers made from it' } },
        async (req) => sync(req, false, {}),
      );

      app.post(
        '/registry/sync',
        {
          schema: {
            tags,
            summary:
              'Compare with the COUNTER Registry and take its changes over (apply, default true; ' +
              'switchRelease: move 5.0 providers to 5.1; overrideEditedUrl: also replace URLs edited by hand)',
          },
        },
        async (req) => {
          const body = bodyOf(req);
          return sync(req, bool(body.apply, 'apply', true), body);
        },
      );
    },
  };
}
