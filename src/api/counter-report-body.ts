/**
 * Counter report bodies (`POST /counter-reports`, `PUT /counter-reports/{id}`) read from the request
 * stream instead of buffered and parsed whole (docs/hardening.md, "Memory under big requests"). The
 * body is scanned (src/counter/json-scanner.ts); every member is parsed on its own, and the elements of
 * `report.Report_Items` one at a time. When the report is larger than the store keeps in one value
 * (`CHUNKED_REPORT_BYTES`), its items are normalised (`JSON.stringify(JSON.parse(item))`, exactly what
 * the store writes for a buffered body) and spooled to a temporary file (mode 600) that the store's
 * chunked write reads back; smaller reports become the same object `JSON.parse` would have given. So the
 * stored record, and the answer, are the same bytes as for a buffered body, while the memory a request
 * holds does not grow with the body.
 */
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { JsonObjectScanner, JsonScanError } from '../counter/json-scanner.ts';
import type { StreamedReport } from '../erm/port.ts';
import { CHUNKED_REPORT_BYTES, ITEMS_KEY } from '../erm/report-chunks.ts';
import type { JsonRecord } from '../model/records.ts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { formatBytes, type App } from './app.ts';
import { jsonProblem, textProblem } from '../model/input-checks.ts';
import { HttpError, unprocessable } from './http-errors.ts';

const REPORT_KEY = 'report';
/** `"Report_Items":` plus the brackets of the array, for the exact JSON length of a report. */
const ITEMS_MEMBER_LENGTH = JSON.stringify(ITEMS_KEY).length + 1 + 2;

/** A counter report body read from a stream. */
export interface ReadReportBody {
  /** The record; without `report` when `streamed` is set. */
  record: JsonRecord;
  /** A report too large for one value: its members, and its items from the spool. */
  streamed?: SpooledReport;
}

export interface SpooledReport extends StreamedReport {
  members: JsonRecord;
  /** Removes the spool file; safe to call more than once. */
  dispose(): Promise<void>;
  /** The JSON text of `stored` (a record with a stand-in report) with this report in it, in pieces. */
  recordJson(stored: JsonRecord): AsyncGenerator<string>;
}

export interface ReadOptions {
  /** Largest body in bytes (413 beyond it). */
  limit: number;
  /** The route as the 413 text names it (`PUT /counter-reports/:id`). */
  route?: string;
  /** Reports whose JSON is longer than this are spooled; default the store's chunk threshold. */
  spillBytes?: number;
}

function invalidJson(err: unknown): HttpError {
  return new HttpError(400, `Request body is not valid JSON: ${(err as Error).message}`);
}

function tooLarge(limit: number, route?: string): HttpError {
  return new HttpError(
    413,
    `Request body too large: ${route ?? 'a counter report'} takes at most ${limit} bytes ` +
      `(${formatBytes(limit)}); the limit is set by SERVER_REPORT_BODY_LIMIT_BYTES`,
  );
}

const SPOOL_PREFIX = 'erm-usage-harvester-upload-';
let staleSpoolsRemoved: Promise<void> | undefined;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the spools of processes that are gone (killed during an upload), once per process. */
async function removeStaleSpools(): Promise<void> {
  const names = await readdir(tmpdir()).catch(() => [] as string[]);
  for (const name of names) {
    const pid = Number(new RegExp(`^${SPOOL_PREFIX}(\\d+)-`).exec(name)?.[1]);
    if (Number.isInteger(pid) && pid > 0 && !alive(pid))
      await rm(join(tmpdir(), name), { recursive: true, force: true }).catch(() => undefined);
  }
}

/** Items of the report, in memory while small, in a temporary file (one JSON text a line) beyond. */
class ItemSpool {
  texts: string[] = [];
  /** Sum of the texts' lengths plus their separating commas. */
  length = 0;
  count = 0;
  private file?: { dir: string; path: string; out: WriteStream };
  private pending: string[] = [];

  constructor(private readonly spillBytes: number) {}

  get spilled(): boolean {
    return this.file !== undefined;
  }

  add(text: string): void {
    this.length += text.length + (this.count > 0 ? 1 : 0);
    this.count++;
    if (this.file) this.pending.push(text);
    else this.texts.push(text);
  }

  /** Writes what came since the last flush; moves to the file once the items pass `spillBytes`. */
  async flush(): Promise<void> {
    if (!this.file && this.length > this.spillBytes) {
      staleSpoolsRemoved ??= removeStaleSpools();
      await staleSpoolsRemoved;
      const dir = await mkdtemp(join(tmpdir(), `${SPOOL_PREFIX}${process.pid}-`));
      const path = join(dir, 'items.jsonl');
      this.file = { dir, path, out: createWriteStream(path, { mode: 0o600 }) };
      this.pending = this.texts;
      this.texts = [];
    }
    if (!this.file || this.pending.length === 0) return;
    const data = this.pending.join('\n') + '\n';
    this.pending = [];
    const out = this.file.out;
    if (!out.write(data))
      await new Promise<void>((resolve, reject) => {
        const done = (err?: Error): void => {
          out.off('drain', done);
          out.off('error', done);
          if (err) reject(err);
          else resolve();
        };
        out.on('drain', done);
        out.on('error', done);
      });
  }

