/**
 * The standalone store over HTTP (folio-contract §4): `/usage-data-providers`, `/aggregator-settings` and
 * `/counter-reports`, with mod-erm-usage's status codes and texts. Request schemas document the API only:
 * validation happens in the store so that it can answer FOLIO's 422 bodies and texts.
 */
import { Type, type TSchema } from 'typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServiceContext } from '../context.ts';
import { Readable } from 'node:stream';
import { CredentialDecryptError } from '../credentials/index.ts';
import type { ListQuery, LocalRecords } from '../erm/local-records.ts';
import type { Resource } from '../erm/record-table.ts';
import { isChunked } from '../erm/report-chunks.ts';
import { INVALID_UUID_MESSAGE, StoreError } from '../erm/store-error.ts';
import type { JsonRecord } from '../model/records.ts';
import {
  AggregatorSettingSchema,
  AggregatorSettingsSchema,
  CounterReportSchema,
  CounterReportsSchema,
  ErrorsSchema,
  isFolioUuid,
  UsageDataProviderSchema,
  UsageDataProvidersSchema,
} from '../model/schemas.ts';
import { docsOnly, type App, type Routes } from './app.ts';
import {
  acceptStreamedBodies,
  readRequestReport,
  UnreadBody,
  withSpool,
  type ReadReportBody,
} from './counter-report-body.ts';
import { MAX_INT } from './harvester-params.ts';
import { HttpError, unprocessable } from './http-errors.ts';

interface ResourceRoutes {
  resource: Resource;
  /** Property of the collection object holding the records. */
  collectionKey: string;
  item: TSchema;
  collection: TSchema;
  tag: string;
  tiny: boolean;
  /** POST and PUT read the body from the request stream (counter-report-body.ts). */
  streamedBody?: boolean;
}

const RESOURCES: ResourceRoutes[] = [
  {
    resource: 'usage-data-providers',
    collectionKey: 'usageDataProviders',
    item: UsageDataProviderSchema,
    collection: UsageDataProvidersSchema,
    tag: 'usage data providers',
    tiny: false,
  },
  {
    resource: 'aggregator-settings',
    collectionKey: 'aggregatorSettings',
    item: AggregatorSettingSchema,
    collection: AggregatorSettingsSchema,
    tag: 'aggregator settings',
    tiny: false,
  },
  {
    resource: 'counter-reports',
    collectionKey: 'counterReports',
    item: CounterReportSchema,
    collection: CounterReportsSchema,
    tag: 'counter reports',
    tiny: true,
    streamedBody: true,
  },
];

const TEXT = Type.String();

const IdParams = Type.Object({ id: Type.String({ description: 'Record id (UUID)' }) });

const REVEAL = Type.Optional(
  Type.Boolean({ description: 'Show credentials instead of the mask (needs the service token)' }),
);

function collectionQuerystring(tiny: boolean): TSchema {
  return Type.Object({
    ...(tiny ? {} : { reveal: REVEAL }),
    query: Type.Optional(Type.String({ description: 'CQL query; sortby for sorting' })),
    offset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
    limit: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_INT, default: 10 })),
    orderBy: Type.Optional(Type.String({ description: 'Ignored (as in mod-erm-usage); use CQL sortby' })),
    order: Type.Optional(Type.String({ description: 'Ignored' })),
    totalRecords: Type.Optional(Type.String({ description: 'Ignored' })),
    ...(tiny
      ? { tiny: Type.Optional(Type.Boolean({ description: 'Leave out each record’s report data' })) }
      : {}),
  });
}

/** folio-contract H11: offset and limit are integers from 0 to 2147483647; an empty value means the default (H3). */
function intParam(raw: string | undefined, name: string, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const value = /^\+?\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (!Number.isSafeInteger(value) || value > MAX_INT)
    throw new HttpError(
      400,
      `Invalid value '${raw}' for query parameter ${name}: must be an integer from 0 to ${MAX_INT}`,
    );
  return value;
}

function queryParams(req: FastifyRequest): Record<string, string | undefined> {
  return (req.query ?? {}) as Record<string, string | undefined>;
}

function idParam(req: FastifyRequest): string {
  return (req.params as { id: string }).id;
}

