/**
 * An uploaded COUNTER file → the months to store, exactly as a harvested response would be stored
 * (upload.ts: same records and usage fields, `harvestState.source: 'upload'`). The whole file is read
 * and split before anything is stored: a tabular file (tsv, csv, xlsx) is first written out as COUNTER
 * JSON to a temporary file, then the JSON goes through the month splitter, whose buckets spill to disk,
 * so memory stays bounded. A COUNTER 4 tabular file (its first cell names an R4 report) is read straight
 * into R4 month buckets (counter/tabular/read-r4.ts) and stored as a cs41 harvest stores its months.
 * Every fault is an `UploadError` with mod-erm-usage's codes
 * (`POST /counter-reports/multipartupload/provider/{id}`), naming the place where it can. A fault of the
 * harvester's own temporary storage (its directories, the JSON conversion, spill files, reading the
 * uploaded file back) is not the file's: it arrives as a LocalStorageError, answered by
 * `localStorageUploadError`.
 */
import { createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  findLocalStorageError,
  LocalFileWriter,
  localStorageReason,
  makeLocalDirectory,
  readingLocalStorage,
  removeLocal,
  splitReportStream,
  type CounterRelease,
  type Diagnostic,
  type SplitReport,
  type YearMonth,
} from '../counter/index.ts';
import { tabularToJson, TabularReadError } from '../counter/tabular/read.ts';
import { isR4FirstRow, readR4Tabular, TabularUnsupportedError } from '../counter/tabular/read-r4.ts';
import { csvRows, tsvRows, xlsxRows } from '../counter/tabular/rows.ts';
import type { CounterReport } from '../model/records.ts';
import type { StreamedReport } from '../erm/port.ts';
import type { HarvestState } from './month-state.ts';
import { buildRecord, monthsToStore } from './upload.ts';

/** mod-erm-usage's ReportUploadErrorCode values. */
export type UploadErrorCode =
  | 'INVALID_REPORT_CONTENT'
  | 'MAXIMUM_FILESIZE_EXCEEDED'
  | 'MULTIPLE_FILES_NOT_SUPPORTED'
  | 'OTHER'
  | 'REPORTS_ALREADY_PRESENT'
  | 'UNSUPPORTED_FILE_FORMAT'
  | 'UNSUPPORTED_REPORT_RELEASE'
  | 'UNSUPPORTED_REPORT_TYPE';

const MESSAGES: Record<UploadErrorCode, string> = {
  INVALID_REPORT_CONTENT: 'The report content is invalid.',
  MAXIMUM_FILESIZE_EXCEEDED: 'The file size exceeds the maximum allowed size.',
  MULTIPLE_FILES_NOT_SUPPORTED: 'Upload of multiple files is not supported.',
  OTHER: 'The report could not be processed.',
  REPORTS_ALREADY_PRESENT: 'One or more reports already exist for the time period.',
  UNSUPPORTED_FILE_FORMAT: 'The file format is not supported.',
  UNSUPPORTED_REPORT_RELEASE: 'The COUNTER Release version is not supported.',
  UNSUPPORTED_REPORT_TYPE: 'The report type is not supported.',
};

/**
 * A refused upload: answered with `{code, message, details}` (mod-erm-usage's reportUploadError), 400
 * for a fault of the request or its file, 507 when the harvester's own storage failed.
 */
export class UploadError extends Error {
  override name = 'UploadError';
  constructor(
    readonly code: UploadErrorCode,
    readonly details?: string,
    readonly status: 400 | 507 = 400,
  ) {
    super(details ? `${MESSAGES[code]} ${details}` : MESSAGES[code]);
  }

  get body(): { code: UploadErrorCode; message: string; details?: string } {
    return {
      code: this.code,
      message: MESSAGES[this.code],
      ...(this.details ? { details: this.details } : {}),
    };
  }
}

export type UploadFormat = 'json' | 'tsv' | 'csv' | 'xlsx';

/**
 * The harvester's temporary storage failed (`reason`): 507 with mod-erm-usage's catch-all code `OTHER`
 * (FOLIO has no code for it), the details saying that the file is not at fault.
 */
function storageFailed(reason: string): UploadError {
  return new UploadError(
    'OTHER',
    `${reason}. The file is not at fault and nothing was stored; upload it again later.`,
    507,
  );
}

/** The answer when `error` is (or wraps) a failure of the harvester's temporary storage, else undefined. */
export function localStorageUploadError(error: unknown): UploadError | undefined {
  const local = findLocalStorageError(error);
  return local && storageFailed(localStorageReason(local));
}

/** The format by the file name's extension (as mod-erm-usage decides it). */
export function uploadFormatOf(fileName: string): UploadFormat | undefined {
  const ext = /\.([A-Za-z]+)$/.exec(fileName)?.[1]?.toLowerCase();
  return ext === 'json' || ext === 'tsv' || ext === 'csv' || ext === 'xlsx' ? ext : undefined;
}

