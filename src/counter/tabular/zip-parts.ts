/**
 * The parts of a zip file on disk (an uploaded xlsx workbook), each read when its reader asks for it.
 * A zip's central directory, at its end, says where each part's data lies, so a part is read by its
 * position in the file, in whatever order the caller needs, instead of in the order the zip's stream
 * happens to bring them (see xlsxRows in ./rows.ts for why that order matters).
 *
 * Only what a workbook needs is taken: parts stored or deflated, in one file (no split archives), not
 * encrypted; zip64 sizes and offsets are understood. Only the directory entries the caller wants are
 * kept, so a zip of very many parts takes no more memory than one of a few. Memory stays bounded while
 * a part is read: its bytes are read in chunks of READ_BYTES and inflated as they are taken.
 *
 * A zip that is not one, or is cut short or broken, is a ZipFormatError (a fault of the file); the
 * file that cannot be opened or read is a LocalStorageError (../local-storage.ts), as it is the
 * harvester's copy of the upload in its temporary directory.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { pipeline, Readable } from 'node:stream';
import { createInflateRaw } from 'node:zlib';
import { onLocalStorage } from '../local-storage.ts';

/** The file is no zip this reader takes: a fault of the file. */
export class ZipFormatError extends Error {
  override name = 'ZipFormatError';
}

/** A part of the zip, as its central directory describes it. */
export interface ZipPart {
  readonly name: string;
  /** 0 stored, 8 deflated (anything else is refused when the part is read). */
  readonly method: number;
  readonly flags: number;
  readonly compressedSize: number;
  /** Where the part's local header starts in the file. */
  readonly headerOffset: number;
}

const READ_BYTES = 256 * 1024;
const END_RECORD = 0x06054b50;
const END_RECORD_BYTES = 22;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_LOCATOR_BYTES = 20;
const ZIP64_END_RECORD = 0x06064b50;
const ZIP64_END_RECORD_BYTES = 56;
const DIRECTORY_HEADER = 0x02014b50;
const DIRECTORY_HEADER_BYTES = 46;
const LOCAL_HEADER = 0x04034b50;
const LOCAL_HEADER_BYTES = 30;
const ZIP64_EXTRA = 0x0001;
/** The longest comment a zip's end record can have (its length is 16 bits). */
const MAX_COMMENT = 0xffff;

function bigToNumber(value: bigint, what: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new ZipFormatError(`${what} is out of range`);
  return Number(value);
}

export class ZipParts {
  private constructor(
    private readonly handle: FileHandle,
    readonly path: string,
    private readonly size: number,
    /** The wanted parts, in the order of their data in the file. */
    readonly parts: readonly ZipPart[],
  ) {}

  /**
   * Opens the zip at `path` and reads its central directory, keeping the parts whose names `wanted`
   * accepts. Close it when done (also after a failure of a read).
   */
  static async open(path: string, wanted: (name: string) => boolean): Promise<ZipParts> {
    const handle = await onLocalStorage(`reading ${path}`, () => open(path, 'r'));
    try {
      const { size } = await onLocalStorage(`reading ${path}`, () => handle.stat());
      const parts = await readDirectory(handle, path, size, wanted);
      parts.sort((a, b) => a.headerOffset - b.headerOffset);
      return new ZipParts(handle, path, size, parts);
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw error;
    }
  }

  /** The wanted part named `name` (the first in the file if the name is there twice), if there is one. */
  part(name: string): ZipPart | undefined {
    return this.parts.find((part) => part.name === name);
  }

  /**
   * The part's content, streamed (a Readable of Buffers). A failure arrives as the stream's error:
   * ZipFormatError or zlib's error for a broken part, LocalStorageError for a failing read. Destroying
   * the stream stops the reading.
   */
  read(part: ZipPart): Readable {
    const raw = Readable.from(this.bytes(part), { objectMode: false });
    if (part.method !== 8) return raw;
    const inflater = createInflateRaw();
    // pipeline destroys both streams with an error of either (so the reader's error reaches the
    // inflater's consumer), and stops the reading when the inflater is destroyed early.
    pipeline(raw, inflater, () => undefined);
    return inflater;
  }

  close(): Promise<void> {
    return this.handle.close();
  }

