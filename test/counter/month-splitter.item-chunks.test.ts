/**
 * A month's items as comma-joined chunk texts (MonthStream.itemChunks, what the store writes as chunk
 * rows): the same texts as `items()` yields, joined, cut only between items, for every official sample
 * and for large months that spill to disk; a month holding R5.1 IR parent groups has none.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { commaJoinedChunks } from '../../src/counter/month-splitter.ts';
import { splitReportStream, type MonthStream } from '../../src/counter/index.ts';
import { chunked, loadSamples } from '../helpers/counter.ts';

interface Month {
  yearMonth: string;
  items: string[];
  chunks: string[] | undefined;
}

async function months(text: string, release: '5' | '5.1', spillThresholdBytes: number): Promise<Month[]> {
  const result = await splitReportStream(chunked(text, 29), release, { spillThresholdBytes });
  assert.equal(result.kind, 'report');
  if (result.kind !== 'report') return [];
  const list: Month[] = [];
  for await (const month of result.monthStreams()) list.push(await read(month));
  return list;
}

async function read(month: MonthStream): Promise<Month> {
  const items: string[] = [];
  for await (const item of month.items()) items.push(item);
  let chunks: string[] | undefined;
  if (month.itemChunks) {
    chunks = [];
    for await (const chunk of month.itemChunks()) chunks.push(chunk.toString('utf8'));
  }
  return { yearMonth: month.yearMonth, items, chunks };
}

/** Each chunk is whole items (a JSON array when bracketed), and together they are the items joined. */
function assertChunksMatch(month: Month): void {
  assert.ok(month.chunks, `${month.yearMonth} has item chunks`);
  assert.equal(month.chunks.join(','), month.items.join(','), month.yearMonth);
  let count = 0;
  for (const chunk of month.chunks) {
    assert.notEqual(chunk, '');
    count += (JSON.parse(`[${chunk}]`) as unknown[]).length;
  }
  assert.equal(count, month.items.length, month.yearMonth);
}

void describe('month item chunks', () => {
  for (const sample of loadSamples()) {
    void it(`${sample.name}: the chunks are the items joined (in memory and spilled)`, async () => {
      for (const threshold of [4 * 1024 * 1024, 300]) {
        for (const month of await months(sample.text, sample.release, threshold)) {
          if (month.chunks === undefined) {
            // Only a month holding IR parent groups (items with `Items`) goes without.
            assert.ok(
              month.items.some((item) => 'Items' in (JSON.parse(item) as object)),
              `${sample.name} ${month.yearMonth}`,
            );
            continue;
          }
          assertChunksMatch(month);
        }
      }
    });
  }

  void it('cuts a large month between items into texts of about the target size', async () => {
    const chunks: string[] = [];
    const lines = Array.from({ length: 500 }, (_, i) =>
      // Item 250 is longer than twice the target.
      JSON.stringify({ Title: `t${i} é${i === 250 ? 'x'.repeat(5000) : ''}`, n: i }),
    );
    const bytes = Buffer.from(lines.map((line) => `${line}\n`).join(''));
    // Blocks cut anywhere, also inside a character.
    async function* blocks(): AsyncGenerator<Buffer> {
      for (let i = 0; i < bytes.length; i += 97) yield bytes.subarray(i, i + 97);
    }
    for await (const chunk of commaJoinedChunks(blocks(), 1000)) chunks.push(chunk.toString('utf8'));
    assert.ok(chunks.length > 5);
    assert.equal(chunks.join(','), lines.join(','));
    for (const chunk of chunks) {
      if (!chunk.includes('xxx')) assert.ok(Buffer.byteLength(chunk) < 1000 + 200, 'about the target');
      JSON.parse(`[${chunk}]`);
    }
    // The blocks given are left as they were.
    assert.equal(bytes.toString(), lines.map((line) => `${line}\n`).join(''));
  });
});
