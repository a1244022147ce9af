/**
 * Per-month buckets of serialized lines that spill to temporary files (folio-contract §8.4: route each item to
 * its month's bucket; a bucket spills above a threshold; months are then built one at a time).
 *
 * Lines are JSON texts: JSON.stringify escapes line breaks, so one line is one entry on disk too.
 * A line is encoded to UTF-8 into the bucket's byte blocks as soon as it is added, so the JavaScript
 * heap holds no bucket strings (they die young instead of filling the old generation until the next
 * spill), and a spill writes the blocks as they are.
 *
 * Every file-system error of the spill files (creating the directory, writing, reading back, removing)
 * is thrown as a LocalStorageError (local-storage.ts): the harvester's disk failed, not the data.
 */
import { createHash, type Hash } from 'node:crypto';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeLocalDirectory, onLocalStorage, readingLocalStorage, removeLocal } from './local-storage.ts';
import type { YearMonth } from './year-month.ts';

export interface BucketLimits {
  /** A month bucket holding more serialized characters than this spills to disk. */
  spillThresholdBytes: number;
  /** When all in-memory buckets together exceed this, the largest ones spill too. */
  memoryBudgetBytes: number;
  /** Parent directory for the temporary spill directory; default `os.tmpdir()`. */
  tmpDir?: string;
}

export interface BucketStats {
  /** Months whose bucket was written to disk at least once. */
  spilledMonths: YearMonth[];
  /** Characters written to spill files in total. */
  spilledBytes: number;
  /** Characters currently held in memory across all buckets. */
  inMemoryBytes: number;
}

/** Size of a bucket's byte block; a longer line gets a block of its own size. */
const BLOCK_BYTES = 256 * 1024;
const MIN_BLOCK_BYTES = 16 * 1024;

/**
 * A line being written straight into a month's bucket as UTF-8 (`startLine`, `growLine`, `endLine`):
 * the block it goes into, from `start`. Valid until `endLine`; no other line is added to the month
 * meanwhile.
 */
export interface OpenLine {
  readonly block: Buffer;
  readonly start: number;
}

/** Writes lines as bytes (MonthBuckets, or plain buffers in tests). */
export interface LineTarget {
  /** Opens a line in the month with at least `room` bytes free after its start. */
  startLine(month: YearMonth, room: number): OpenLine;
  /**
   * Makes room for `need` more bytes after `end` (the line's bytes so far are `start`..`end`): the line
   * may move to a new block. Returns its new end.
   */
  growLine(line: OpenLine, end: number, need: number): number;
  /** Closes the line at `end` (one byte after it must be free) holding `chars` UTF-16 units. */
  endLine(line: OpenLine, end: number, chars: number): void;
}

interface Line extends OpenLine {
  block: Buffer;
  start: number;
  bucket: Bucket;
}

interface Bucket {
  /** The line being written with `startLine`, reused for every line. */
  line?: Line;
  /** The lines in memory, UTF-8, each followed by `\n`; the last block is filled up to `used`. */
  blocks: Buffer[];
  used: number;
  /** Characters in memory. */
  bytes: number;
  /** Characters ever added, in memory and on disk. */
  totalBytes: number;
  file?: string;
  /** The spill file open for appending, from the first spill until the month is released. */
  writer?: Promise<FileHandle>;
  /** sha256 of every byte ever added (see `digest`), fed block by block. */
  hash: Hash;
  /** Bytes of the last block already fed to `hash`. */
  hashed: number;
  digest?: string;
}

const READ_BYTES = 1024 * 1024;
const NEWLINE = 0x0a;

/**
 * The non-empty lines of a spill file, read in blocks and cut at `\n` bytes (a line never holds a raw
 * line break, and UTF-8 never has 0x0a inside a character), each decoded once.
 */
