/**
 * Exports of the standalone store, as mod-erm-usage's `ramls/counterreports.raml` has them
 * (folio-contract §4): one stored month as a COUNTER file (`/counter-reports/export/{id}`), a range of
 * months of one report or standard view merged into one file
 * (`/counter-reports/export/provider/{id}/report/{name}/version/{aversion}/from/{begin}/to/{end}`), a
 * month in its original format (`/counter-reports/{id}/download`) and a provider's months grouped by
 * year and report (`/counter-reports/sorted/{udpId}`). The files are made by src/counter/tabular
 * (docs/counter-tabular.md); months are read one at a time, large ones chunk by chunk, and the answer
 * is streamed. A merge that outgrows its memory spills to temporary files before the answer starts;
 * when the harvester's own temporary storage fails there, the answer is 507, not a fault of the report.
 */
import { Readable } from 'node:stream';
import { Type } from 'typebox';
import type { FastifyReply } from 'fastify';
import type { ServiceContext } from '../context.ts';
import {
  EXPORT_FORMATS,
  ExportError,
  contentDisposition,
  exportFileName,
  findLocalStorageError,
  isStandardView,
  localStorageReason,
  masterReportOf,
  monthsBetween,
  parseReportId,
  parseYearMonth,
  prepareExport,
  storedMonthFromJsonPieces,
  storedMonthFromReport,
  type PreparedExport,
  type StoredMonth,
} from '../counter/index.ts';
import { cqlQuote } from '../cql/index.ts';
import type { LocalRecords } from '../erm/local-records.ts';
import { isChunked } from '../erm/report-chunks.ts';
import { StoreError } from '../erm/store-error.ts';
import type { JsonRecord } from '../model/records.ts';
import { CounterReportSchema } from '../model/schemas.ts';
import { docsOnly, type App, type Routes } from './app.ts';
import { HttpError } from './http-errors.ts';

const TEXT = Type.String();
const BINARY = Type.String({ description: 'The file' });
const TAGS = ['counter report exports'];
const FORMAT_QUERY = Type.Object({
  format: Type.Optional(
    Type.String({ description: `${EXPORT_FORMATS.join(', ')}; default csv`, default: 'csv' }),
  ),
});
/** The releases a range export takes (`aversion`), with the value the harvester stores. */
const RELEASES: Record<string, string[]> = {
  '4': ['4'],
  '5': ['5', '5.0'],
  '5.0': ['5', '5.0'],
  '5.1': ['5.1'],
};
export const NO_REPORT_DATA = 'Entity does not contain report data';

function formatOf(query: unknown): string {
  const format = (query as { format?: string } | undefined)?.format;
  const value = format === undefined || format === '' ? 'csv' : format;
  if (!(EXPORT_FORMATS as readonly string[]).includes(value.trim().toLowerCase()))
    throw new HttpError(
      400,
      `Requested format "${value}" is not supported (one of ${EXPORT_FORMATS.join(', ')}).`,
    );
  return value.trim().toLowerCase();
}

function monthOf(value: string, name: string): string {
  if (!/^\d{4}-\d{2}$/.test(value) || parseYearMonth(value) === undefined)
    throw new HttpError(400, `${name} must be a month as yyyy-MM, got "${value}"`);
  return value;
}

/** A store error as its answer (404 for an unknown record, 422 and its text otherwise). */
async function storeAnswer<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof StoreError) throw new HttpError(err.status, err.message);
    throw err;
  }
}

/**
 * The export prepared by `fn`, or its failure as an answer: 400 or 422 for the request or the stored
 * months, 507 when the harvester's own temporary storage (the merge's spill files) failed.
 */
async function exportAnswer(fn: () => Promise<PreparedExport>): Promise<PreparedExport> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ExportError)
      throw new HttpError(err.code === 'invalid_request' ? 400 : 422, err.message);
    const local = findLocalStorageError(err);
    if (local)
      throw new HttpError(
        507,
        `${localStorageReason(local)}. The stored report is not at fault; export it again later.`,
      );
    throw err;
  }
}