/** Diagnostics that make a file unfit to store (a harvest stores them as warnings; an upload is refused). */
const BLOCKING = new Set(['count_invalid', 'negative_count', 'non_object_item', 'invalid_month_key']);

export interface PreparedUpload {
  release: CounterRelease | '4';
  reportName: string;
  yearMonths: YearMonth[];
  /** The months as records to store, in month order, with the report streamed for large months. */
  records(
    providerId: string,
    downloadTime: string,
  ): AsyncGenerator<{
    record: CounterReport;
    streamed?: StreamedReport;
  }>;
  /** Removes the temporary files; call when done (also after a failure). */
  dispose(): Promise<void>;
}

export interface PrepareOptions {
  /** The provider's configured release (`harvestingConfig.reportRelease`): a file in another is refused. */
  providerRelease?: string;
  tmpDir?: string;
}

function place(d: Diagnostic): string {
  const where = [d.item !== undefined ? `Report_Items[${d.item}]` : '', d.path ? d.path : ''].filter(
    (p) => p !== '',
  );
  return where.length > 0 ? `${where.join(' ')}: ${d.message}` : d.message;
}

type TabularFormat = 'tsv' | 'csv' | 'xlsx';

/** The file's rows. */
function rowsOf(format: TabularFormat, path: string): AsyncGenerator<string[]> {
  return format === 'tsv' ? tsvRows(path) : format === 'csv' ? csvRows(path) : xlsxRows(path);
}

/** A reader's fault as the upload's answer (errors that are not about the file are rethrown). */
function tabularFault(format: TabularFormat, error: unknown): never {
  const local = localStorageUploadError(error);
  if (local) throw local;
  if (error instanceof TabularUnsupportedError)
    throw new UploadError('UNSUPPORTED_REPORT_TYPE', error.message);
  if (error instanceof TabularReadError) throw new UploadError('INVALID_REPORT_CONTENT', error.message);
  if (format === 'xlsx' && !(error instanceof UploadError))
    throw new UploadError(
      'INVALID_REPORT_CONTENT',
      `not a readable xlsx workbook (${(error as Error).message})`,
    );
  throw error;
}

/** Whether a tabular file is a COUNTER 4 report (its first cell names one, `Journal Report 1 (R4)`). */
async function isR4File(format: TabularFormat, path: string): Promise<boolean> {
  try {
    for await (const row of rowsOf(format, path)) return isR4FirstRow(row);
    return false;
  } catch (error) {
    return tabularFault(format, error);
  }
}

/**
 * A COUNTER 4 tabular file: its months as a COUNTER 4 harvest stores them (FOLIO's R4 JSON, release
 * `4`, the report name as `JR1`), only for a provider that harvests release 4 (or none).
 */
async function prepareR4Upload(
  format: TabularFormat,
  path: string,
  fileName: string,
  options: PrepareOptions,
): Promise<PreparedUpload> {
  const configured = options.providerRelease;
  if (configured !== undefined && configured !== '4')
    throw new UploadError(
      'UNSUPPORTED_REPORT_RELEASE',
      `The file is a COUNTER release 4 report; the provider harvests release ${configured}`,
    );
  const dir = await workDirectory(options);
  const dispose = () => removeLocal(dir);
  let report;
  try {
    report = await readR4Tabular(rowsOf(format, path), { tmpDir: dir });
  } catch (error) {
    // The file's own fault (or the storage's) is the answer; a failing removal must not replace it
    // (the route removes its whole directory after the answer and logs what it cannot remove).
    await dispose().catch(() => {});
    return tabularFault(format, error);
  }
  const read = report;
  return {
    release: '4',
    reportName: read.reportName,
    yearMonths: [...read.yearMonths],
    dispose: async () => {
      await read.dispose();
      await dispose();
    },
    async *records(providerId, downloadTime) {
      for await (const month of read.months()) {
        const state: HarvestState = {
          state: month.itemCount === 0 ? 'empty' : 'harvested',
          source: 'upload',
          fileName,
        };
        const key = { providerId, release: '4', reportName: read.reportName, yearMonth: month.yearMonth };
        const outcome = {
          kind: 'success' as const,
          report: month.report,
          usage: { itemCount: month.itemCount },
          contentHash: month.contentHash,
          state,
        };
        yield { record: buildRecord(key, outcome, downloadTime, undefined, 0) };
      }
    },
  };
}

/** A directory of this upload's own in `options.tmpDir` (the route's) for its temporary files. */
function workDirectory(options: PrepareOptions): Promise<string> {
  return makeLocalDirectory(options.tmpDir ?? tmpdir(), 'upload-', 'a temporary directory');
}

/** Text collected before it is written to the JSON conversion. */
const WRITE_CHARS = 256 * 1024;

