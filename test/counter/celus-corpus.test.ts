/**
 * The Celus COUNTER 5 corpus (test/fixtures/celus, real provider answers and their quirks), split
 * under both configured releases: files with usage give months with that usage (item counts, totals
 * equal to the file's own sums, the 5.0 layout detected), files without usage give empty months or
 * exceptions, and no file makes the splitter throw.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { splitReportStream, type CounterRelease, type SplitResult } from '../../src/counter/index.ts';
import { chunked, monthSums, sumUsage } from '../helpers/counter.ts';

const CORPUS = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'celus');

/**
 * What each file is: `usage` (a report with data), `empty` (a report without items, with the
 * exception codes of its header or root), `exception` (no report, only exceptions) or `invalid`.
 */
const EXPECTED: Record<string, string> = {
  '5_DR_ProQuestEbookCentral_exception.json': 'exception 1001',
  '5_TR_ProQuestEbookCentral.json': 'usage',
  '5_TR_ProQuestEbookCentral_exception.json': 'exception 3030',
  '5_TR_with_warning.json': 'usage',
  'C5_PR_test.json': 'usage',
  'code-zero.json': 'empty 0',
  'counter5_tr_nature.json': 'usage',
  'counter5_tr_test1.json': 'usage',
  'counter5_tr_test1_wrong_id.json': 'usage',
  'data_incorrect.json': 'invalid missing_report_header',
  'data_simple.json': 'invalid missing_report_header',
  'dr-extra-ids.json': 'usage',
  'error-in-root.json': 'empty 2090',
  'invalid-customer.json': 'empty 1030',
  'naked_error.json': 'exception 1011',
  'naked_error_3000.json': 'exception 3000',
  'naked_error_lowercase.json': 'exception 1001',
  'naked_errors.json': 'exception 1011,3060',
  'no_data.json': 'empty',
  'no_data_3050.json': 'exception 3050',
  'no_data_3062.json': 'empty 3062',
  'no_json.txt': 'invalid non_json',
  'null-in-Item_ID.json': 'usage',
  'partial_data1.json': 'usage',
  'partial_data2.json': 'usage',
  'partial_data3.json': 'usage',
  'severity-missing.json': 'empty 3010',
  'severity-number.json': 'empty 3010',
  'severity-wrong.json': 'exception 1011',
  'some_data_3050.json': 'usage',
  'some_data_3062.json': 'usage',
  'stringified_error.json': 'empty 2090',
};

const files = readdirSync(CORPUS)
  .filter((f) => f !== 'README.md')
  .sort();

function codes(exceptions: { code: number | undefined }[]): string {
  return exceptions.map((e) => e.code).join(',');
}

async function outcome(result: SplitResult): Promise<string> {
  switch (result.kind) {
    case 'invalid':
      return `invalid ${result.code}`;
    case 'exception':
      return `exception ${codes(result.exceptions)}`;
    case 'report': {
      let items = 0;
      for await (const month of result.monthStreams()) items += month.itemCount;
      if (items > 0) return 'usage';
      return `empty ${codes(result.exceptions)}`.trim();
    }
  }
}

void describe('Celus corpus', () => {
  void it('every file of the corpus is classified here', () => {
    assert.deepEqual(files, Object.keys(EXPECTED).sort());
  });

  for (const file of files)
    for (const configured of ['5', '5.1'] as CounterRelease[])
      void it(`${file}, configured ${configured}: ${EXPECTED[file]}`, async () => {
        const bytes = readFileSync(join(CORPUS, file));
        const result = await splitReportStream(chunked(bytes, 61), configured);
        assert.equal(await outcome(result), EXPECTED[file]);
        if (EXPECTED[file] !== 'usage' || result.kind !== 'report') return;
        const again = await splitReportStream(chunked(bytes, 4096), configured);
        assert.equal(again.kind, 'report');
        if (again.kind !== 'report') return;
        assert.equal(again.detectedRelease, '5');
        assert.equal(again.releaseDiffers, configured !== '5');
        assert.equal(again.layouts.unreadable, 0);
        // Every month with usage in the file, within the header period or not, has it all.
        const sums = sumUsage(JSON.parse(bytes.toString('utf8')));
        for (const month of sums.keys()) {
          const facts = again.monthFacts(month);
          assert.ok(facts && facts.itemCount > 0, `${month}: no items`);
          assert.deepEqual(
            Object.fromEntries(Object.entries(facts.totals).sort(([a], [b]) => a.localeCompare(b))),
            monthSums(sums, month),
            month,
          );
        }
        await again.dispose();
      });

  void it('no file makes the splitter throw, in 1-byte chunks too', async () => {
    for (const file of files) {
      const result = await splitReportStream(chunked(readFileSync(join(CORPUS, file)), 1), '5.1');
      assert.ok(['report', 'exception', 'invalid'].includes(result.kind), file);
      if (result.kind === 'report') await result.dispose();
    }
  });
});