  /** The part's bytes as they lie in the file (compressed or not). */
  private async *bytes(part: ZipPart): AsyncGenerator<Buffer> {
    if (part.flags & 0x01) throw new ZipFormatError(`${part.name} is encrypted`);
    if (part.method !== 0 && part.method !== 8)
      throw new ZipFormatError(`${part.name} uses compression method ${part.method} (only 0 and 8 are read)`);
    const header = await this.readAt(
      part.headerOffset,
      LOCAL_HEADER_BYTES,
      `the local header of ${part.name}`,
    );
    if (header.readUInt32LE(0) !== LOCAL_HEADER)
      throw new ZipFormatError(`no local header of ${part.name} where the central directory puts it`);
    // The local header's own sizes may be zero (written before the data was known): the central
    // directory's sizes are taken; only its name and extra field lengths are needed here.
    let position = part.headerOffset + LOCAL_HEADER_BYTES + header.readUInt16LE(26) + header.readUInt16LE(28);
    const end = position + part.compressedSize;
    if (end > this.size) throw new ZipFormatError(`the file ends inside ${part.name}`);
    while (position < end) {
      const chunk = await this.readAt(position, Math.min(READ_BYTES, end - position), part.name);
      position += chunk.length;
      yield chunk;
    }
  }

  private readAt(position: number, length: number, what: string): Promise<Buffer> {
    return readAt(this.handle, this.path, this.size, position, length, what);
  }
}

/** `length` bytes at `position` (a new buffer); the file ending before them is a ZipFormatError. */
async function readAt(
  handle: FileHandle,
  path: string,
  size: number,
  position: number,
  length: number,
  what: string,
): Promise<Buffer> {
  if (position < 0 || position + length > size) throw new ZipFormatError(`the file ends inside ${what}`);
  const buffer = Buffer.allocUnsafe(length);
  for (let done = 0; done < length;) {
    const { bytesRead } = await onLocalStorage(`reading ${path}`, () =>
      handle.read(buffer, done, length - done, position + done),
    );
    if (bytesRead === 0) throw new ZipFormatError(`the file ends inside ${what}`);
    done += bytesRead;
  }
  return buffer;
}

interface Directory {
  entries: number;
  offset: number;
  size: number;
}

/** Where the central directory lies, from the end record (and its zip64 twin when there is one). */
async function findDirectory(handle: FileHandle, path: string, size: number): Promise<Directory> {
  if (size < END_RECORD_BYTES) throw new ZipFormatError('not a zip file (too short for its end record)');
  const tailStart = Math.max(0, size - END_RECORD_BYTES - MAX_COMMENT);
  const tail = await readAt(handle, path, size, tailStart, size - tailStart, 'the end record');
  // The last end record whose comment fits in the file (a comment may itself hold the signature).
  let at = -1;
  for (let i = tail.length - END_RECORD_BYTES; i >= 0; i -= 1)
    if (
      tail.readUInt32LE(i) === END_RECORD &&
      i + END_RECORD_BYTES + tail.readUInt16LE(i + 20) <= tail.length
    ) {
      at = i;
      break;
    }
  if (at < 0) throw new ZipFormatError('not a zip file (no end of central directory record)');
  if (tail.readUInt16LE(at + 4) !== 0 || tail.readUInt16LE(at + 6) !== 0)
    throw new ZipFormatError('a zip split across several files is not read');
  let directory: Directory = {
    entries: tail.readUInt16LE(at + 10),
    size: tail.readUInt32LE(at + 12),
    offset: tail.readUInt32LE(at + 16),
  };
  if (directory.entries === 0xffff || directory.size === 0xffffffff || directory.offset === 0xffffffff) {
    const endAt = tailStart + at;
    const locator = await readAt(
      handle,
      path,
      size,
      endAt - ZIP64_LOCATOR_BYTES,
      ZIP64_LOCATOR_BYTES,
      'the zip64 end record locator',
    );
    // Without the locator the values above are the real ones (a zip of exactly 65,535 parts).
    if (locator.readUInt32LE(0) === ZIP64_LOCATOR) {
      const recordAt = bigToNumber(locator.readBigUInt64LE(8), 'the zip64 end record offset');
      const record = await readAt(
        handle,
        path,
        size,
        recordAt,
        ZIP64_END_RECORD_BYTES,
        'the zip64 end record',
      );
      if (record.readUInt32LE(0) !== ZIP64_END_RECORD)
        throw new ZipFormatError('no zip64 end record where its locator puts it');
      directory = {
        entries: bigToNumber(record.readBigUInt64LE(32), 'the number of parts'),
        size: bigToNumber(record.readBigUInt64LE(40), 'the central directory size'),
        offset: bigToNumber(record.readBigUInt64LE(48), 'the central directory offset'),
      };
    }
  }
  if (directory.offset + directory.size > size)
    throw new ZipFormatError('the file ends inside its central directory');
  return directory;
}

