/**
 * Group-by with bounded memory: values are combined per key in hash partitions held in memory; when
 * the partitions together exceed the memory budget, the largest are appended to their temporary
 * partition files (as partial aggregates) and emptied. `finish` combines each partition (its file and
 * what is still in memory), sorts it by an order key, and merges the sorted partitions into one
 * ordered stream. Memory stays near the budget whatever the input size; small inputs never touch the
 * disk.
 *
 * Lines on disk are `position \t key \t value` where key and value are JSON-safe texts without tabs
 * or line breaks (JSON.stringify escapes both).
 *
 * The partition files are the harvester's own temporary storage: every file-system error of them
 * (making the directory, appending, sizing, reading back, removing) is thrown as a LocalStorageError
 * (../local-storage.ts), so an upload or export says the disk failed rather than the data.
 */
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { constants, open, stat, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { memoryBudgets } from '../../memory-budget.ts';
import { makeLocalDirectory, onLocalStorage, readingLocalStorage, removeLocal } from '../local-storage.ts';

export type Position = readonly number[];

/** How values of one key are combined, stored and sized. */
export interface GroupCodec<T> {
  /** Adds `from` into `into` (mutating it); returns the bytes `into` grew by (estimate). */
  combine(into: T, from: T): number;
  /** One line of text: no tab, no line break. */
  encode(value: T): string;
  decode(text: string): T;
  /** Approximate bytes the value takes in memory. */
  size(value: T): number;
}

export interface GroupEntry<T> {
  key: string;
  /** Where the key was first seen (lexicographic order). */
  position: Position;
  value: T;
}

export interface SpillOptions {
  /**
   * Memory for the combined values held in memory (an estimate of their heap size). Default: the table
   * merge's share of the service's memory bound (src/memory-budget.ts), 128 MiB without a heap limit:
   * the distinct items of a twelve-month 100 MB TR fit; larger ranges spill. Peak heap use is about
   * 1.6 times this (while spilled partitions are sorted), plus the garbage V8 keeps.
   */
  memoryBudgetBytes?: number;
  /** Number of hash partitions. Default 64. */
  partitions?: number;
  /** Parent directory of the temporary spill directory; default `os.tmpdir()`. */
  tmpDir?: string;
}

export interface SpillStats {
  spilledBytes: number;
  spills: number;
  partitionsSpilled: number;
  reSplits: number;
}

export function comparePositions(a: Position, b: Position): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/**
 * FNV-1a over the UTF-16 code units, with a seed for re-partitioning, finished with murmur3's mixer:
 * FNV's low bits depend only on the low bits of the input, so without mixing keys that differ in a
 * few digits would share partitions.
 */
function hash(text: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const ENTRY_OVERHEAD = 120;

interface Slot<T> {
  position: number[];
  value: T;
  size: number;
}

interface Partition<T> {
  entries: Map<string, Slot<T>>;
  bytes: number;
  file?: string;
  /** Once evicted, a partition's values go to its file as they come (no combining in memory). */
  evicted: boolean;
  /** Lines of an evicted partition not yet written. */
  buffer: string;
}

/** Lines an evicted partition collects before they are written. */
const BUFFER_CHARS = 256 * 1024;

function encodeLine<T>(codec: GroupCodec<T>, key: string, slot: { position: Position; value: T }): string {
  return `${slot.position.join(',')}\t${key}\t${codec.encode(slot.value)}\n`;
}

function parseLine(line: string): [number[], string, string] {
  const a = line.indexOf('\t');
  const b = line.indexOf('\t', a + 1);
  const position = line
    .slice(0, a)
    .split(',')
    .map((n) => Number(n));
  return [position, line.slice(a + 1, b), line.slice(b + 1)];
}

async function* fileLines(file: string): AsyncGenerator<string> {
  const lines = createInterface({
    input: createReadStream(file, { encoding: 'utf8', highWaterMark: 64 * 1024 }),
    crlfDelay: Infinity,
  });
  for await (const line of lines) if (line !== '') yield line;
}

function readLines(file: string): AsyncGenerator<string> {
  return readingLocalStorage(`reading ${file}`, fileLines(file));
}

/** Opens a file made earlier for appending, without making it again when it is gone. */
const REOPEN = constants.O_WRONLY | constants.O_APPEND;

/**
 * Appends text to files, keeping one open handle per file while writing. A file is made by its first
 * append; once made, a file that has gone (its directory removed meanwhile) is an error, not made again
 * empty, which would lose what was written to it.
 */
class Appender {
  private readonly handles = new Map<string, FileHandle>();
  private readonly made = new Set<string>();
  async append(file: string, text: string): Promise<void> {
    await onLocalStorage(`writing ${file}`, async () => {
      let handle = this.handles.get(file);
      if (!handle) {
        handle = await open(file, this.made.has(file) ? REOPEN : 'ax', 0o600);
        this.made.add(file);
        this.handles.set(file, handle);
      }
      await handle.write(text);
    });
  }
  async closeAll(): Promise<void> {
    // A handle that fails to close is dropped; the others stay for the next call (dispose) to close.
    for (const [file, handle] of this.handles) {
      this.handles.delete(file);
      await onLocalStorage(`closing ${file}`, () => handle.close());
    }
  }
}

export class SpillingGroupBy<T> {
  private readonly budget: number;
  private readonly partitions: Partition<T>[];
  private memory = 0;
  private dir: string | undefined;
  private readonly appender = new Appender();
  private finished = false;
  readonly stats: SpillStats = { spilledBytes: 0, spills: 0, partitionsSpilled: 0, reSplits: 0 };

  constructor(
    private readonly codec: GroupCodec<T>,
    private readonly options: SpillOptions = {},
  ) {
    this.budget = options.memoryBudgetBytes ?? memoryBudgets().tableMergeBytes;
    const count = Math.max(1, options.partitions ?? 64);
    this.partitions = Array.from({ length: count }, () => ({
      entries: new Map(),
      bytes: 0,
      evicted: false,
      buffer: '',
    }));
  }

  /** Bytes the in-memory partitions hold (estimate). */
  get memoryBytes(): number {
    return this.memory;
  }

  /** Adds a value under `key`, first seen at `position` unless seen earlier. */
  async add(key: string, position: number[], value: T): Promise<void> {
    if (this.finished) throw new Error('SpillingGroupBy: add after finish');
    const partition = this.partitions[hash(key, 0) % this.partitions.length];
    if (partition.evicted) {
      partition.buffer += encodeLine(this.codec, key, { position, value });
      if (partition.buffer.length >= BUFFER_CHARS) await this.flush(partition);
      return;
    }
    const slot = partition.entries.get(key);
    if (slot) {
      const grown = this.codec.combine(slot.value, value);
      if (comparePositions(position, slot.position) < 0) slot.position = position;
      partition.bytes += grown;
      this.memory += grown;
      slot.size += grown;
    } else {
      const size = this.codec.size(value) + key.length + ENTRY_OVERHEAD;
      partition.entries.set(key, { position, value, size });
      partition.bytes += size;
      this.memory += size;
    }
    if (this.memory > this.budget) await this.spill(this.budget * 0.75);
  }

  private async spillDir(): Promise<string> {
    const parent = this.options.tmpDir ?? tmpdir();
    this.dir ??= await makeLocalDirectory(parent, 'counter-export-', 'a spill directory');
    return this.dir;
  }

  /**
   * Evicts the largest in-memory partitions until memory is at most `target`: their entries go to
   * their files, and their later values are written as they come.
   */
  private async spill(target: number): Promise<void> {
    while (this.memory > target) {
      let largest: Partition<T> | undefined;
      for (const p of this.partitions)
        if (!p.evicted && p.entries.size > 0 && (!largest || p.bytes > largest.bytes)) largest = p;
      if (!largest) return;
      largest.evicted = true;
      this.stats.partitionsSpilled += 1;
      for (const [key, slot] of largest.entries) {
        largest.buffer += encodeLine(this.codec, key, slot);
        if (largest.buffer.length >= BUFFER_CHARS) await this.flush(largest);
      }
      await this.flush(largest);
      this.memory -= largest.bytes;
      largest.entries = new Map();
      largest.bytes = 0;
    }
  }

  private async flush(partition: Partition<T>): Promise<void> {
    if (partition.buffer === '') return;
    partition.file ??= join(await this.spillDir(), `p${this.partitions.indexOf(partition)}.part`);
    const text = partition.buffer;
    partition.buffer = '';
    await this.appender.append(partition.file, text);
    this.stats.spilledBytes += text.length;
    this.stats.spills += 1;
  }

  /**
   * Every key once with its combined value, in `order` (lexicographic over the returned numbers,
   * computed per entry from its key and first position). Cleans up when iterated to the end or
   * stopped; `dispose` also does.
   */
  async *finish(order: (key: string, position: Position) => Position): AsyncGenerator<GroupEntry<T>> {
    this.finished = true;
    try {
      await this.appender.closeAll();
      if (this.partitions.every((p) => p.file === undefined)) {
        const all: Array<[number[] | Position, GroupEntry<T>]> = [];
        for (const p of this.partitions)
          for (const [key, slot] of p.entries) all.push([order(key, slot.position), { key, ...slot }]);
        this.releaseMemory();
        all.sort((a, b) => comparePositions(a[0], b[0]));
        for (const [, entry] of all) yield { key: entry.key, position: entry.position, value: entry.value };
        return;
      }
      // Partitions still in memory become sorted runs in memory; evicted ones are combined and
      // sorted one at a time into runs on disk. Then all runs are merged.
      for (const p of this.partitions) await this.flush(p);
      await this.appender.closeAll();
      const runs: Array<Run<T>> = [];
      for (const p of this.partitions) {
        if (p.file) for (const run of await this.sortFile(p.file, order, 1)) runs.push(this.readRun(run));
        else if (p.entries.size > 0) {
          const sorted = [...p.entries].map(([key, slot]): [Position, GroupEntry<T>] => [
            order(key, slot.position),
            { key, position: slot.position, value: slot.value },
          ]);
          p.entries = new Map();
          sorted.sort((a, b) => comparePositions(a[0], b[0]));
          runs.push(sorted[Symbol.iterator]());
        }
      }
      yield* mergeRuns(runs);
    } finally {
      await this.dispose();
    }
  }

  private releaseMemory(): void {
    for (const p of this.partitions) {
      p.entries = new Map();
      p.bytes = 0;
    }
    this.memory = 0;
  }

  /** Combines one partition file into sorted run files, re-splitting it first when it is large. */
  private async sortFile(
    file: string,
    order: (key: string, position: Position) => Position,
    depth: number,
  ): Promise<string[]> {
    const size = (await onLocalStorage(`reading ${file}`, () => stat(file))).size;
    // Combined in memory, a line's value can take about 2.5 times its text: keep a file's part small.
    const limit = this.budget / 4;
    if (size > limit && depth < 4) {
      this.stats.reSplits += 1;
      const parts = Math.min(64, Math.ceil(size / (limit / 2)));
      const files = Array.from({ length: parts }, (_, i) => `${file}.${depth}.${i}`);
      const buffers: string[] = files.map(() => '');
      // Parts no line went to have no file; any other part file missing later is a storage failure.
      const written = new Set<number>();
      const append = async (i: number): Promise<void> => {
        await this.appender.append(files[i], buffers[i]);
        buffers[i] = '';
        written.add(i);
      };
      for await (const line of readLines(file)) {
        const key = line.slice(line.indexOf('\t') + 1, line.indexOf('\t', line.indexOf('\t') + 1));
        const i = hash(key, depth) % parts;
        buffers[i] += `${line}\n`;
        if (buffers[i].length >= 256 * 1024) await append(i);
      }
      for (let i = 0; i < parts; i++) if (buffers[i] !== '') await append(i);
      await this.appender.closeAll();
      await removeLocal(file);
      const runs: string[] = [];
      for (let i = 0; i < parts; i++)
        if (written.has(i)) runs.push(...(await this.sortFile(files[i], order, depth + 1)));
      return runs;
    }
    const combined = new Map<string, { position: number[]; value: T }>();
    for await (const line of readLines(file)) {
      const [position, key, text] = parseLine(line);
      const value = this.codec.decode(text);
      const slot = combined.get(key);
      if (slot) {
        this.codec.combine(slot.value, value);
        if (comparePositions(position, slot.position) < 0) slot.position = position;
      } else combined.set(key, { position, value });
    }
    await removeLocal(file);
    const sorted = [...combined].map(([key, slot]) => ({ order: order(key, slot.position), key, slot }));
    combined.clear();
    sorted.sort((a, b) => comparePositions(a.order, b.order));
    const run = `${file}.run`;
    let text = '';
    for (const { order: o, key, slot } of sorted) {
      text += `${o.join(',')}\t${encodeLine(this.codec, key, slot)}`;
      if (text.length >= 1 << 20) {
        await this.appender.append(run, text);
        text = '';
      }
    }
    if (text !== '') await this.appender.append(run, text);
    await this.appender.closeAll();
    return [run];
  }

  private async *readRun(file: string): AsyncGenerator<[Position, GroupEntry<T>]> {
    for await (const line of readLines(file)) {
      const tab = line.indexOf('\t');
      const orderKey = line
        .slice(0, tab)
        .split(',')
        .map((n) => Number(n));
      const [position, key, text] = parseLine(line.slice(tab + 1));
      yield [orderKey, { key, position, value: this.codec.decode(text) }];
    }
  }

  /** Frees memory and removes the spill directory; safe to call more than once. */
  async dispose(): Promise<void> {
    this.finished = true;
    this.releaseMemory();
    await this.appender.closeAll().catch(() => undefined);
    if (this.dir) {
      const dir = this.dir;
      this.dir = undefined;
      await removeLocal(dir);
    }
  }
}

/** k-way merge of sorted runs by their order keys (a binary heap of the runs' heads). */
type Run<T> = AsyncIterator<[Position, GroupEntry<T>]> | Iterator<[Position, GroupEntry<T>]>;

async function* mergeRuns<T>(runs: Array<Run<T>>): AsyncGenerator<GroupEntry<T>> {
  type Head = { order: Position; entry: GroupEntry<T>; run: Run<T> };
  const heap: Head[] = [];
  const less = (a: Head, b: Head): boolean => comparePositions(a.order, b.order) < 0;
  const push = (h: Head): void => {
    heap.push(h);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!less(heap[i], heap[parent])) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  };
  const pop = (): Head | undefined => {
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && less(heap[l], heap[m])) m = l;
        if (r < heap.length && less(heap[r], heap[m])) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m], heap[i]];
        i = m;
      }
    }
    return top;
  };
  for (const run of runs) {
    const first = await run.next();
    if (!first.done) push({ order: first.value[0], entry: first.value[1], run });
  }
  for (let head = pop(); head; head = pop()) {
    yield head.entry;
    const next = await head.run.next();
    if (!next.done) push({ order: next.value[0], entry: next.value[1], run: head.run });
  }
}

/** Waits for `drain` when a writable's buffer is full (helper for writers that push lines). */
export async function writeWithBackpressure(
  out: NodeJS.WritableStream & { writableNeedDrain?: boolean },
  chunk: string | Uint8Array,
): Promise<void> {
  if (!out.write(chunk)) await once(out, 'drain');
}