async function writeTabularAsJson(
  format: TabularFormat,
  path: string,
  out: string,
  tmpDir: string,
): Promise<void> {
  const file = await LocalFileWriter.create(out);
  let pending = '';
  const flush = async (): Promise<void> => {
    const text = pending;
    pending = '';
    if (text !== '') await file.write(text);
  };
  try {
    await tabularToJson(
      rowsOf(format, path),
      async (text) => {
        pending += text;
        if (pending.length >= WRITE_CHARS) await flush();
      },
      { tmpDir },
    );
    await flush();
  } catch (error) {
    tabularFault(format, error);
  } finally {
    await file.close();
  }
}

function checkSplit(split: SplitReport, providerRelease: string | undefined): void {
  if (!split.reportId)
    throw new UploadError(
      'UNSUPPORTED_REPORT_TYPE',
      `Report_Header.Report_ID ${JSON.stringify(split.header.Report_ID ?? split.header.report_id ?? null)} is not a COUNTER 5 report id`,
    );
  const release = split.detectedRelease;
  if (providerRelease && providerRelease !== release)
    throw new UploadError(
      'UNSUPPORTED_REPORT_RELEASE',
      `The file is a COUNTER release ${release} report; the provider harvests release ${providerRelease}`,
    );
  for (const problem of split.findings)
    if (BLOCKING.has(problem.code))
      throw new UploadError('INVALID_REPORT_CONTENT', `${problem.code}: ${problem.example ?? ''}`.trim());
  for (const month of split.yearMonths) {
    const facts = split.monthFacts(month);
    const bad = facts?.diagnostics.find((d) => BLOCKING.has(d.code));
    if (bad) throw new UploadError('INVALID_REPORT_CONTENT', `${month}: ${place(bad)}`);
  }
  if (split.yearMonths.length === 0)
    throw new UploadError(
      'INVALID_REPORT_CONTENT',
      'The report names no month (no Begin_Date/End_Date, no usage)',
    );
}

/**
 * Reads and splits the uploaded file at `path`. Throws UploadError for a file that cannot be stored;
 * nothing is stored here.
 */
export async function prepareUpload(
  path: string,
  fileName: string,
  options: PrepareOptions,
): Promise<PreparedUpload> {
  const format = uploadFormatOf(fileName);
  if (!format)
    throw new UploadError(
      'UNSUPPORTED_FILE_FORMAT',
      `'${fileName}': upload a .json (COUNTER 5.0/5.1), .tsv, .csv or .xlsx (COUNTER 5 or 4 tabular) file`,
    );
  if (format !== 'json' && (await isR4File(format, path)))
    return prepareR4Upload(format, path, fileName, options);
  const dir = await workDirectory(options);
  let split: SplitReport | undefined;
  const dispose = async () => {
    await split?.dispose();
    await removeLocal(dir);
  };
  try {
    let jsonPath = path;
    if (format !== 'json') {
      jsonPath = join(dir, 'report.json');
      await writeTabularAsJson(format, path, jsonPath, dir);
    }
    const release: CounterRelease = options.providerRelease === '5' ? '5' : '5.1';
    // The file (or its JSON conversion) is in the harvester's temporary storage: reading it is local.
    const file = readingLocalStorage<Buffer>(`reading ${jsonPath}`, createReadStream(jsonPath));
    const result = await splitReportStream(file, release, {
      tmpDir: dir,
      maxBytes: Number.MAX_SAFE_INTEGER,
    });
    if (result.kind === 'invalid' && result.code === 'local_storage') throw storageFailed(result.message);
    if (result.kind === 'invalid') throw new UploadError('INVALID_REPORT_CONTENT', result.message);
    if (result.kind === 'exception')
      throw new UploadError(
        'INVALID_REPORT_CONTENT',
        `The file holds COUNTER exceptions only, no report: ${result.exceptions.map((e) => `${e.code} ${e.message}`).join('; ')}`,
      );
    split = result;
    if (options.providerRelease === '4')
      throw new UploadError(
        'UNSUPPORTED_REPORT_RELEASE',
        `The file is a COUNTER release ${result.detectedRelease} report; the provider harvests release 4`,
      );
    checkSplit(
      result,
      options.providerRelease === '5' || options.providerRelease === '5.1'
        ? options.providerRelease
        : undefined,
    );
  } catch (error) {
    // As in prepareR4Upload: the removal failing does not replace the error.
    await dispose().catch(() => {});
    throw error;
  }
  const report = split;
  const reportName = String(report.reportId);
  const releaseOf = report.detectedRelease;
  return {
    release: releaseOf,
    reportName,
    yearMonths: [...report.yearMonths],
    dispose,
    async *records(providerId, downloadTime) {
      for await (const month of monthsToStore(report, undefined)) {
        const usage = month.outcome.usage;
        const state: HarvestState = {
          state: usage && usage.itemCount === 0 ? 'empty' : 'harvested',
          source: 'upload',
          fileName,
        };
        const key = { providerId, release: releaseOf, reportName, yearMonth: month.yearMonth };
        const record = buildRecord(key, { ...month.outcome, state }, downloadTime, undefined, 0);
        yield { record, streamed: month.outcome.streamed };
      }
    },
  };
}
