/**
 * ZipParts reads the parts of a zip file on disk by their place in it, whatever their order: stored or
 * deflated, with data descriptors, in zip64 form, behind a comment; it keeps only the parts asked for.
 * A file that is no zip, is cut short, or has a broken or unreadable part is a ZipFormatError (or
 * zlib's error), never a LocalStorageError; a part's stream can be left early.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
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
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const layouts: [string, ZipLayout][] = [
    ['deflated', {}],
    ['stored', { method: 0 }],
    ['deflated with data descriptors', { descriptors: true }],
    ['zip64', { zip64: true }],
    ['zip64 with data descriptors, stored', { zip64: true, descriptors: true, method: 0 }],
    ['with a comment that holds an end record signature', { comment: 'PK\u0005\u0006 not the end record' }],
  ];
  for (const [what, layout] of layouts)
    it(`${what}: every part read back in any order, byte for byte`, async () => {
      const zip = await ZipParts.open(await fileOf(writeZip(PARTS, layout)), () => true);
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

  it('a part left after its first chunk: the file still closes, other parts still read', async () => {
    const zip = await ZipParts.open(await fileOf(writeZip(PARTS, { method: 0 })), () => true);
    try {
      for await (const chunk of zip.read(zip.part('dir/b.bin')!)) {
        assert.ok(chunk.length > 0);
        break;
      }
      assert.equal((await contentOf(zip.read(zip.part('a.xml')!))).toString(), '<a>first</a>');
    } finally {
      await zip.close();
    }
  });

  it('a read of the file failing under a deflated part: its stream fails with the LocalStorageError', async () => {
    const zip = await ZipParts.open(await fileOf(writeZip(PARTS)), () => true);
    // Closed under the reader: every further read of the file fails (EBADF), as a failing disk's would.
    await zip.close();
    await assert.rejects(contentOf(zip.read(zip.part('c.xml')!)), (error: unknown) => {
      assert.ok(error instanceof LocalStorageError, String(error));
      assert.match(error.message, /failed reading .*\.zip: /);
      return true;
    });
  });

  const isFileFault = (message: RegExp) => (error: unknown) => {
    assert.ok(!(error instanceof LocalStorageError), String(error));
    assert.ok(error instanceof ZipFormatError, String(error));
    assert.match(error.message, message);
    return true;
  };

  it('a file that is no zip: ZipFormatError', async () => {
    const path = await fileOf(Buffer.from('not a zip at all, but long enough for an end record'));
    await assert.rejects(
      ZipParts.open(path, () => true),
      isFileFault(/no end of central directory record/),
    );
    await assert.rejects(
      ZipParts.open(await fileOf(Buffer.from('PK')), () => true),
      isFileFault(/too short/),
    );
  });

  it('a zip cut short: ZipFormatError', async () => {
    const whole = writeZip(PARTS);
    await assert.rejects(
      ZipParts.open(await fileOf(whole.subarray(0, whole.length - 10)), () => true),
      isFileFault(/no end of central directory record/),
    );
    // The end record kept, the parts before it cut away.
    const directoryAt = whole.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    const cut = Buffer.concat([whole.subarray(0, 1000), whole.subarray(directoryAt)]);
    await assert.rejects(
      ZipParts.open(await fileOf(cut), () => true),
      isFileFault(/central directory/),
    );
  });

  it('a broken deflated part: its stream fails with zlib’s error, not a LocalStorageError', async () => {
    const whole = writeZip([['x.xml', Buffer.from('<x>'.padEnd(5000, 'y') + '</x>')]]);
    // The deflated data starts after the 30-byte local header and the name; garble its middle.
    const broken = Buffer.from(whole);
    for (let i = 40; i < 60; i += 1) broken[i] = 0xff;
    const zip = await ZipParts.open(await fileOf(broken), () => true);
    try {
      await assert.rejects(contentOf(zip.read(zip.part('x.xml')!)), (error: unknown) => {
        assert.ok(!(error instanceof LocalStorageError), String(error));
        assert.match(String((error as { code?: unknown }).code), /^Z_/);
        return true;
      });
    } finally {
      await zip.close();
    }
  });

  it('an encrypted part or an unknown compression method: ZipFormatError when it is read', async () => {
    const whole = writeZip([['x.xml', Buffer.from('<x/>')]], { method: 0 });
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
