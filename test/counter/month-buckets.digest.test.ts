/**
 * A month bucket's digest (counter/month-buckets.ts) is the sha256 the splitter gives as a month's
 * `contentHash`: it must equal the hash of the month's line texts, each followed by `\n`, however the
 * lines fall into blocks, spill files and reused blocks (non-ASCII text, lines longer than a block,
 * spills between lines, several months at once).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MonthBuckets } from '../../src/counter/month-buckets.ts';

function textHash(lines: readonly string[]): string {
  const hash = createHash('sha256');
  for (const line of lines) hash.update(`${line}\n`);
  return hash.digest('hex');
}

async function readAll(buckets: MonthBuckets, month: string): Promise<string[]> {
  const lines: string[] = [];
  for await (const line of buckets.read(month)) lines.push(line);
  return lines;
}

const line = fc.oneof(
  { weight: 6, arbitrary: fc.string({ minLength: 1, maxLength: 40 }).map((s) => JSON.stringify({ s })) },
  // Multi-byte characters (2, 3 and 4 bytes in UTF-8).
  { weight: 2, arbitrary: fc.constantFrom('{"t":"é"}', '{"t":"€ – ü"}', '{"t":"𝄞 😀"}') },
  // Longer than a block of the bucket (256 KiB), some of them non-ASCII.
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: 200_000, max: 400_000 }), fc.constantFrom('a', 'ß', '€'))
      .map(([n, c]) => JSON.stringify({ long: c.repeat(n / c.length) })),
  },
);

void describe('month bucket digest', () => {
  void it('is the sha256 of the lines, each followed by \\n, with spills between any lines', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom('2023-01', '2023-02'), line, fc.boolean()), {
          minLength: 1,
          maxLength: 60,
        }),
        async (entries) => {
          const buckets = new MonthBuckets({ spillThresholdBytes: 64 * 1024, memoryBudgetBytes: 256 * 1024 });
          const added = new Map<string, string[]>();
          try {
            for (const [month, text, spill] of entries) {
              buckets.add(month, text);
              added.set(month, [...(added.get(month) ?? []), text]);
              if (spill) await buckets.spillIfNeeded();
            }
            for (const [month, lines] of added) {
              assert.deepEqual(await readAll(buckets, month), lines);
              assert.equal(buckets.digest(month), textHash(lines), month);
              // Asked again: the same digest.
              assert.equal(buckets.digest(month), textHash(lines), month);
            }
            assert.equal(buckets.digest('2024-01'), undefined);
          } finally {
            await buckets.dispose();
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  void it('is the same for a month that spilled to disk and one that stayed in memory', async () => {
    const lines = Array.from({ length: 20_000 }, (_, i) => JSON.stringify({ i, t: `Title ${i} – é` }));
    const spilling = new MonthBuckets({ spillThresholdBytes: 16 * 1024, memoryBudgetBytes: 64 * 1024 });
    const holding = new MonthBuckets({ spillThresholdBytes: 1 << 30, memoryBudgetBytes: 1 << 30 });
    try {
      for (const text of lines) {
        spilling.add('2023-01', text);
        holding.add('2023-01', text);
        await spilling.spillIfNeeded();
      }
      assert.ok(spilling.stats().spilledBytes > 0);
      assert.equal(holding.stats().spilledBytes, 0);
      assert.equal(spilling.digest('2023-01'), textHash(lines));
      assert.equal(holding.digest('2023-01'), textHash(lines));
    } finally {
      await spilling.dispose();
      await holding.dispose();
    }
  });
});
