/**
 * Reading COUNTER R5 tabular files back into COUNTER JSON (docs/counter-tabular.md, section 10): every
 * official sample's TSV, read and split by month, gives the item counts and the totals per month and
 * metric of its JSON twin split the same way, R5.1 IR and its views included (their rows are grouped
 * under their parent across the whole file, also when the groups spill to disk).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MOCK_REPORT_IDS } from '../../../mock/samples.ts';
import { splitReportStream, type CounterRelease } from '../../../src/counter/index.ts';
import { tabularToJson, type TabularReadOptions } from '../../../src/counter/tabular/read.ts';
import { csvRows, MAX_ROW_CHARS, tsvRows } from '../../../src/counter/tabular/rows.ts';
import { FIXTURES } from '../../helpers/sushi.ts';
import { spreadIrTsv } from '../../helpers/tabular.ts';

function samplePath(release: CounterRelease, id: string): string {
  return release === '5.1'
    ? join(FIXTURES, 'r51', `${id.replace('_', '').toUpperCase()}_sample_r51`)
    : join(FIXTURES, 'r50', `Sample-${id.toUpperCase()}`);
}

interface MonthSummary {
  itemCount: number;
  totals: Record<string, number>;
}

async function summarise(json: string, release: CounterRelease): Promise<Record<string, MonthSummary>> {
  const split = await splitReportStream(Readable.from([Buffer.from(json)]), release);
  assert.equal(split.kind, 'report');
  if (split.kind !== 'report') return {};
  try {
    const out: Record<string, MonthSummary> = {};
    for (const month of split.yearMonths) {
      const facts = split.monthFacts(month);
      if (facts) out[month] = { itemCount: facts.itemCount, totals: facts.totals };
    }
    return out;
  } finally {
    await split.dispose();
  }
}

async function readTsv(path: string, options?: TabularReadOptions): Promise<string> {
  return readTsvRows(tsvRows(path), options);
}

async function readTsvRows(rows: AsyncIterable<string[]>, options?: TabularReadOptions): Promise<string> {
  let text = '';
  await tabularToJson(
    rows,
    async (piece) => {
      text += piece;
    },
    options,
  );
  return text;
}

describe('tabular read: official samples against their JSON twins', () => {
  for (const release of ['5.1', '5'] as const)
    for (const id of MOCK_REPORT_IDS)
      it(`${release} ${id.toUpperCase()}: item counts and totals per month equal the JSON twin's`, async () => {
        const base = samplePath(release, id);
        const fromTsv = await summarise(await readTsv(`${base}.tsv`), release);
        const fromJson = await summarise(readFileSync(`${base}.json`, 'utf8'), release);
        assert.deepEqual(fromTsv, fromJson);
      });
});

describe('tabular read: R5.1 IR groups by parent across the whole file', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'read-test-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('the official IR sample: one group per parent of the JSON, items without parent in one group', async () => {
    const json = JSON.parse(await readTsv(`${samplePath('5.1', 'ir')}.tsv`)) as {
      Report_Items: { Title?: string; Items: unknown[] }[];
    };
    const twin = JSON.parse(readFileSync(`${samplePath('5.1', 'ir')}.json`, 'utf8')) as typeof json;
    const shape = (r: typeof json) =>
      r.Report_Items.map((g) => [g.Title ?? '(no parent)', g.Items.length] as const).sort();
    assert.deepEqual(shape(json), shape(twin));
  });

  it('rows of one parent far apart in a large file are one group, also when the groups spill to disk', async () => {
    // 2,000 parents, each with 3 items whose rows are spread over the file (item i of every parent,
    // then item i+1 of every parent): the consecutive grouping gave 6,000 groups.
    const file = join(dir, 'ir.tsv');
    await writeFile(file, spreadIrTsv(2000, 3));
    const spillDir = join(dir, 'spill');
    await mkdir(spillDir);
    const json = await readTsv(file, { memoryBudgetBytes: 64 * 1024, tmpDir: spillDir });
    const months = await summarise(json, '5.1');
    assert.equal(months['2022-01'].itemCount, 2000);
    assert.deepEqual(months['2022-02'].totals, { Total_Item_Requests: 12000 });
    const parsed = JSON.parse(json) as { Report_Items: { Title: string; Items: { Item: string }[] }[] };
    assert.equal(parsed.Report_Items.length, 2000);
    assert.equal(parsed.Report_Items[0].Title, 'Journal 0', 'parents in the order they first appear');
    assert.deepEqual(
      parsed.Report_Items[5].Items.map((i) => i.Item),
      ['Item 5-0', 'Item 5-1', 'Item 5-2'],
    );
    assert.deepEqual(await readdir(spillDir), [], 'the spill files are removed');
  });

  it('a file without line breaks is refused at the row length limit, not read into memory whole', async () => {
    const file = join(dir, 'one-line.tsv');
    await writeFile(file, `Report_Name\t${'x'.repeat(MAX_ROW_CHARS + 300_000)}`);
    for (const rows of [tsvRows(file), csvRows(file)])
      await assert.rejects(
        readTsvRows(rows),
        /^TabularReadError: Row 1: the row is longer than 16777216 characters/,
      );
  });
});