function userId(req: FastifyRequest): string | undefined {
  const header = req.headers['x-okapi-user-id'];
  return typeof header === 'string' && header.trim() !== '' ? header.trim() : undefined;
}

function jsonObject(body: unknown): JsonRecord {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new HttpError(400, 'Request body must be a JSON object');
  return body as JsonRecord;
}

/** Runs a store call, answering its StoreErrors as mod-erm-usage does (text, or RMB errors for 422). */
export async function answer<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof StoreError)) throw err;
    if (err.status === 422) throw unprocessable(err.details);
    throw new HttpError(err.status, err.message);
  }
}

function sendJson(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).type('application/json').send(body);
}

/** The record's JSON with its chunked report streamed in after the other members. */
async function* recordJson(store: LocalRecords, tenant: string, record: JsonRecord): AsyncGenerator<string> {
  if (!isChunked(record)) {
    yield JSON.stringify(record);
    return;
  }
  const head = JSON.stringify(record);
  yield `${head.slice(0, -1)}${head === '{}' ? '' : ','}"report":`;
  yield* store.reportJsonPieces(tenant, record);
  yield '}';
}

async function* pageJson(
  store: LocalRecords,
  tenant: string,
  key: string,
  records: AsyncIterable<JsonRecord> | Iterable<JsonRecord>,
  totalRecords: number,
): AsyncGenerator<string> {
  yield `{${JSON.stringify(key)}:[`;
  let first = true;
  for await (const record of records) {
    if (!first) yield ',';
    first = false;
    yield* recordJson(store, tenant, record);
  }
  yield `],"totalRecords":${totalRecords}}`;
}

/** Large (chunked) counter reports go out as a stream, assembled chunk by chunk. */
function sendStream(reply: FastifyReply, pieces: AsyncGenerator<string>, status = 200): FastifyReply {
  return reply.code(status).type('application/json').send(Readable.from(pieces));
}

/** Answers up to this size are sent whole (with Content-Length); longer ones stream. */
const WHOLE_ANSWER_BYTES = 1024 * 1024;

/**
 * Sends a JSON answer given in pieces: whole when it ends within WHOLE_ANSWER_BYTES (an error before
 * then is answered as usual), streamed from there on otherwise, so no answer is held in memory whole.
 */
async function sendPieces(
  reply: FastifyReply,
  status: number,
  pieces: AsyncGenerator<string>,
): Promise<FastifyReply> {
  const head: string[] = [];
  let size = 0;
  for (;;) {
    const next = await pieces.next();
    if (next.done) return reply.code(status).type('application/json').send(head.join(''));
    head.push(next.value);
    size += next.value.length;
    if (size > WHOLE_ANSWER_BYTES) break;
  }
  const start = head.join('');
  return sendStream(
    reply,
    (async function* () {
      yield start;
      yield* pieces;
    })(),
    status,
  );
}

/** The record of a write's body: streamed for counter reports (counter-report-body.ts), else parsed. */
async function bodyOf(req: FastifyRequest, reply: FastifyReply): Promise<ReadReportBody> {
  if (!(req.body instanceof UnreadBody)) return { record: jsonObject(req.body) };
  return (await readRequestReport(req, reply)) ?? { record: jsonObject(null) };
}

/** The buffered way (`STREAM_BODIES=false`, for comparisons): the page read whole, then sent. */
async function sendPage(
  reply: FastifyReply,
  store: LocalRecords,
  tenant: string,
  r: ResourceRoutes,
  query: ListQuery,
  out: (record: JsonRecord) => JsonRecord,
): Promise<FastifyReply> {
  const page = await answer(() => store.list(tenant, r.resource, { ...query, lazyChunks: true }));
  page.records = page.records.map(out);
  if (page.records.some(isChunked))
    return sendStream(reply, pageJson(store, tenant, r.collectionKey, page.records, page.totalRecords));
  return sendJson(reply, 200, { [r.collectionKey]: page.records, totalRecords: page.totalRecords });
}

