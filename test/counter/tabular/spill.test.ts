/** The spilling group-by: same result in memory and on disk, first-appearance order, no files left. */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SpillingGroupBy, type GroupCodec } from '../../../src/counter/tabular/spill.ts';

/** Values are lists of numbers; combining appends. */
const CODEC: GroupCodec<number[]> = {
  combine(into, from) {
    into.push(...from);
    return from.length * 8;
  },
  encode: (value) => JSON.stringify(value),
  decode: (text) => JSON.parse(text) as number[],
  size: (value) => 16 + value.length * 8,
};

/** A deterministic sequence of (key, value) additions: 12 "months" of 3000 keys in shuffled order. */
function additions(): Array<{ key: string; position: number[]; value: number }> {
  const list: Array<{ key: string; position: number[]; value: number }> = [];
  let seed = 7;
  const random = (): number => (seed = (seed * 48271) % 2147483647) / 2147483647;
  for (let month = 0; month < 12; month++) {
    const keys = Array.from({ length: 3000 }, (_, i) => i).filter(() => random() < 0.8);
    for (let i = keys.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [keys[i], keys[j]] = [keys[j], keys[i]];
    }
    keys.forEach((k, seq) =>
      list.push({
        key: `{"Title":"Title ${k}","n":${k * 7}}`,
        position: [month, seq],
        value: month * 10000 + k,
      }),
    );
  }
  return list;
}

async function run(
  budget: number,
  tmpDir: string,
): Promise<{ entries: Array<[string, number[], number[]]>; spilled: number; reSplits: number }> {
  const groups = new SpillingGroupBy(CODEC, { memoryBudgetBytes: budget, tmpDir, partitions: 8 });
  for (const a of additions()) await groups.add(a.key, a.position, [a.value]);
  const entries: Array<[string, number[], number[]]> = [];
  for await (const entry of groups.finish((_key, position) => position))
    entries.push([entry.key, [...entry.position], entry.value]);
  return { entries, spilled: groups.stats.spilledBytes, reSplits: groups.stats.reSplits };
}

void describe('SpillingGroupBy', () => {
  void it('gives the same keys, values and first-appearance order in memory and spilled (with re-splits)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'spill-test-'));
    try {
      const inMemory = await run(64 * 1024 * 1024, dir);
      const spilled = await run(16 * 1024, dir);
      assert.equal(inMemory.spilled, 0);
      assert.ok(spilled.spilled > 100_000, `spilled ${spilled.spilled} bytes`);
      assert.ok(spilled.reSplits > 0, 'large partition files were split again');
      // Every key once, in the order of its first position, with all its values in input order.
      const expected = new Map<string, { position: number[]; values: number[] }>();
      for (const a of additions()) {
        const e = expected.get(a.key);
        if (e) e.values.push(a.value);
        else expected.set(a.key, { position: a.position, values: [a.value] });
      }
      const ordered = [...expected].sort(
        (a, b) => a[1].position[0] - b[1].position[0] || a[1].position[1] - b[1].position[1],
      );
      assert.deepEqual(
        inMemory.entries,
        ordered.map(([key, e]) => [key, e.position, e.values]),
      );
      assert.deepEqual(
        spilled.entries.map(([key, position, values]) => [key, position, [...values].sort((a, b) => a - b)]),
        ordered.map(([key, e]) => [key, e.position, e.values]),
      );
      assert.deepEqual(await readdir(dir), [], 'no spill files left');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  void it('removes its files when the output is not read to the end', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'spill-test-'));
    try {
      const groups = new SpillingGroupBy(CODEC, { memoryBudgetBytes: 4096, tmpDir: dir });
      for (const a of additions().slice(0, 5000)) await groups.add(a.key, a.position, [a.value]);
      assert.ok(groups.stats.spilledBytes > 0);
      assert.equal((await readdir(dir)).length, 1, 'a spill directory while running');
      for await (const entry of groups.finish((_key, position) => position)) {
        assert.ok(entry.key);
        break;
      }
      assert.deepEqual(await readdir(dir), []);
      await assert.rejects(groups.add('x', [0], [1]), /after finish/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