async function* readLines(file: string): AsyncGenerator<string> {
  const handle = await open(file, 'r');
  try {
    // The start of a line that continues in the next block (several blocks for a very long line).
    let carry: Buffer[] = [];
    // One block for the whole file: lines are decoded (copied) out of it before the next read.
    const block = Buffer.allocUnsafeSlow(READ_BYTES);
    for (;;) {
      const { bytesRead } = await handle.read(block, 0, READ_BYTES, null);
      if (bytesRead === 0) break;
      const data = block.subarray(0, bytesRead);
      const lines: string[] = [];
      let start = 0;
      for (let end = data.indexOf(NEWLINE); end !== -1; end = data.indexOf(NEWLINE, start)) {
        if (carry.length > 0) {
          lines.push(Buffer.concat([...carry, data.subarray(0, end)]).toString('utf8'));
          carry = [];
        } else if (end > start) lines.push(data.toString('utf8', start, end));
        start = end + 1;
      }
      if (start < data.length) carry.push(Buffer.from(data.subarray(start)));
      yield* lines;
    }
    if (carry.length > 0) yield Buffer.concat(carry).toString('utf8');
  } finally {
    await handle.close();
  }
}

/** A spill file in blocks of READ_BYTES, read into one buffer (each valid until the next). */
async function* readBlocks(file: string): AsyncGenerator<Buffer> {
  const handle = await open(file, 'r');
  try {
    const block = Buffer.allocUnsafeSlow(READ_BYTES);
    for (;;) {
      const { bytesRead } = await handle.read(block, 0, READ_BYTES, null);
      if (bytesRead === 0) break;
      yield block.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

/** The bucket's blocks, the last one cut to what is filled. */
function filled(bucket: Bucket): Buffer[] {
  const blocks = bucket.blocks.slice();
  const last = blocks.length - 1;
  if (last >= 0) blocks[last] = blocks[last].subarray(0, bucket.used);
  return blocks;
}

/** Feeds the bytes of the last block not yet hashed to the bucket's hash. */
function feedHash(bucket: Bucket): void {
  const block = bucket.blocks[bucket.blocks.length - 1];
  if (block === undefined || bucket.used === bucket.hashed) return;
  bucket.hash.update(block.subarray(bucket.hashed, bucket.used));
  bucket.hashed = bucket.used;
}

/** The non-empty lines of a block that ends with a line break. */
function linesOf(block: Buffer): string[] {
  const lines: string[] = [];
  let start = 0;
  for (let end = block.indexOf(NEWLINE); end !== -1; end = block.indexOf(NEWLINE, start)) {
    if (end > start) lines.push(block.toString('utf8', start, end));
    start = end + 1;
  }
  return lines;
}

/** Closes the month's spill file handle, if open. */
async function closeWriter(bucket: Bucket): Promise<void> {
  const writer = bucket.writer;
  if (writer === undefined) return;
  bucket.writer = undefined;
  await writer.then((handle) => handle.close()).catch(() => undefined);
}

export class MonthBuckets implements LineTarget {
  private readonly buckets = new Map<YearMonth, Bucket>();
  private inMemoryBytes = 0;
  private spilledBytes = 0;
  private readonly spilledMonths = new Set<YearMonth>();
  private spillDir: string | undefined;
  private disposed = false;
  /**
   * Full-size blocks written by a spill, used again by later lines: a large report then allocates
   * a few MiB of blocks once instead of leaving every spilled block to the garbage collector.
   */
  private readonly freeBlocks: Buffer[] = [];

  constructor(private readonly limits: BucketLimits) {}

  /** Synchronous so that it can be called from a streaming parser's callback. */
  add(month: YearMonth, line: string): void {
    const bucket = this.bucket(month);
    // At most 3 bytes per UTF-16 unit, plus the line break.
    const block = this.room(bucket, line.length * 3 + 1);
    bucket.used += block.write(line, bucket.used, 'utf8');
    block[bucket.used++] = NEWLINE;
    this.count(bucket, line.length);
  }

  startLine(month: YearMonth, room: number): OpenLine {
    const bucket = this.bucket(month);
    const block = this.room(bucket, room + 1);
    const line = (bucket.line ??= { block, start: 0, bucket });
    line.block = block;
    line.start = bucket.used;
    return line;
  }

  growLine(open: OpenLine, end: number, need: number): number {
    const line = open as Line;
    const { bucket, block: old, start } = line;
    // The old block ends where the line began; the line so far moves to the start of a new block.
    feedHash(bucket);
    if (start === 0) bucket.blocks.pop();
    else bucket.blocks[bucket.blocks.length - 1] = old.subarray(0, start);
    const block = this.newBlock(bucket, end - start + need + 1);
    old.copy(block, 0, start, end);
    line.block = block;
    line.start = 0;
    return end - start;
  }

  endLine(open: OpenLine, end: number, chars: number): void {
    const line = open as Line;
    line.block[end] = NEWLINE;
    line.bucket.used = end + 1;
    this.count(line.bucket, chars);
  }

  private bucket(month: YearMonth): Bucket {
    let bucket = this.buckets.get(month);
    if (!bucket)
      this.buckets.set(
        month,
        (bucket = { blocks: [], used: 0, bytes: 0, totalBytes: 0, hash: createHash('sha256'), hashed: 0 }),
      );
    return bucket;
  }

  /** The bucket's last block, a new one when it has fewer than `most` bytes free. */
  private room(bucket: Bucket, most: number): Buffer {
    const block = bucket.blocks[bucket.blocks.length - 1];
    if (block !== undefined && block.length - bucket.used >= most) return block;
    if (block !== undefined) {
      feedHash(bucket);
      bucket.blocks[bucket.blocks.length - 1] = block.subarray(0, bucket.used);
    }
    return this.newBlock(bucket, most);
  }

  /** Appends an empty block of at least `most` bytes to the bucket. */
  private newBlock(bucket: Bucket, most: number): Buffer {
    // Small while the bucket is small (many small reports), BLOCK_BYTES once it has grown.
    const size = Math.min(BLOCK_BYTES, Math.max(MIN_BLOCK_BYTES, bucket.bytes));
    const block =
      (size === BLOCK_BYTES && most <= BLOCK_BYTES && this.freeBlocks.pop()) ||
      Buffer.allocUnsafeSlow(Math.max(size, most));
    bucket.blocks.push(block);
    bucket.used = 0;
    bucket.hashed = 0;
    return block;
  }

  /** A line of `chars` UTF-16 units was added. */
  private count(bucket: Bucket, chars: number): void {
    bucket.bytes += chars;
    bucket.totalBytes += chars;
    this.inMemoryBytes += chars;
  }

  months(): YearMonth[] {
    return [...this.buckets.keys()].sort();
  }

  /** Characters ever added to the month, in memory and on disk. */
  totalBytes(month: YearMonth): number {
    return this.buckets.get(month)?.totalBytes ?? 0;
  }

  has(month: YearMonth): boolean {
    return this.buckets.has(month);
  }

  stats(): BucketStats {
    return {
      spilledMonths: [...this.spilledMonths].sort(),
      spilledBytes: this.spilledBytes,
      inMemoryBytes: this.inMemoryBytes,
    };
  }

  /** Writes over-threshold buckets to disk, then the largest ones until the memory budget holds. */
  async spillIfNeeded(): Promise<void> {
    for (const [month, bucket] of this.buckets) {
      if (bucket.bytes > this.limits.spillThresholdBytes) await this.spill(month, bucket);
    }
    while (this.inMemoryBytes > this.limits.memoryBudgetBytes) {
      const largest = this.largestInMemory();
      if (!largest) break;
      await this.spill(...largest);
    }
  }

  private largestInMemory(): [YearMonth, Bucket] | undefined {
    let best: [YearMonth, Bucket] | undefined;
    for (const entry of this.buckets) {
      if (entry[1].bytes > 0 && (!best || entry[1].bytes > best[1].bytes)) best = entry;
    }
    return best;
  }

  private async spill(month: YearMonth, bucket: Bucket): Promise<void> {
    if (bucket.blocks.length === 0) return;
    bucket.file ??= join(await this.ensureSpillDir(), `${month}.jsonl`);
    const file = bucket.file;
    feedHash(bucket);
    const blocks = filled(bucket);
    // The bucket is emptied before the write so that lines added meanwhile are not lost or doubled.
    const chars = bucket.bytes;
    bucket.blocks = [];
    bucket.used = 0;
    bucket.hashed = 0;
    bucket.bytes = 0;
    this.inMemoryBytes -= chars;
    // One handle per month for all its spills (a large report spills a few hundred times).
    bucket.writer ??= open(file, 'a', 0o600);
    const writer = bucket.writer;
    await onLocalStorage(`writing ${file}`, async () => (await writer).writev(blocks));
    for (const block of blocks)
      if (
        block.buffer.byteLength === BLOCK_BYTES &&
        this.freeBlocks.length * BLOCK_BYTES < this.limits.memoryBudgetBytes
      )
        this.freeBlocks.push(Buffer.from(block.buffer, 0, BLOCK_BYTES));
    this.spilledBytes += chars;
    this.spilledMonths.add(month);
  }

  private async ensureSpillDir(): Promise<string> {
    const parent = this.limits.tmpDir ?? tmpdir();
    this.spillDir ??= await makeLocalDirectory(parent, 'counter-split-', 'a spill directory');
    return this.spillDir;
  }

  /** The month's lines in insertion order: first those on disk, then those still in memory. */
  async *read(month: YearMonth): AsyncGenerator<string> {
    const bucket = this.buckets.get(month);
    if (!bucket) return;
    if (bucket.file) yield* readingLocalStorage(`reading ${bucket.file}`, readLines(bucket.file));
    for (const block of filled(bucket)) yield* linesOf(block);
  }

  /**
   * The month's lines as raw UTF-8 blocks in insertion order, each line followed by `\n`; a line may
   * continue in the next block. A block is valid until the next one is requested, and not to be
   * changed.
   */
  async *blocks(month: YearMonth): AsyncGenerator<Buffer> {
    const bucket = this.buckets.get(month);
    if (!bucket) return;
    if (bucket.file) yield* readingLocalStorage(`reading ${bucket.file}`, readBlocks(bucket.file));
    yield* filled(bucket);
  }

  /**
   * sha256 (hex) of the month's bytes as `blocks` yields them: its lines in UTF-8, each followed by
   * `\n`, the same as a hash fed each line's text and `\n`; fed while the lines were added, so a
   * spilled month is not read again for it. Undefined for a month without lines. After the first call
   * no more lines are to be added to the month.
   */
  digest(month: YearMonth): string | undefined {
    const bucket = this.buckets.get(month);
    if (!bucket) return undefined;
    if (bucket.digest === undefined) {
      feedHash(bucket);
      bucket.digest = bucket.hash.digest('hex');
    }
    return bucket.digest;
  }

  /** Frees a month's memory and deletes its spill file. */
  async release(month: YearMonth): Promise<void> {
    const bucket = this.buckets.get(month);
    if (!bucket) return;
    this.buckets.delete(month);
    this.inMemoryBytes -= bucket.bytes;
    await closeWriter(bucket);
    if (bucket.file) await unlink(bucket.file).catch(() => undefined);
  }

  /** Frees everything and removes the spill directory; safe to call more than once. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const buckets = [...this.buckets.values()];
    this.buckets.clear();
    await Promise.all(buckets.map(closeWriter));
    this.freeBlocks.length = 0;
    this.inMemoryBytes = 0;
    const dir = this.spillDir;
    if (dir) await removeLocal(dir);
  }
}