  async close(): Promise<void> {
    await this.flush();
    const out = this.file?.out;
    if (out)
      await new Promise<void>((resolve, reject) =>
        out.end((err?: Error | null) => (err ? reject(err) : resolve())),
      );
  }

  async *items(): AsyncGenerator<string> {
    if (!this.file) {
      yield* this.texts;
      return;
    }
    let carry = '';
    for await (const chunk of createReadStream(this.file.path, {
      encoding: 'utf8',
      highWaterMark: 1024 * 1024,
    })) {
      const lines = (carry + (chunk as string)).split('\n');
      carry = lines.pop() ?? '';
      yield* lines;
    }
    if (carry !== '') yield carry;
  }

  async dispose(): Promise<void> {
    const file = this.file;
    this.texts = [];
    if (!file) return;
    file.out.destroy();
    await rm(file.dir, { recursive: true, force: true });
  }
}

/** What the scan has seen so far. */
class BodyState {
  readonly root: JsonRecord = {};
  /** Members of `report` when it is an object, in order, without `Report_Items`. */
  members?: JsonRecord;
  /** Position of `Report_Items` among the report's members (undefined: none). */
  itemsAt?: number;
  items: ItemSpool;
  /** `Report_Items` elements read so far (for the place named in an error). */
  private elements = 0;

  constructor(private readonly spillBytes: number) {
    this.items = new ItemSpool(spillBytes);
  }

  member(key: string, text: string, parents: readonly string[]): void {
    const nameProblem = textProblem(key);
    if (nameProblem) {
      const where = parents.length === 0 ? '(the body)' : parents.join('.');
      throw invalidInput(where, `has a member name that ${nameProblem}`);
    }
    const value = parse(text, [...parents, key].join('.'));
    if (parents.length === 0) {
      if (key === REPORT_KEY) this.resetReport(undefined);
      this.root[key] = value;
      return;
    }
    if (!this.members) return;
    if (key === ITEMS_KEY) this.resetItems(undefined);
    this.members[key] = value;
  }

  enterReport(): void {
    this.resetReport({});
    // Keeps `report` in its place among the root members; replaced when the body ends.
    this.root[REPORT_KEY] = null;
  }

  itemsStart(): void {
    if (!this.members) return;
    delete this.members[ITEMS_KEY];
    this.resetItems(Object.keys(this.members).length);
  }

  element(text: string): void {
    const path = `${REPORT_KEY}.${ITEMS_KEY}[${this.elements++}]`;
    this.items.add(JSON.stringify(parse(text, path)) ?? 'null');
  }

  private resetReport(members: JsonRecord | undefined): void {
    this.members = members;
    this.resetItems(undefined);
  }

  private resetItems(at: number | undefined): void {
    void this.items.dispose();
    this.items = new ItemSpool(this.spillBytes);
    this.elements = 0;
    this.itemsAt = at;
  }
}

/**
 * One member or item of the body, parsed and checked as the input guard checks whole bodies
 * (src/api/input-guard.ts, which does not see a streamed body): no NUL, no lone surrogate, bounded depth.
 */
function parse(text: string, path: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw invalidJson(err);
  }
  const problem = jsonProblem(value);
  if (problem) {
    const inner = problem.where;
    const where = inner === '' ? path : inner.startsWith('[') ? `${path}${inner}` : `${path}.${inner}`;
    throw invalidInput(where, problem.what);
  }
  return value;
}

/** The 422 of a body part that cannot be stored: where it is and what is wrong. */
function invalidInput(where: string, what: string): HttpError {
  return unprocessable([
    { message: `${where} ${what}`, code: 'invalid.input', parameters: [{ key: where, value: what }] },
  ]);
}

/** The report's members with `value` at the items' position. */
function withItemsAt(members: JsonRecord, at: number, value: unknown): JsonRecord {
  const out: JsonRecord = {};
  const entries = Object.entries(members);
  for (const [i, [key, member]] of entries.entries()) {
    if (i === at) out[ITEMS_KEY] = value;
    out[key] = member;
  }
  if (at >= entries.length) out[ITEMS_KEY] = value;
  return out;
}

/** The exact length of `JSON.stringify` of the report (member order does not change it). */
function reportJsonLength(members: JsonRecord, items: ItemSpool): number {
  const head = JSON.stringify(members).length;
  return (head === 2 ? 2 : head + 1) + ITEMS_MEMBER_LENGTH + items.length;
}

