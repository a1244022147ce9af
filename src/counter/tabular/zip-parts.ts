/**
 * The parts of a zip file on disk (an uploaded xlsx workbook), each read when its reader asks for it,
 * in whatever order the caller needs instead of the order the zip's stream brings them (see xlsxRows
 * in ./rows.ts for why that order matters). A thin wrapper around yauzl, which reads the central
 * directory with random access (zip64 included), validates the entries' sizes and streams each part
 * from its place in the file (docs/decisions.md, "exceljs's streaming reader given the parts in the
 * order it needs").
 *
 * Only the directory entries the caller wants are kept, and a part is streamed (inflated as it is
 * read), so memory stays bounded whatever the size or number of the parts.
 *
 * A zip that is not one, or is cut short or broken (a part's data included), is a ZipFormatError: a
 * fault of the file. A file-system error of opening or reading the file is a LocalStorageError
 * (../local-storage.ts), as the file is the harvester's copy of the upload in its temporary directory.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import yauzl, { type Entry, type ZipFile } from 'yauzl';
import { LocalStorageError, onLocalStorage } from '../local-storage.ts';

/** The file is no zip this reader takes: a fault of the file. */
export class ZipFormatError extends Error {
  override name = 'ZipFormatError';
}

/** A part of the zip, as its central directory describes it. */
export interface ZipPart {
  readonly name: string;
  readonly entry: Entry;
}

/** The most read from the file at once. */
const READ_BYTES = 64 * 1024;

/**
 * yauzl's access to the file, through a FileHandle of ours. yauzl's own reader of a file (`open`,
 * `fromFd`) is not used: in 3.4.0 a part's stream destroyed while its next read waits behind a read
 * of another part throws a TypeError out of an fs callback (its read job runs after the stream let go
 * of the file), which would end the process; a reader stops a part early and goes on to the next one.
 * (Nor is the FileHandle's createReadStream: destroying one closes the handle, autoClose or not.)
 * yauzl counts the streams reading through it and calls `close` when the last one is done after the
 * zip was closed; the FileHandle waits for reads under way before it closes.
 */
class FileReader extends yauzl.RandomAccessReader {
  constructor(private readonly handle: FileHandle) {
    super();
  }

  /** The bytes from `start` to `end` (exclusive); yauzl reports the file ending before `end`. */
  override _readStreamForRange(start: number, end: number): Readable {
    const handle = this.handle;
    async function* bytes(): AsyncGenerator<Buffer> {
      for (let at = start; at < end;) {
        const length = Math.min(READ_BYTES, end - at);
        const { bytesRead, buffer } = await handle.read(Buffer.allocUnsafe(length), 0, length, at);
        if (bytesRead === 0) return;
        at += bytesRead;
        yield buffer.subarray(0, bytesRead);
      }
    }
    return Readable.from(bytes(), { objectMode: false });
  }

  /**
   * `length` bytes at `position` into `buffer`, fewer only where the file ends. Read here, not through
   * a stream as yauzl's default does: that stream's failure would keep its hold on the file for good.
   */
  override read(
    buffer: Buffer,
    offset: number,
    length: number,
    position: number,
    callback: (error: Error | null, bytesRead?: number) => void,
  ): void {
    const readAll = async (): Promise<number> => {
      let done = 0;
      while (done < length) {
        const { bytesRead } = await this.handle.read(buffer, offset + done, length - done, position + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return done;
    };
    readAll().then((bytesRead) => callback(null, bytesRead), callback);
  }

  override close(callback: (error: Error | null) => void): void {
    this.handle.close().then(() => callback(null), callback);
  }
}

/**
 * `error` as what it is about: a file-system error (it names a system call) is the temporary
 * storage's; anything else yauzl or zlib raise is the file's, `what` saying where it was met.
 */
function fault(path: string, what: string, error: unknown): Error {
  if (error instanceof LocalStorageError || error instanceof ZipFormatError) return error;
  if (typeof (error as { syscall?: unknown } | null)?.syscall === 'string')
    return new LocalStorageError(`reading ${path}`, error);
  return new ZipFormatError(`${what}: ${error instanceof Error ? error.message : String(error)}`, {
    cause: error,
  });
}

export class ZipParts {
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly zipfile: ZipFile,
    readonly path: string,
    /** The wanted parts, in the order of their data in the file. */
    readonly parts: readonly ZipPart[],
  ) {}

  /**
   * Opens the zip at `path` and reads its central directory, keeping the parts whose names `wanted`
   * accepts. Close it when done (also after a failure of a read); a failure here leaves it closed.
   */
  static async open(path: string, wanted: (name: string) => boolean): Promise<ZipParts> {
    const what = 'not a zip file or a broken one';
    const handle = await onLocalStorage(`reading ${path}`, () => open(path, 'r'));
    let zipfile: ZipFile;
    try {
      const { size } = await handle.stat();
      zipfile = await yauzl.fromRandomAccessReaderPromise(new FileReader(handle), size, {
        autoClose: false,
      });
    } catch (error) {
      // Without a zipfile yauzl never closes the reader.
      await handle.close().catch(() => undefined);
      throw fault(path, what, error);
    }
    // Errors reach the caller through eachEntry and close; this keeps one arriving at another time
    // (the file failing to close after a failed listing) from being thrown as an uncaught 'error'.
    zipfile.on('error', () => undefined);
    const parts: ZipPart[] = [];
    try {
      for await (const entry of zipfile.eachEntry())
        if (wanted(entry.fileName)) parts.push({ name: entry.fileName, entry });
    } catch (error) {
      zipfile.close();
      // No part is being read, so yauzl has begun to close the file: this waits for that close.
      await handle.close().catch(() => undefined);
      throw fault(path, what, error);
    }
    parts.sort((a, b) => a.entry.relativeOffsetOfLocalHeader - b.entry.relativeOffsetOfLocalHeader);
    return new ZipParts(zipfile, path, parts);
  }

  /** The wanted part named `name` (the first in the file if the name is there twice), if there is one. */
  part(name: string): ZipPart | undefined {
    return this.parts.find((part) => part.name === name);
  }

  /**
   * The part's content, streamed (a Readable of Buffers), the file read from when the stream is first
   * read. A failure arrives as the stream's error: ZipFormatError for a broken, encrypted or
   * unreadable part, LocalStorageError for a failing read. Destroying the stream stops the reading.
   */
  read(part: ZipPart): Readable {
    return Readable.from(this.content(part), { objectMode: false });
  }

  /**
   * Closes the zip. The file is closed once every part's stream has ended or been destroyed; the
   * promise waits for that.
   */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve, reject) => {
      this.zipfile.once('close', resolve);
      this.zipfile.once('error', (error) => reject(new LocalStorageError(`closing ${this.path}`, error)));
      this.zipfile.close();
    });
    return this.closing;
  }

  private async *content({ name, entry }: ZipPart): AsyncGenerator<Buffer> {
    if (entry.isEncrypted()) throw new ZipFormatError(`${name} is encrypted`);
    if (!entry.canDecodeFileData())
      throw new ZipFormatError(
        `${name} uses compression method ${entry.compressionMethod} (only 0 and 8 are read)`,
      );
    if (this.closing) throw new Error(`${name} read after ${this.path} was closed`);
    let stream: Readable | undefined;
    try {
      stream = await this.zipfile.openReadStreamPromise(entry);
      for await (const chunk of stream) yield chunk as Buffer;
    } catch (error) {
      throw fault(this.path, `a broken part ${name}`, error);
    } finally {
      // Lets go of the file, also when the reader stops early.
      stream?.destroy();
    }
  }
}
