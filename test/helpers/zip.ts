/**
 * Zip files laid out as a test needs: the parts in a chosen order, stored or deflated, with or without
 * data descriptors (sizes written after the data, zero in the local header, as streaming writers do),
 * in zip64 form (sizes and offsets in zip64 extra fields, a zip64 end record and its locator), with a
 * comment. Written here by hand from the zip format (PKWARE's APPNOTE) so that every byte's place is
 * known; `partsOf` takes a workbook apart with yauzl (the reader the harvester uses too).
 */
import { buffer } from 'node:stream/consumers';
import { crc32, deflateRawSync } from 'node:zlib';
import yauzl from 'yauzl';

export interface ZipLayout {
  /** 0 stored, 8 deflated (default 8). */
  method?: number;
  /** Sizes and CRC after each part's data, zero in its local header. */
  descriptors?: boolean;
  zip64?: boolean;
  comment?: string;
}

/** The parts of a zip (names and contents, in the zip's order), directories left out. */
export async function partsOf(zip: Uint8Array): Promise<[string, Buffer][]> {
  const zipfile = await yauzl.fromBufferPromise(Buffer.from(zip));
  const parts: [string, Buffer][] = [];
  for await (const entry of zipfile.eachEntry())
    if (!entry.fileName.endsWith('/'))
      parts.push([entry.fileName, await buffer(await zipfile.openReadStreamPromise(entry))]);
  return parts;
}

/** `parts` moved so that those named in `first` come first, in that order; the rest keep theirs. */
export function reorder(parts: [string, Buffer][], first: string[]): [string, Buffer][] {
  const named = first.map((name) => {
    const part = parts.find(([n]) => n === name);
    if (!part) throw new Error(`no part ${name}`);
    return part;
  });
  return [...named, ...parts.filter(([name]) => !first.includes(name))];
}

function u16(value: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(value);
  return b;
}
function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value);
  return b;
}
function u64(value: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(value));
  return b;
}

/** A zip of `parts`, in their order, laid out as `layout` says. */
export function writeZip(parts: [string, Uint8Array][], layout: ZipLayout = {}): Buffer {
  const method = layout.method ?? 8;
  const flags = (layout.descriptors ? 0x08 : 0) | 0x800;
  const chunks: Buffer[] = [];
  const directory: Buffer[] = [];
  let offset = 0;
  const push = (b: Buffer) => {
    chunks.push(b);
    offset += b.length;
  };
  for (const [name, content] of parts) {
    const nameBytes = Buffer.from(name, 'utf8');
    const data = method === 8 ? deflateRawSync(content) : Buffer.from(content);
    const crc = crc32(content);
    const headerAt = offset;
    const local = layout.descriptors ? [0, 0, 0] : [crc, data.length, content.length];
    push(
      Buffer.concat([
        u32(0x04034b50),
        u16(20),
        u16(flags),
        u16(method),
        u16(0),
        u16(0x21),
        u32(local[0]),
        u32(local[1]),
        u32(local[2]),
        u16(nameBytes.length),
        u16(0),
        nameBytes,
      ]),
    );
    push(data);
    if (layout.descriptors)
      push(Buffer.concat([u32(0x08074b50), u32(crc), u32(data.length), u32(content.length)]));
    const big = layout.zip64 === true;
    const extra = big
      ? Buffer.concat([u16(0x0001), u16(24), u64(content.length), u64(data.length), u64(headerAt)])
      : Buffer.alloc(0);
    directory.push(
      Buffer.concat([
        u32(0x02014b50),
        u16(45),
        u16(big ? 45 : 20),
        u16(flags),
        u16(method),
        u16(0),
        u16(0x21),
        u32(crc),
        u32(big ? 0xffffffff : data.length),
        u32(big ? 0xffffffff : content.length),
        u16(nameBytes.length),
        u16(extra.length),
        u16(0),
        u16(0),
        u16(0),
        u32(0),
        u32(big ? 0xffffffff : headerAt),
        nameBytes,
        extra,
      ]),
    );
  }
  const directoryAt = offset;
  const directoryBytes = Buffer.concat(directory);
  push(directoryBytes);
  const comment = Buffer.from(layout.comment ?? '', 'utf8');
  if (layout.zip64) {
    const recordAt = offset;
    push(
      Buffer.concat([
        u32(0x06064b50),
        u64(44),
        u16(45),
        u16(45),
        u32(0),
        u32(0),
        u64(parts.length),
        u64(parts.length),
        u64(directoryBytes.length),
        u64(directoryAt),
      ]),
    );
    push(Buffer.concat([u32(0x07064b50), u32(0), u64(recordAt), u32(1)]));
  }
  push(
    Buffer.concat([
      u32(0x06054b50),
      u16(0),
      u16(0),
      u16(layout.zip64 ? 0xffff : parts.length),
      u16(layout.zip64 ? 0xffff : parts.length),
      u32(layout.zip64 ? 0xffffffff : directoryBytes.length),
      u32(layout.zip64 ? 0xffffffff : directoryAt),
      u16(comment.length),
      comment,
    ]),
  );
  return Buffer.concat(chunks);
}