function hasReport(record: JsonRecord): boolean {
  return isChunked(record) || (record.report !== undefined && record.report !== null);
}

/** A stored record's month for the export: its report object, or its chunks read one at a time. */
function storedMonthOf(store: LocalRecords, tenant: string, record: JsonRecord): Promise<StoredMonth> {
  const yearMonth = String(record.yearMonth);
  if (isChunked(record))
    return storedMonthFromJsonPieces(yearMonth, () => store.reportJsonPieces(tenant, record));
  return Promise.resolve(storedMonthFromReport(yearMonth, record.report));
}

/** A counter report record, or undefined when it was deleted in the meantime. */
function readIfThere(store: LocalRecords, tenant: string, id: string): Promise<JsonRecord | undefined> {
  return store.read(tenant, 'counter-reports', id, { lazyChunks: true }).catch((err: unknown) => {
    if (err instanceof StoreError && err.status === 404) return undefined;
    throw err;
  });
}

/**
 * A month of a range: its header now, its items read from the store each time they are wanted. The
 * merge holds every month of the range at once (and may read their items twice, side by side), so a
 * month stored as one object is not kept in memory between readings.
 */
async function rangeMonthOf(store: LocalRecords, tenant: string, record: JsonRecord): Promise<StoredMonth> {
  const month = await storedMonthOf(store, tenant, record);
  if (isChunked(record)) return month;
  const id = String(record.id);
  return {
    yearMonth: month.yearMonth,
    header: month.header,
    async *items() {
      const again = await readIfThere(store, tenant, id);
      if (!again || !hasReport(again))
        throw new ExportError(
          'invalid_input',
          `Stored month ${month.yearMonth} was deleted during the export`,
        );
      yield* (await storedMonthOf(store, tenant, again)).items();
    },
  };
}

/** The given months (read without their report), each read when the export comes to it. */
async function* monthsOf(
  store: LocalRecords,
  tenant: string,
  tiny: JsonRecord[],
): AsyncGenerator<StoredMonth> {
  for (const t of tiny) {
    // A month deleted since the list was read is left out, as if it had not been there.
    const record = await readIfThere(store, tenant, String(t.id));
    if (record && hasReport(record)) yield await rangeMonthOf(store, tenant, record);
  }
}

/** A provider's records of one report and release in begin..end, without report data, by month. */
async function monthRecords(
  store: LocalRecords,
  tenant: string,
  providerId: string,
  releases: string[],
  reportName: string,
  begin: string,
  end: string,
): Promise<JsonRecord[]> {
  const release = releases.map((r) => `release==${cqlQuote(r)}`).join(' OR ');
  const cql =
    `providerId==${cqlQuote(providerId)} AND reportName==${cqlQuote(reportName)} AND (${release})` +
    ` AND yearMonth>=${cqlQuote(begin)} AND yearMonth<=${cqlQuote(end)} sortby yearMonth`;
  const limit = monthsBetween(begin, end).length * releases.length;
  const page = await store.list(tenant, 'counter-reports', { cql, offset: 0, limit, tiny: true });
  // A month that failed has a failedReason and no report.
  return page.records.filter((r) => r.failedReason === undefined);
}

function sendExport(reply: FastifyReply, exp: PreparedExport): FastifyReply {
  const body = Readable.from(exp.body(), { objectMode: false });
  body.on('close', () => {
    exp.dispose().catch(() => undefined);
  });
  return reply
    .code(200)
    .header('content-type', exp.contentType)
    .header('content-disposition', exp.contentDisposition)
    .send(body);
}

function sendBody(reply: FastifyReply, contentType: string, body: unknown): FastifyReply {
  return reply.code(200).type(contentType).send(body);
}

