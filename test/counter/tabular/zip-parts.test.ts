/**
 * ZipParts reads the parts of a zip file on disk by their place in it, whatever their order: stored or
 * deflated, with data descriptors, in zip64 form, behind a comment; it keeps only the parts asked for.
 * A file that is no zip, is cut short, or has a broken or unreadable part is a ZipFormatError, never a
 * LocalStorageError; a failing read of the disk is a LocalStorageError; a part's stream can be left
 * early; the file is closed in every case.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readdir, readlink, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it, mock } from 'node:test';
import { LocalStorageError } from '../../../src/counter/index.ts';
import { ZipFormatError, ZipParts } from '../../../src/counter/tabular/zip-parts.ts';
import { writeZip, type ZipLayout } from '../../helpers/zip.ts';

/** Parts of several sizes: one larger than a read (256 KiB) and poorly compressible, one empty. */
const PARTS: [string, Buffer][] = [
  ['a.xml', Buffer.from('<a>first</a>')],
  ['dir/b.bin', randomBytes(600 * 1024)],
  ['empty.txt', Buffer.alloc(0)],
  ['c.xml', Buffer.from('<c>'.padEnd(100_000, 'x') + '</c>')],
];

async function contentOf(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Asserts that no file descriptor of this process is open on `path` (Linux: /proc/self/fd). */
async function assertClosed(path: string): Promise<void> {
  const open: string[] = [];
  for (const fd of await readdir('/proc/self/fd'))
    if ((await readlink(`/proc/self/fd/${fd}`).catch(() => '')) === path) open.push(fd);
  assert.deepEqual(open, [], `file descriptors left open on ${path}`);
}

/**
 * Every read of a file through a FileHandle (which ZipParts reads with) at a position `fails` picks
 * fails with EIO, as a failing disk's would; other reads work. Undone after each test.
 */
async function failingReads(fails: (position: number) => boolean): Promise<void> {
  const handle = await open(import.meta.filename, 'r');
  const prototype = Object.getPrototypeOf(handle) as {
    read: (this: FileHandle, ...args: unknown[]) => Promise<unknown>;
  };
  await handle.close();
  const read = prototype.read;
  mock.method(prototype, 'read', function (this: FileHandle, ...args: unknown[]) {
    if (typeof args[3] === 'number' && fails(args[3]))
      return Promise.reject(
        Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO', errno: -5, syscall: 'read' }),
      );
    return read.apply(this, args);
  });
}

describe('ZipParts', () => {
  let dir: string;
  let n = 0;
  const fileOf = async (bytes: Uint8Array): Promise<string> => {
    const path = join(dir, `zip-${(n += 1)}.zip`);
    await writeFile(path, bytes);
    return path;
  };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'zip-parts-test-'));
  });
  afterEach(() => {
    mock.restoreAll();
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const layouts: [string, ZipLayout][] = [
    ['deflated', {}],
    ['stored', { method: 0 }],
    ['deflated with data descriptors', { descriptors: true }],
    ['zip64', { zip64: true }],
    ['zip64 with data descriptors, stored', { zip64: true, descriptors: true, method: 0 }],
    ['with a comment', { comment: 'made by a test' }],
  ];
  for (const [what, layout] of layouts)
    it(`${what}: every part read back in any order, byte for byte; the file closed after`, async () => {
      const path = await fileOf(writeZip(PARTS, layout));
      const zip = await ZipParts.open(path, () => true);
      try {
        assert.deepEqual(
          zip.parts.map((part) => part.name),
          PARTS.map(([name]) => name),
          'the parts in the order of the file',
        );
        for (const [name, content] of [...PARTS].reverse()) {
          const part = zip.part(name);
          assert.ok(part, name);
          assert.ok((await contentOf(zip.read(part))).equals(content), name);
        }
      } finally {
        await zip.close();
      }
      await assertClosed(path);
    });

  it('keeps only the parts asked for', async () => {
    const zip = await ZipParts.open(await fileOf(writeZip(PARTS)), (name) => name.endsWith('.xml'));
    try {
      assert.deepEqual(
        zip.parts.map((part) => part.name),
        ['a.xml', 'c.xml'],
      );
      assert.equal(zip.part('dir/b.bin'), undefined);
    } finally {
      await zip.close();
    }
  });

  // With yauzl 3.4.0's own file reader (yauzl.open) this ended the process: the left part's next read,
  // queued behind the next part's first read, ran after its stream had let go of the file (TypeError,
  // "reading 'fd'", thrown from an fs callback). ZipParts reads the file through a FileHandle instead.
  for (const method of [0, 8])
    it(`a part left after its first chunk (${method === 0 ? 'stored' : 'deflated'}): other parts still read, the file closes`, async () => {
      const path = await fileOf(writeZip(PARTS, { method }));
      const zip = await ZipParts.open(path, () => true);
      try {
        for await (const chunk of zip.read(zip.part('dir/b.bin')!)) {
          assert.ok(chunk.length > 0);
          break;
        }
        assert.equal((await contentOf(zip.read(zip.part('a.xml')!))).toString(), '<a>first</a>');
        // A stream made and never read holds nothing open.
        zip.read(zip.part('c.xml')!);
      } finally {
        await zip.close();
      }
      await assertClosed(path);
    });

  const isStorageFault = (error: unknown) => {
    assert.ok(error instanceof LocalStorageError, String(error));
    assert.equal(error.code, 'EIO');
    assert.match(error.message, /failed reading .*\.zip: EIO/);
    return true;
  };

  /** Where the part named `name` has its local header in `zip`, and its data ends. */
  const placeOf = (zip: ZipParts, name: string): { header: number; end: number } => {
    const { entry } = zip.part(name)!;
    const header = entry.relativeOffsetOfLocalHeader;
    return { header, end: header + 30 + name.length + entry.compressedSize };
  };

  for (const [what, fails] of [
    ['its local header', (at: number, part: { header: number }) => at === part.header],
    // b.bin is 600 KiB, read in chunks of 64 KiB.
    [
      'its data, after the first chunks',
      (at: number, part: { header: number }) => at > part.header + 200_000,
    ],
  ] as const)
    for (const method of [0, 8])
      it(`a read of the disk failing in ${what} (${method === 0 ? 'stored' : 'deflated'}): the part's stream fails with a LocalStorageError, the file closes`, async () => {
        const path = await fileOf(writeZip(PARTS, { method }));
        const zip = await ZipParts.open(path, () => true);
        try {
          const part = placeOf(zip, 'dir/b.bin');
          await failingReads((at) => at < part.end && fails(at, part));
          let chunks = 0;
          await assert.rejects(async () => {
            for await (const _chunk of zip.read(zip.part('dir/b.bin')!)) chunks += 1;
          }, isStorageFault);
          if (what !== 'its local header') assert.ok(chunks > 0, 'the first chunks were read');
          mock.restoreAll();
          assert.equal((await contentOf(zip.read(zip.part('a.xml')!))).toString(), '<a>first</a>');
        } finally {
          mock.restoreAll();
          await zip.close();
        }
        await assertClosed(path);
      });

  it('a read of the disk failing in the central directory: LocalStorageError, the file closed', async () => {
    const whole = writeZip(PARTS);
    const directoryAt = whole.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    const path = await fileOf(whole);
    // yauzl reads the file's end first, then the directory entry by entry from its start.
    await failingReads((at) => at === directoryAt);
    await assert.rejects(
      ZipParts.open(path, () => true),
      isStorageFault,
    );
    mock.restoreAll();
    await assertClosed(path);
  });

  it('a file that cannot be opened: LocalStorageError', async () => {
    await assert.rejects(
      ZipParts.open(join(dir, 'missing.zip'), () => true),
      (error: unknown) => {
        assert.ok(error instanceof LocalStorageError, String(error));
        assert.equal(error.code, 'ENOENT');
        return true;
      },
    );
  });

  const isFileFault = (message: RegExp) => (error: unknown) => {
    assert.ok(!(error instanceof LocalStorageError), String(error));
    assert.ok(error instanceof ZipFormatError, String(error));
    assert.match(error.message, message);
    return true;
  };

  it('a file that is no zip: ZipFormatError, the file closed', async () => {
    for (const bytes of ['not a zip at all, but long enough for an end record', 'PK']) {
      const path = await fileOf(Buffer.from(bytes));
      await assert.rejects(
        ZipParts.open(path, () => true),
        isFileFault(/^not a zip file or a broken one: /),
      );
      await assertClosed(path);
    }
  });

  it('a zip cut short: ZipFormatError, the file closed', async () => {
    const whole = writeZip(PARTS);
    // The end record cut away.
    const noEnd = await fileOf(whole.subarray(0, whole.length - 10));
    await assert.rejects(
      ZipParts.open(noEnd, () => true),
      isFileFault(/^not a zip file or a broken one: /),
    );
    await assertClosed(noEnd);
    // The end record kept, the parts before it cut away: the central directory is not where it says.
    const directoryAt = whole.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    const cut = await fileOf(Buffer.concat([whole.subarray(0, 1000), whole.subarray(directoryAt)]));
    await assert.rejects(
      ZipParts.open(cut, () => true),
      isFileFault(/^not a zip file or a broken one: /),
    );
    await assertClosed(cut);
  });

  it('a comment that holds an end record signature: ZipFormatError (yauzl refuses the ambiguous end)', async () => {
    const path = await fileOf(writeZip(PARTS, { comment: 'PK\u0005\u0006 not the end record' }));
    await assert.rejects(
      ZipParts.open(path, () => true),
      isFileFault(/comment length/),
    );
    await assertClosed(path);
  });

  it('a broken deflated part: its stream fails with a ZipFormatError (zlib’s error its cause)', async () => {
    const whole = writeZip([['x.xml', Buffer.from('<x>'.padEnd(5000, 'y') + '</x>')]]);
    // The deflated data starts after the 30-byte local header and the name; garble its middle.
    const broken = Buffer.from(whole);
    for (let i = 40; i < 60; i += 1) broken[i] = 0xff;
    const path = await fileOf(broken);
    const zip = await ZipParts.open(path, () => true);
    try {
      await assert.rejects(contentOf(zip.read(zip.part('x.xml')!)), (error: unknown) => {
        isFileFault(/^a broken part x\.xml: /)(error);
        assert.match(String((error as Error & { cause?: { code?: unknown } }).cause?.code), /^Z_/);
        return true;
      });
    } finally {
      await zip.close();
    }
    await assertClosed(path);
  });

  it('a part whose data is longer or shorter than its directory entry says: ZipFormatError', async () => {
    const content = Buffer.from('<x>'.padEnd(5000, 'y') + '</x>');
    const whole = writeZip([['x.xml', content]]);
    const directoryAt = whole.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    for (const [size, message] of [
      [content.length - 1, /too many bytes/],
      [content.length + 1, /not enough bytes/],
    ] as const) {
      const wrong = Buffer.from(whole);
      wrong.writeUInt32LE(size, directoryAt + 24);
      const zip = await ZipParts.open(await fileOf(wrong), () => true);
      try {
        await assert.rejects(contentOf(zip.read(zip.part('x.xml')!)), isFileFault(message));
      } finally {
        await zip.close();
      }
    }
  });

  it('an encrypted part or an unknown compression method: ZipFormatError when it is read', async () => {
    // Deflated: a stored part's sizes would not match those of an encrypted one, refused already.
    const whole = writeZip([['x.xml', Buffer.from('<x/>')]]);
    const directoryAt = whole.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    const encrypted = Buffer.from(whole);
    encrypted.writeUInt16LE(0x0801, directoryAt + 8);
    const bzip2 = Buffer.from(whole);
    bzip2.writeUInt16LE(12, directoryAt + 10);
    for (const [bytes, message] of [
      [encrypted, /x\.xml is encrypted/],
      [bzip2, /x\.xml uses compression method 12/],
    ] as const) {
      const zip = await ZipParts.open(await fileOf(bytes), () => true);
      try {
        await assert.rejects(contentOf(zip.read(zip.part('x.xml')!)), isFileFault(message));
      } finally {
        await zip.close();
      }
    }
  });
});
