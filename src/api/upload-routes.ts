/**
 * `POST /counter-reports/multipartupload/provider/{id}?overwrite=true|false` (mod-erm-usage's
 * counterreports.raml): one COUNTER file as multipart/form-data, stored as the provider's months. The
 * file part is streamed to a temporary file (never held in memory), read and split whole
 * (harvest/file-upload.ts), and only then are all months stored in one transaction. Answers: 200
 * `Saved report with ids: a,b`; 400 `{code, message, details}` for every refused file, with nothing
 * stored; 507 in the same shape (code `OTHER`) when the harvester's own temporary storage failed: its
 * directory could not be made, the file could not be written to it or read back, or its conversion,
 * split or months could not be written or read back. The temporary files are removed after the
 * answer; failing that is only a warning in the log.
 */
import multipart from '@fastify/multipart';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Type } from 'typebox';
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import type { ServiceContext } from '../context.ts';
import { LocalFileWriter, makeLocalDirectory, removeLocal } from '../counter/index.ts';
import { formatDateTime } from '../dates.ts';
import { MonthsExistError } from '../erm/counter-reports.ts';
import type { LocalRecords } from '../erm/local-records.ts';
import { StoreError } from '../erm/store-error.ts';
import {
  localStorageUploadError,
  prepareUpload,
  UploadError,
  type PreparedUpload,
} from '../harvest/file-upload.ts';
import type { JsonRecord } from '../model/records.ts';
import { isFolioUuid } from '../model/schemas.ts';
import { docsOnly, type App, type Routes } from './app.ts';
import { HttpError } from './http-errors.ts';

const UploadErrorSchema = Type.Object({
  code: Type.String(),
  message: Type.String(),
  details: Type.Optional(Type.String()),
});

function sendUploadError(reply: FastifyReply, error: UploadError): FastifyReply {
  return reply.code(error.status).type('application/json').send(error.body);
}

function overwriteParam(req: FastifyRequest): boolean {
  const raw = ((req.query ?? {}) as Record<string, string | undefined>).overwrite;
  if (raw === undefined || raw === '' || raw.toLowerCase() === 'false') return false;
  if (raw.toLowerCase() === 'true') return true;
  throw new HttpError(400, `Invalid value '${raw}' for query parameter overwrite: must be true or false`);
}

function isFileTooLarge(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === 'FST_REQ_FILE_TOO_LARGE';
}

/**
 * Streams the request's one file part to `dir`; the path and the part's file name. Writing the file is
 * the harvester's storage (a LocalStorageError when it fails); reading the part is the request's.
 */
async function receiveFile(
  req: FastifyRequest,
  dir: string,
  limit: number,
): Promise<{ path: string; fileName: string }> {
  let received: { path: string; fileName: string } | undefined;
  for await (const part of req.parts()) {
    if (part.type !== 'file') continue;
    if (received) {
      part.file.resume();
      throw new UploadError('MULTIPLE_FILES_NOT_SUPPORTED');
    }
    const path = join(dir, 'upload');
    let file: LocalFileWriter;
    try {
      file = await LocalFileWriter.create(path);
    } catch (err) {
      part.file.resume();
      throw err;
    }
    try {
      await pipeline(part.file, async (chunks: AsyncIterable<Buffer>) => {
        for await (const chunk of chunks) await file.write(chunk);
      });
    } catch (err) {
      if (isFileTooLarge(err))
        throw new UploadError('MAXIMUM_FILESIZE_EXCEEDED', `The maximum file size is ${limit} bytes.`);
      throw err;
    } finally {
      await file.close();
    }
    if (part.file.truncated)
      throw new UploadError('MAXIMUM_FILESIZE_EXCEEDED', `The maximum file size is ${limit} bytes.`);
    received = { path, fileName: part.filename || 'upload' };
  }
  if (!received) throw new UploadError('INVALID_REPORT_CONTENT', 'The request holds no file part');
  return received;
}

async function providerOf(store: LocalRecords, tenant: string, id: string): Promise<JsonRecord> {
  if (!isFolioUuid(id)) throw new UploadError('OTHER', 'The provider id in the path is not a UUID');
  try {
    return await store.read(tenant, 'usage-data-providers', id);
  } catch (err) {
    if (err instanceof StoreError && err.status === 404)
      throw new UploadError('OTHER', `Usage data provider ${id} not found`);
    throw err;
  }
}