/** The directory entries `wanted` accepts, read in chunks (the directory is not held whole). */
async function readDirectory(
  handle: FileHandle,
  path: string,
  size: number,
  wanted: (name: string) => boolean,
): Promise<ZipPart[]> {
  const directory = await findDirectory(handle, path, size);
  const end = directory.offset + directory.size;
  let next = directory.offset;
  let buffered: Buffer = Buffer.alloc(0);
  /** At least `length` bytes of the directory in `buffered`, read on as needed. */
  const need = async (length: number): Promise<void> => {
    while (buffered.length < length) {
      if (next >= end) throw new ZipFormatError('the central directory ends inside an entry');
      const chunk = await readAt(
        handle,
        path,
        size,
        next,
        Math.min(READ_BYTES, end - next),
        'the central directory',
      );
      next += chunk.length;
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    }
  };
  const parts: ZipPart[] = [];
  for (let i = 0; i < directory.entries; i += 1) {
    await need(DIRECTORY_HEADER_BYTES);
    if (buffered.readUInt32LE(0) !== DIRECTORY_HEADER)
      throw new ZipFormatError(`central directory entry ${i + 1} has no valid signature`);
    const nameLength = buffered.readUInt16LE(28);
    const extraLength = buffered.readUInt16LE(30);
    const entryLength = DIRECTORY_HEADER_BYTES + nameLength + extraLength + buffered.readUInt16LE(32);
    await need(entryLength);
    const name = buffered.toString('utf8', DIRECTORY_HEADER_BYTES, DIRECTORY_HEADER_BYTES + nameLength);
    if (wanted(name)) {
      const extraStart = DIRECTORY_HEADER_BYTES + nameLength;
      const sizes = zip64Values(buffered.subarray(extraStart, extraStart + extraLength), {
        uncompressed: buffered.readUInt32LE(24),
        compressed: buffered.readUInt32LE(20),
        offset: buffered.readUInt32LE(42),
      });
      parts.push({
        name,
        flags: buffered.readUInt16LE(8),
        method: buffered.readUInt16LE(10),
        compressedSize: sizes.compressed,
        headerOffset: sizes.offset,
      });
    }
    buffered = buffered.subarray(entryLength);
  }
  return parts;
}

interface EntryValues {
  uncompressed: number;
  compressed: number;
  offset: number;
}

/** The entry's sizes and offset, those that are 0xffffffff taken from its zip64 extra field. */
function zip64Values(extra: Buffer, values: EntryValues): EntryValues {
  const missing = (['uncompressed', 'compressed', 'offset'] as const).filter(
    (key) => values[key] === 0xffffffff,
  );
  if (missing.length === 0) return values;
  for (let at = 0; at + 4 <= extra.length;) {
    const id = extra.readUInt16LE(at);
    const length = extra.readUInt16LE(at + 2);
    if (id === ZIP64_EXTRA) {
      const result = { ...values };
      // The field holds, in this order, only the values missing from the entry itself.
      missing.forEach((key, index) => {
        const from = at + 4 + 8 * index;
        if (from + 8 > at + 4 + length || from + 8 > extra.length)
          throw new ZipFormatError('a zip64 extra field is too short');
        result[key] = bigToNumber(extra.readBigUInt64LE(from), `a zip64 ${key} value`);
      });
      return result;
    }
    at += 4 + length;
  }
  throw new ZipFormatError('an entry lacks the zip64 extra field its sizes call for');
}
