/**
 * One run of the export benchmark in its own process (clean peak RSS): reads the stored months of a
 * report from a month directory and writes the export to a sink that discards the bytes.
 *
 *   ours:     the months through the `StoredMonth` interface (header + item texts read line by line,
 *             as the store hands them over) → prepareExport → body stream;
 *   baseline: each month as one JSON text (as a store returns a whole report), JSON.parse, the whole
 *             table built in a Map in memory, then written as TSV.
 */
import { createReadStream } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { monthsBetween, prepareExport, type StoredMonth } from '../src/counter/index.ts';

export interface ExportRunResult {
  mode: 'ours' | 'baseline';
  ok: boolean;
  seconds: number;
  cpuSeconds: number;
  maxRssMB: number;
  /** Bytes of the stored months' JSON read. */
  inputBytes: number;
  outputBytes: number;
  error?: string;
  spill?: unknown;
  /** How the months were merged (ours). */
  strategy?: string;
}

/** The month files of a directory: `yyyy-MM.header.json` and `yyyy-MM.items.jsonl`, ascending. */
export async function monthNames(dir: string): Promise<string[]> {
  return (await readdir(dir))
    .filter((f) => f.endsWith('.header.json'))
    .map((f) => f.slice(0, 7))
    .sort();
}

export async function storedBytes(dir: string): Promise<number> {
  let total = 0;
  for (const month of await monthNames(dir)) {
    total += (await stat(join(dir, `${month}.header.json`))).size;
    total += (await stat(join(dir, `${month}.items.jsonl`))).size;
  }
  return total;
}

/**
 * The lines of a file, read in 64 KiB pieces. Pieces this small are not "large objects" for V8 and
 * die young; a partial line at a piece's end is joined with the next piece's first line only.
 */
async function* lines(file: string): AsyncGenerator<string> {
  let rest = '';
  for await (const piece of createReadStream(file, { encoding: 'utf8', highWaterMark: 64 * 1024 })) {
    const text = piece as string;
    let start = 0;
    let end = text.indexOf('\n');
    if (end < 0) {
      rest += text;
      continue;
    }
    const first = rest + text.slice(0, end);
    rest = '';
    if (first !== '') yield first;
    start = end + 1;
    for (end = text.indexOf('\n', start); end >= 0; end = text.indexOf('\n', start)) {
      if (end > start) yield text.slice(start, end);
      start = end + 1;
    }
    rest = text.slice(start);
  }
  if (rest !== '') yield rest;
}

/** The months of a directory as the store will hand them over: header object plus item texts. */
export async function* storedMonthsFromDir(dir: string): AsyncGenerator<StoredMonth> {
  for (const month of await monthNames(dir)) {
    const header = JSON.parse(await readFile(join(dir, `${month}.header.json`), 'utf8')) as Record<
      string,
      unknown
    >;
    yield {
      yearMonth: month,
      header,
      items: () => lines(join(dir, `${month}.items.jsonl`)),
    };
  }
}

class CountingSink extends Writable {
  bytes = 0;
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.bytes += chunk.length;
    callback();
  }
}

async function ours(
  dir: string,
  begin: string,
  end: string,
  format: string,
  sink: CountingSink,
  budgetMB: number | undefined,
  lockstep: boolean,
): Promise<{ spill: unknown; strategy: string }> {
  const months = await monthNames(dir);
  const exp = await prepareExport({
    release: '5.1',
    reportId: 'TR',
    begin,
    end,
    format,
    months: storedMonthsFromDir(dir),
    monthCount: months.length,
    ...(budgetMB !== undefined && { spill: { memoryBudgetBytes: budgetMB * 1024 * 1024 } }),
    lockstep,
  });
  await exp.writeTo(sink);
  return { spill: exp.spillStats(), strategy: exp.mergeStrategy };
}