/** The records of a streamed page as they go out (credentials masked or revealed). */
async function* mapRecords(
  records: AsyncIterable<JsonRecord>,
  out: (record: JsonRecord) => JsonRecord,
): AsyncGenerator<JsonRecord> {
  for await (const record of records) yield out(record);
}

function noContent(reply: FastifyReply): FastifyReply {
  return reply.code(204).send();
}

/**
 * How records go out: credentials masked, or with `?reveal=true` decrypted — which needs the service
 * token (docs/credentials.md). Routes of the tenant scope are reached only with the token when one is
 * configured, so without HARVESTER_TOKEN there is no token that could allow it.
 */
function outgoing(
  ctx: ServiceContext,
  store: LocalRecords,
  r: ResourceRoutes,
  req: FastifyRequest,
): (record: JsonRecord) => JsonRecord {
  const raw = queryParams(req).reveal;
  const reveal = raw !== undefined && raw !== '' && raw.toLowerCase() !== 'false';
  if (reveal && raw.toLowerCase() !== 'true')
    throw new HttpError(400, `Invalid value '${raw}' for query parameter reveal: must be true or false`);
  if (!reveal) return (record) => store.masked(r.resource, record);
  if (!ctx.config.token)
    throw new HttpError(
      403,
      'Revealing credentials needs the service token: start the service with HARVESTER_TOKEN set and ' +
        'send the token as X-Okapi-Token or Authorization: Bearer',
    );
  return (record) => {
    try {
      return store.unseal(r.resource, record);
    } catch (err) {
      if (err instanceof CredentialDecryptError) throw new HttpError(409, err.message);
      throw err;
    }
  };
}

/**
 * `streamedBodyLimit`: of POST and PUT when their bodies are read streamed (counter reports);
 * `bodyLimit`: of POST and PUT when above the app's and not streamed (counter reports buffered).
 */
function registerResource(
  ctx: ServiceContext,
  app: App,
  store: LocalRecords,
  r: ResourceRoutes,
  streaming: boolean,
  streamedBodyLimit: number,
  bodyLimit?: number,
): void {
  const item = '/:id';
  const tags = [r.tag];
  const revealDocs: Record<string, TSchema> = r.tiny ? {} : { reveal: REVEAL };

  app.get(
    '',
    {
      ...docsOnly,
      schema: {
        tags,
        summary: `Records matching a CQL query`,
        querystring: collectionQuerystring(r.tiny),
        response: { 200: r.collection, 422: ErrorsSchema },
      },
    },
    async (req, reply) => {
      const q = queryParams(req);
      const offset = intParam(q.offset, 'offset', 0);
      const limit = intParam(q.limit, 'limit', 10);
      const tiny = r.tiny && (q.tiny ?? '').toLowerCase() === 'true';
      const out = outgoing(ctx, store, r, req);
      if (!streaming)
        return sendPage(reply, store, req.tenant, r, { cql: q.query, offset, limit, tiny }, out);
      const page = await answer(() =>
        store.listStream(req.tenant, r.resource, { cql: q.query, offset, limit, tiny }),
      );
      return sendPieces(
        reply,
        200,
        pageJson(store, req.tenant, r.collectionKey, mapRecords(page.records, out), page.totalRecords),
      );
    },
  );

  if (r.streamedBody && streaming)
    void app.register(async (scope: App) =>
      registerWriteRoutes(acceptStreamedBodies(scope), store, r, streamedBodyLimit),
    );
  else registerWriteRoutes(app, store, r, bodyLimit);

  app.get(
    item,
    {
      ...docsOnly,
      schema: {
        tags,
        summary: 'One record',
        params: IdParams,
        querystring: Type.Object(revealDocs),
        response: { 200: r.item, 404: TEXT },
      },
    },
    async (req, reply) => {
      const out = outgoing(ctx, store, r, req);
      const record = out(
        await answer(() => store.read(req.tenant, r.resource, idParam(req), { lazyChunks: true })),
      );
      if (isChunked(record)) return sendStream(reply, recordJson(store, req.tenant, record));
      return sendJson(reply, 200, record);
    },
  );

  app.delete(
    item,
    {
      ...docsOnly,
      schema: {
        tags,
        summary: 'Delete a record',
        params: IdParams,
        response: { 404: TEXT },
      },
    },
    async (req, reply) => {
      await answer(() => store.remove(req.tenant, r.resource, idParam(req)));
      return noContent(reply);
    },
  );
}