function spooled(members: JsonRecord, at: number, items: ItemSpool): SpooledReport {
  return {
    header: members.Report_Header,
    members,
    items: () => items.items(),
    dispose: () => items.dispose(),
    async *recordJson(stored) {
      const marker = `items-${randomUUID()}`;
      const text = JSON.stringify({ ...stored, [REPORT_KEY]: withItemsAt(members, at, marker) });
      const [before, after] = text.split(JSON.stringify(marker));
      yield `${before}[`;
      let first = true;
      for await (const item of items.items()) {
        yield first ? item : `,${item}`;
        first = false;
      }
      yield `]${after}`;
    },
  };
}

/**
 * Reads a counter report body from the request stream. Null for an empty body. Throws HttpError 400
 * (not JSON, not an object) or 413 (over `limit`); removes its spool itself then.
 */
export async function readCounterReportBody(
  body: AsyncIterable<Buffer | string>,
  options: ReadOptions,
): Promise<ReadReportBody | null> {
  const state = new BodyState(options.spillBytes ?? CHUNKED_REPORT_BYTES);
  const scanner = new JsonObjectScanner(
    {
      member: (key, text, parents) => state.member(key, text, parents),
      element: (text) => state.element(text),
      enter: () => state.enterReport(),
      arrayStart: () => state.itemsStart(),
    },
    [REPORT_KEY, ITEMS_KEY],
    { exactKeys: true },
  );
  let size = 0;
  let blank = true;
  try {
    for await (const piece of body) {
      const chunk = typeof piece === 'string' ? Buffer.from(piece, 'utf8') : piece;
      size += chunk.length;
      if (size > options.limit) throw tooLarge(options.limit, options.route);
      if (blank) {
        const first = chunk.findIndex((c) => !isJsonWhitespace(c));
        if (first < 0) continue;
        if (chunk[first] !== 0x7b) throw new HttpError(400, 'Request body must be a JSON object');
        blank = false;
      }
      scanner.write(chunk);
      await state.items.flush();
    }
    if (blank) return null;
    scanner.end();
    await state.items.close();
  } catch (err) {
    await state.items.dispose();
    if (err instanceof JsonScanError) throw invalidJson(err);
    throw err;
  }
  const { root, members, itemsAt, items } = state;
  if (!members) return { record: root };
  if (itemsAt === undefined) {
    root[REPORT_KEY] = members;
    return { record: root };
  }
  if (!items.spilled && reportJsonLength(members, items) <= (options.spillBytes ?? CHUNKED_REPORT_BYTES)) {
    root[REPORT_KEY] = withItemsAt(members, itemsAt, JSON.parse(`[${items.texts.join(',')}]`));
    await items.dispose();
    return { record: root };
  }
  delete root[REPORT_KEY];
  return { record: root, streamed: spooled(members, itemsAt, items) };
}

function isJsonWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

const JSON_TYPE = /^application\/([\w.+-]+\+)?json/i;

/** A request body left unread by the scope's parser (`acceptStreamedBodies`). */
export class UnreadBody {
  constructor(
    readonly stream: AsyncIterable<Buffer>,
    readonly json: boolean,
  ) {}
}

/** Makes the routes of `scope` get their request bodies unread (UnreadBody), whatever the type. */
export function acceptStreamedBodies(scope: App): App {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', (req, payload, done) => {
    done(null, new UnreadBody(payload, JSON_TYPE.test(req.headers['content-type'] ?? '')));
  });
  return scope;
}

/**
 * The counter report body of a request of a streamed scope: read from the stream within the route's
 * body limit (a Content-Length over it is refused before reading). Null when the body is empty.
 */
export async function readRequestReport(
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<ReadReportBody | null> {
  const body: unknown = req.body;
  if (!(body instanceof UnreadBody)) return null;
  if (!body.json) throw new HttpError(400, 'Request body must be a JSON object');
  const limit = req.routeOptions.bodyLimit;
  const route = `${req.method} ${req.routeOptions.url ?? req.url.split('?')[0]}`;
  try {
    if (Number(req.headers['content-length']) > limit) throw tooLarge(limit, route);
    return await readCounterReportBody(body.stream, { limit, route });
  } catch (err) {
    // The client may still be sending: do not keep the connection for another request.
    if (err instanceof HttpError) reply.header('connection', 'close');
    throw err;
  }
}

/**
 * Runs the route's work; a spool is removed once the answer is sent or the connection is gone. While
 * the store writes a spooled report the connection's idle timeout is paused: the client has sent its
 * body and waits for the service (writes of large months queue behind each other on one database), so
 * silence then is not the client's. The timeout is back before the answer is sent.
 */
export async function withSpool<T>(
  reply: FastifyReply,
  streamed: SpooledReport | undefined,
  fn: () => Promise<T>,
): Promise<T> {
  if (!streamed) return fn();
  reply.raw.once('close', () => void streamed.dispose());
  const socket = reply.raw.socket;
  const idle = socket?.timeout ?? 0;
  socket?.setTimeout(0);
  try {
    return await fn();
  } catch (err) {
    await streamed.dispose();
    throw err;
  } finally {
    socket?.setTimeout(idle);
  }
}