function registerExports(app: App, store: LocalRecords): void {
  app.get(
    '/counter-reports/export/:id',
    {
      ...docsOnly,
      schema: {
        tags: TAGS,
        summary: 'One stored month as a COUNTER file (tabular tsv/csv/xlsx of its release, or json)',
        params: Type.Object({ id: Type.String({ description: 'Counter report id (UUID)' }) }),
        querystring: FORMAT_QUERY,
        response: { 200: BINARY, 400: TEXT, 404: TEXT, 422: TEXT, 507: TEXT },
      },
    },
    async (req, reply) => {
      const format = formatOf(req.query);
      const { id } = req.params;
      const record = await storeAnswer(() =>
        store.read(req.tenant, 'counter-reports', id, { lazyChunks: true }),
      );
      if (!hasReport(record)) throw new HttpError(422, NO_REPORT_DATA);
      const yearMonth = String(record.yearMonth);
      const exp = await exportAnswer(async () =>
        prepareExport({
          release: String(record.release),
          reportId: String(record.reportName),
          begin: yearMonth,
          end: yearMonth,
          format,
          providerId: typeof record.providerId === 'string' ? record.providerId : undefined,
          months: [await storedMonthOf(store, req.tenant, record)],
          monthCount: 1,
        }),
      );
      return sendExport(reply, exp);
    },
  );

  app.get(
    '/counter-reports/export/provider/:id/report/:name/version/:aversion/from/:begin/to/:end',
    {
      ...docsOnly,
      schema: {
        tags: TAGS,
        summary:
          'The months begin..end of one report or standard view (derived from the stored master report unless harvested) merged into one COUNTER file',
        params: Type.Object({
          id: Type.String({ description: 'Usage data provider id' }),
          name: Type.String({ description: 'Master report or standard view (TR, TR_J1, …; JR1 … for 4)' }),
          aversion: Type.String({ description: 'Release: 4, 5 or 5.1' }),
          begin: Type.String({ description: 'First month, yyyy-MM' }),
          end: Type.String({ description: 'Last month, yyyy-MM' }),
        }),
        querystring: FORMAT_QUERY,
        response: { 200: BINARY, 400: TEXT, 404: TEXT, 422: TEXT, 507: TEXT },
      },
    },
    async (req, reply) => {
      const p = req.params;
      const format = formatOf(req.query);
      const releases = RELEASES[p.aversion];
      if (!releases)
        throw new HttpError(400, `Requested counter version "${p.aversion}" is not supported (4, 5 or 5.1).`);
      const begin = monthOf(p.begin, 'begin');
      const end = monthOf(p.end, 'end');
      if (begin > end) throw new HttpError(400, `begin ${begin} is after end ${end}`);
      const r4 = releases[0] === '4';
      const reportId = r4 ? undefined : parseReportId(p.name);
      const requested = r4 ? p.name.trim() : reportId;
      if (requested === undefined || requested === '')
        throw new HttpError(400, `Unknown report "${p.name}" for release ${p.aversion}`);
      await store.read(req.tenant, 'usage-data-providers', p.id).catch((err: unknown) => {
        if (err instanceof StoreError && err.status === 404)
          throw new HttpError(404, `Usage data provider ${p.id} not found`);
        throw err;
      });

      // A harvested view is exported as it is; otherwise a view comes from its stored master report.
      const master =
        reportId !== undefined && isStandardView(reportId) ? masterReportOf(reportId) : undefined;
      let source: string = requested;
      let months = await monthRecords(store, req.tenant, p.id, releases, requested, begin, end);
      if (months.length === 0 && master !== undefined) {
        source = master;
        months = await monthRecords(store, req.tenant, p.id, releases, master, begin, end);
      }
      if (months.length === 0)
        throw new HttpError(
          404,
          `No stored ${requested}${master ? ` or ${master}` : ''} month with report data of release ${p.aversion} for provider ${p.id} in ${begin}..${end}`,
        );
      const exp = await exportAnswer(() =>
        prepareExport({
          release: p.aversion,
          reportId: requested,
          sourceReportId: source,
          begin,
          end,
          format,
          providerId: p.id,
          months: monthsOf(store, req.tenant, months),
          monthCount: months.length,
        }),
      );
      return sendExport(reply, exp);
    },
  );

  app.get(
    '/counter-reports/:id/download',
    {
      ...docsOnly,
      schema: {
        tags: TAGS,
        summary: 'The stored month in its original format (the COUNTER JSON report)',
        params: Type.Object({ id: Type.String({ description: 'Counter report id (UUID)' }) }),
        response: { 200: BINARY, 404: TEXT, 422: TEXT },
      },
    },
    async (req, reply) => {
      const { id } = req.params;
      const record = await storeAnswer(() =>
        store.read(req.tenant, 'counter-reports', id, { lazyChunks: true }),
      );
      if (!hasReport(record)) throw new HttpError(422, NO_REPORT_DATA);
      const yearMonth = String(record.yearMonth);
      const fileName = exportFileName(
        {
          providerId: typeof record.providerId === 'string' ? record.providerId : undefined,
          reportId: String(record.reportName),
          release: String(record.release),
          begin: yearMonth,
          end: yearMonth,
        },
        'json',
      );
      // Small months pretty-printed as mod-erm-usage does; large ones as stored, chunk by chunk.
      return sendBody(
        reply.header('content-disposition', contentDisposition(fileName)),
        'application/json; charset=utf-8',
        isChunked(record)
          ? Readable.from(store.reportJsonPieces(req.tenant, record))
          : JSON.stringify(record.report, null, 2),
      );
    },
  );

  app.get(
    '/counter-reports/sorted/:udpId',
    {
      ...docsOnly,
      schema: {
        tags: TAGS,
        summary: 'A provider’s counter reports (without report data) grouped by year, then by report',
        params: Type.Object({ udpId: Type.String({ description: 'Usage data provider id' }) }),
        response: {
          200: Type.Object({
            counterReportsPerYear: Type.Array(
              Type.Object({
                year: Type.Integer(),
                reportsPerType: Type.Array(
                  Type.Object({
                    reportType: Type.String(),
                    counterReports: Type.Array(CounterReportSchema),
                  }),
                ),
              }),
            ),
          }),
          400: TEXT,
        },
      },
    },
    async (req, reply) => {
      const { udpId } = req.params;
      const cql = `providerId==${cqlQuote(udpId)} sortby yearMonth reportName`;
      const records: JsonRecord[] = [];
      for (let offset = 0; ;) {
        const page = await storeAnswer(() =>
          store.list(req.tenant, 'counter-reports', { cql, offset, limit: 1000, tiny: true }),
        );
        records.push(...page.records);
        offset += page.records.length;
        if (page.records.length === 0 || offset >= page.totalRecords) break;
      }
      return sendBody(reply, 'application/json', { counterReportsPerYear: sortedByYear(records) });
    },
  );
}