/** POST and PUT of a resource (in a scope of their own when their bodies are streamed). */
function registerWriteRoutes(app: App, store: LocalRecords, r: ResourceRoutes, bodyLimit?: number): void {
  const item = '/:id';
  const tags = [r.tag];
  const limit = bodyLimit === undefined ? {} : { bodyLimit };

  app.post(
    '',
    {
      ...docsOnly,
      ...limit,
      schema: {
        tags,
        summary: 'Create a record',
        body: r.item,
        response: { 201: r.item, 422: ErrorsSchema },
      },
    },
    async (req, reply) => {
      const { record: body, streamed } = await bodyOf(req, reply);
      return withSpool(reply, streamed, async () => {
        const record = await answer(() =>
          store.create(req.tenant, r.resource, body, { userId: userId(req) }, streamed),
        );
        reply.header('Location', String(record.id));
        if (streamed) return sendPieces(reply, 201, streamed.recordJson(record));
        return sendJson(reply, 201, store.masked(r.resource, record));
      });
    },
  );

  app.put(
    item,
    {
      ...docsOnly,
      ...limit,
      schema: {
        tags,
        summary: 'Replace a record (stored under the path id)',
        params: IdParams,
        body: r.item,
        response: { 400: TEXT, 404: TEXT, 422: ErrorsSchema },
      },
    },
    async (req, reply) => {
      const id = idParam(req);
      if (!isFolioUuid(id)) throw new HttpError(400, INVALID_UUID_MESSAGE);
      const { record: body, streamed } = await bodyOf(req, reply);
      return withSpool(reply, streamed, async () => {
        await answer(() =>
          store.replace(req.tenant, r.resource, id, body, { userId: userId(req) }, streamed),
        );
        await streamed?.dispose();
        return noContent(reply);
      });
    },
  );
}

function registerCounterReportFacts(app: App, store: LocalRecords): void {
  const tags = ['counter reports'];
  const facts: [string, string, (tenant: string) => Promise<string[]>][] = [
    ['/errors/codes', 'errorCodes', (t) => store.errorCodes(t)],
    ['/reports/types', 'reportTypes', (t) => store.reportTypes(t)],
    ['/reports/releases', 'reportReleases', (t) => store.reportReleases(t)],
  ];
  for (const [path, key, read] of facts) {
    app.get(
      path,
      {
        ...docsOnly,
        schema: {
          tags,
          summary: `Distinct ${key} over all counter reports of the tenant, sorted`,
          response: { 200: Type.Object({ [key]: Type.Array(Type.String()) }) },
        },
      },
      async (req, reply) => sendJson(reply, 200, { [key]: await read(req.tenant) }),
    );
  }

  app.post(
    '/reports/delete',
    {
      ...docsOnly,
      schema: {
        tags,
        summary: 'Delete the counter reports with the given ids',
        body: Type.Array(Type.String({ description: 'UUID' })),
        response: { 400: TEXT },
      },
    },
    async (req, reply) => {
      const body: unknown = req.body;
      if (!Array.isArray(body) || body.some((id) => typeof id !== 'string'))
        throw new HttpError(400, 'Request body must be a JSON array of counter report ids');
      await answer(() => store.removeCounterReports(req.tenant, body as string[]));
      return noContent(reply);
    },
  );
}

/** The store's routes, one prefix per resource; registered only in standalone mode (server.ts). */
export function ermRoutes(ctx: ServiceContext, store: LocalRecords): Routes[] {
  return RESOURCES.map((r) => ({
    access: 'tenant',
    prefix: `/${r.resource}`,
    register: async (app: App) => {
      const large = r.resource === 'counter-reports' ? ctx.config.server.reportBodyLimitBytes : undefined;
      registerResource(
        ctx,
        app,
        store,
        r,
        ctx.config.streamBodies,
        ctx.config.server.reportBodyLimitBytes,
        large,
      );
      if (r.resource === 'counter-reports') registerCounterReportFacts(app, store);
    },
  }));
}