const MONTH_NAMES = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** The naive way: whole months parsed, the whole table in a Map, then written. */
async function baseline(dir: string, begin: string, end: string, sink: CountingSink): Promise<void> {
  type Obj = Record<string, unknown>;
  const months = monthsBetween(begin, end);
  const table = new Map<string, number[]>();
  let header: Obj = {};
  for (const month of await monthNames(dir)) {
    const headerText = await readFile(join(dir, `${month}.header.json`), 'utf8');
    const items = (await readFile(join(dir, `${month}.items.jsonl`), 'utf8')).trimEnd().replace(/\n/g, ',');
    const report = JSON.parse(`{"Report_Header":${headerText},"Report_Items":[${items}]}`) as {
      Report_Header: Obj;
      Report_Items: Obj[];
    };
    header = report.Report_Header;
    for (const item of report.Report_Items) {
      const ids = (item.Item_ID ?? {}) as Record<string, string>;
      const publisherIds = Object.entries((item.Publisher_ID ?? {}) as Record<string, string[]>)
        .flatMap(([ns, values]) => values.map((v) => (ns === 'Proprietary' ? v : `${ns}:${v}`)))
        .join('; ');
      const description = [
        item.Title,
        item.Publisher,
        publisherIds,
        item.Platform,
        ids.DOI ?? '',
        ids.Proprietary ?? '',
        ids.ISBN ?? '',
        ids.Print_ISSN ?? '',
        ids.Online_ISSN ?? '',
        ids.URI ?? '',
      ].join('\t');
      for (const entry of item.Attribute_Performance as Obj[]) {
        const attrs = [entry.Data_Type, entry.YOP, entry.Access_Type, entry.Access_Method].join('\t');
        for (const [metric, counts] of Object.entries(
          entry.Performance as Record<string, Record<string, number>>,
        )) {
          const key = `${description}\t${attrs}\t${metric}`;
          let row = table.get(key);
          if (!row) table.set(key, (row = new Array<number>(months.length).fill(0)));
          for (const [m, n] of Object.entries(counts)) row[months.indexOf(m)] += n;
        }
      }
    }
  }
  const write = (text: string): Promise<void> =>
    new Promise((resolve) => (sink.write(text) ? resolve() : sink.once('drain', () => resolve())));
  let text = `\uFEFFReport_Name\t${String(header.Report_Name)}\n`;
  text += `\nTitle\tPublisher\tPublisher_ID\tPlatform\tDOI\tProprietary_ID\tISBN\tPrint_ISSN\tOnline_ISSN\tURI\tData_Type\tYOP\tAccess_Type\tAccess_Method\tMetric_Type\tReporting_Period_Total\t${months.map((m) => `${MONTH_NAMES[Number(m.slice(5)) - 1]}-${m.slice(0, 4)}`).join('\t')}\n`;
  for (const [key, row] of table) {
    const total = row.reduce((a, b) => a + b, 0);
    if (total === 0) continue;
    text += `${key}\t${total}\t${row.join('\t')}\n`;
    if (text.length > 65536) {
      await write(text);
      text = '';
    }
  }
  await write(text);
}

export async function child(): Promise<void> {
  const { values } = parseArgs({
    options: {
      child: { type: 'boolean' },
      mode: { type: 'string' },
      dir: { type: 'string' },
      begin: { type: 'string' },
      end: { type: 'string' },
      format: { type: 'string', default: 'tsv' },
      budget: { type: 'string' },
      table: { type: 'boolean', default: false },
    },
  });
  const mode = values.mode as 'ours' | 'baseline';
  const dir = values.dir as string;
  const sink = new CountingSink();
  const inputBytes = await storedBytes(dir);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let ok = true;
  let error: string | undefined;
  let spill: unknown;
  let strategy: string | undefined;
  try {
    if (mode === 'ours')
      ({ spill, strategy } = await ours(
        dir,
        values.begin as string,
        values.end as string,
        values.format,
        sink,
        values.budget === undefined ? undefined : Number(values.budget),
        !values.table,
      ));
    else await baseline(dir, values.begin as string, values.end as string, sink);
  } catch (e) {
    ok = false;
    error = e instanceof Error ? `${e.name}: ${e.message}`.slice(0, 300) : String(e);
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const result: ExportRunResult = {
    mode,
    ok,
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    maxRssMB: process.resourceUsage().maxRSS / 1024,
    inputBytes,
    outputBytes: sink.bytes,
    ...(error !== undefined && { error }),
    ...(spill !== undefined && { spill }),
    ...(strategy !== undefined && { strategy }),
  };
  console.log(JSON.stringify(result));
}