interface ReportsPerYear {
  year: number;
  reportsPerType: { reportType: string; counterReports: JsonRecord[] }[];
}

/** mod-erm-usage's grouping: years ascending, then report names (sorted here), months ascending. */
export function sortedByYear(records: readonly JsonRecord[]): ReportsPerYear[] {
  const years = new Map<number, Map<string, JsonRecord[]>>();
  for (const record of records) {
    const year = Number(String(record.yearMonth).slice(0, 4));
    const type = String(record.reportName);
    let types = years.get(year);
    if (!types) years.set(year, (types = new Map()));
    let list = types.get(type);
    if (!list) types.set(type, (list = []));
    list.push(record);
  }
  return [...years.entries()]
    .sort(([a], [b]) => a - b)
    .map(([year, types]) => ({
      year,
      reportsPerType: [...types.entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([reportType, counterReports]) => ({
          reportType,
          counterReports: [...counterReports].sort((a, b) =>
            String(a.yearMonth) < String(b.yearMonth)
              ? -1
              : String(a.yearMonth) > String(b.yearMonth)
                ? 1
                : 0,
          ),
        })),
    }));
}

/** Registered in the tenant scope beside the store's routes (standalone mode, server.ts). */
export function exportRoutes(_ctx: ServiceContext, store: LocalRecords): Routes {
  return { access: 'tenant', register: async (app: App) => registerExports(app, store) };
}