function configuredRelease(provider: JsonRecord): string | undefined {
  const config = provider.harvestingConfig as { reportRelease?: unknown } | undefined;
  const release = config?.reportRelease;
  if (typeof release === 'number') return String(release);
  return typeof release === 'string' && release !== '' ? release : undefined;
}

/**
 * Removes the upload's temporary files once its answer is decided: the 200 or the refusal has been
 * sent (an unexpected error is answered 500 right after). A failure here changes nothing for the
 * client, whose months are stored or not by then: it is the harvester's disk's, logged as a warning
 * for the operator (the files may be left in the temporary directory), never a second answer or an
 * unhandled error.
 */
async function removeUploadFiles(
  log: FastifyBaseLogger,
  prepared: PreparedUpload | undefined,
  dir: string | undefined,
): Promise<void> {
  const steps: [string, () => Promise<void> | undefined][] = [
    ['its conversion and split', () => prepared?.dispose()],
    ['its directory', () => (dir === undefined ? undefined : removeLocal(dir))],
  ];
  for (const [what, step] of steps) {
    try {
      await step();
    } catch (err) {
      log.warn(
        { event: 'upload-cleanup', err: (err as Error).message },
        `the upload's temporary files (${what}) could not be removed after it was answered`,
      );
    }
  }
}

export function uploadRoutes(ctx: ServiceContext, store: LocalRecords): Routes {
  const limit = ctx.config.uploadLimitBytes;
  return {
    access: 'tenant',
    prefix: '/counter-reports/multipartupload',
    register: async (app: App) => {
      await app.register(multipart, { limits: { fileSize: limit, files: 2, fields: 20, parts: 40 } });
      app.post(
        '/provider/:id',
        {
          ...docsOnly,
          schema: {
            tags: ['counter reports'],
            summary:
              'Upload a COUNTER file (R5.0/R5.1 JSON; R5 or R4 tabular tsv, csv or xlsx) as the provider’s months',
            params: Type.Object({ id: Type.String() }),
            querystring: Type.Object({ overwrite: Type.Optional(Type.Boolean({ default: false })) }),
            response: { 200: Type.String(), 400: UploadErrorSchema, 507: UploadErrorSchema },
          },
        },
        async (req, reply) => {
          const providerId = req.params.id;
          const overwrite = overwriteParam(req);
          if (!req.isMultipart())
            return sendUploadError(
              reply,
              new UploadError('UNSUPPORTED_FILE_FORMAT', 'Send the file as multipart/form-data'),
            );
          let dir: string | undefined;
          let prepared: PreparedUpload | undefined;
          try {
            dir = await makeLocalDirectory(tmpdir(), 'harvester-upload-', 'a directory for the upload');
            const provider = await providerOf(store, req.tenant, providerId);
            const file = await receiveFile(req, dir, limit);
            prepared = await prepareUpload(file.path, file.fileName, {
              providerRelease: configuredRelease(provider),
              tmpDir: dir,
            });
            const downloadTime = formatDateTime(ctx.clock.now());
            const ids = await store.storeMonthsAtomically(
              req.tenant,
              {
                providerId,
                release: prepared.release,
                reportName: prepared.reportName,
                yearMonths: prepared.yearMonths,
              },
              prepared.records(providerId, downloadTime) as AsyncIterable<{ record: JsonRecord }>,
              overwrite,
            );
            req.log.info(
              { event: 'upload', providerId, months: ids.length, report: prepared.reportName },
              'counter report file uploaded',
            );
            return reply
              .code(200)
              .type('text/plain')
              .send(`Saved report with ids: ${ids.join(',')}`);
          } catch (err) {
            if (err instanceof UploadError) return sendUploadError(reply, err);
            const local = localStorageUploadError(err);
            if (local) return sendUploadError(reply, local);
            if (err instanceof MonthsExistError)
              return sendUploadError(reply, new UploadError('REPORTS_ALREADY_PRESENT', err.message));
            if (err instanceof StoreError)
              return sendUploadError(reply, new UploadError('INVALID_REPORT_CONTENT', err.message));
            if (isFileTooLarge(err))
              return sendUploadError(
                reply,
                new UploadError('MAXIMUM_FILESIZE_EXCEEDED', `The maximum file size is ${limit} bytes.`),
              );
            throw err;
          } finally {
            await removeUploadFiles(req.log, prepared, dir);
          }
        },
      );
    },
  };
}
