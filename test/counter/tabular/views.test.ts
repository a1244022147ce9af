/**
 * Standard views derived from master reports: hand-built masters (view-data.ts) whose expected views
 * were worked out by hand, per view and release; the official samples (each official view derived
 * from the official master of its release reproduces the official view); and the choice between a
 * harvested view and its master.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  chooseReportSource,
  prepareExport,
  STANDARD_VIEW_IDS,
  type CounterRelease,
  type StandardViewId,
} from '../../../src/counter/index.ts';
import { FIXTURES, loadSamples } from '../../helpers/counter.ts';
import { bodyText, parseTsv, sampleHeader, sampleWindow, storedMonths } from '../../helpers/tabular.ts';
import { BEGIN, END, databases, items, masterReport, platforms, titles } from './view-data.ts';

type Master = 'PR' | 'DR' | 'TR' | 'IR';

const MASTERS: Record<CounterRelease, Record<Master, string>> = {
  '5.1': {
    PR: masterReport('5.1', 'PR', ['Access_Method'], platforms()),
    DR: masterReport('5.1', 'DR', ['Access_Method'], databases('Database_Full', 'Database_AI')),
    TR: masterReport('5.1', 'TR', ['YOP', 'Access_Type', 'Access_Method'], titles('Open', 'Reference_Work')),
    IR: masterReport(
      '5.1',
      'IR',
      ['Authors', 'Publication_Date', 'Article_Version', 'YOP', 'Access_Type', 'Access_Method'],
      items('Open', 'Free_To_Read'),
    ),
  },
  '5': {
    PR: masterReport('5', 'PR', ['Data_Type', 'Access_Method'], platforms()),
    DR: masterReport('5', 'DR', ['Data_Type', 'Access_Method'], databases('Database', 'Database')),
    TR: masterReport(
      '5',
      'TR',
      ['Data_Type', 'Section_Type', 'YOP', 'Access_Type', 'Access_Method'],
      titles('OA_Gold', 'Other', true),
    ),
    IR: masterReport(
      '5',
      'IR',
      ['Authors', 'Publication_Date', 'Article_Version', 'Data_Type', 'YOP', 'Access_Type', 'Access_Method'],
      items('OA_Gold', 'Other_Free_To_Read'),
    ),
  },
};

async function deriveTsv(release: CounterRelease, view: StandardViewId, format = 'tsv'): Promise<string> {
  const master = view.slice(0, 2) as Master;
  const exp = await prepareExport({
    release,
    reportId: view,
    sourceReportId: master,
    begin: BEGIN,
    end: END,
    format,
    months: await storedMonths(MASTERS[release][master], release),
    created: '2024-03-06T00:00:00Z',
  });
  assert.equal(exp.derived, true);
  return bodyText(exp);
}

interface Expected {
  name: string;
  metricTypes: string;
  filters: string;
  /** Columns checked besides the first (name) column. */
  columns: string[];
  /** Rows: the name cell, the checked columns, Metric_Type, Reporting_Period_Total, Jan, Feb. */
  rows: string[];
}

const TIR = 'Total_Item_Requests';
const UIR = 'Unique_Item_Requests';
const TII = 'Total_Item_Investigations';
const UII = 'Unique_Item_Investigations';
const UTR = 'Unique_Title_Requests';

const JOURNAL_VIEWS = (open: string): Record<string, Omit<Expected, 'name'>> => ({
  TR_J1: {
    metricTypes: `${TIR}; ${UIR}`,
    filters: 'Data_Type=Journal; Access_Type=Controlled; Access_Method=Regular',
    columns: [],
    rows: [`Journal C|${TIR}|14|12|2`, `Journal C|${UIR}|11|9|2`],
  },
  TR_J2: {
    metricTypes: 'Limit_Exceeded; No_License',
    filters: 'Data_Type=Journal; Access_Method=Regular',
    columns: [],
    rows: ['Journal C|Limit_Exceeded|1|1|0', 'Journal C|No_License|3|0|3'],
  },
  TR_J3: {
    metricTypes: `${TII}; ${TIR}; ${UII}; ${UIR}`,
    filters: 'Data_Type=Journal; Access_Method=Regular',
    columns: ['Access_Type'],
    rows: [
      `Journal C|Controlled|${TII}|9|9|0`,
      `Journal C|Controlled|${TIR}|14|12|2`,
      `Journal C|Controlled|${UII}|7|7|0`,
      `Journal C|Controlled|${UIR}|11|9|2`,
      `Journal C|${open}|${TIR}|5|0|5`,
      `Journal C|${open}|${UIR}|4|0|4`,
    ],
  },
  TR_J4: {
    metricTypes: `${TIR}; ${UIR}`,
    filters: 'Data_Type=Journal; Access_Type=Controlled; Access_Method=Regular',
    columns: ['YOP'],
    rows: [
      `Journal C|2020|${TIR}|10|8|2`,
      `Journal C|2020|${UIR}|8|6|2`,
      `Journal C|2021|${TIR}|4|4|0`,
      `Journal C|2021|${UIR}|3|3|0`,
    ],
  },
  DR_D2: {
    metricTypes: 'Limit_Exceeded; No_License',
    filters: 'Access_Method=Regular',
    columns: [],
    rows: ['D1|Limit_Exceeded|7|0|7', 'D1|No_License|1|1|0'],
  },
});

const EXPECTED: Record<CounterRelease, Record<StandardViewId, Omit<Expected, 'name'>>> = {
  '5.1': {
    ...(JOURNAL_VIEWS('Open') as Record<
      'TR_J1' | 'TR_J2' | 'TR_J3' | 'TR_J4' | 'DR_D2',
      Omit<Expected, 'name'>
    >),
    PR_P1: {
      metricTypes: `Searches_Platform; ${TIR}; ${UIR}; ${UTR}`,
      filters: 'Access_Method=Regular',
      columns: ['Data_Type'],
      rows: [
        `Plat|Book|${TIR}|5|4|1`,
        `Plat|Book|${UIR}|3|3|0`,
        `Plat|Book|${UTR}|3|2|1`,
        'Plat|Platform|Searches_Platform|23|11|12',
        `Plat|Journal|${TIR}|6|0|6`,
        `Plat|Journal|${UIR}|5|0|5`,
      ],
    },
    DR_D1: {
      metricTypes: `Searches_Automated; Searches_Federated; Searches_Regular; ${TII}; ${TIR}; ${UII}; ${UIR}`,
      filters: 'Access_Method=Regular',
      columns: [],
      rows: [
        'D1|Searches_Automated|2|0|2',
        'D1|Searches_Federated|1|1|0',
        'D1|Searches_Regular|5|5|0',
        `D1|${TII}|8|8|0`,
        `D1|${TIR}|4|4|0`,
        `D1|${UII}|6|6|0`,
        `D1|${UIR}|3|3|0`,
        'D2|Searches_Regular|9|0|9',
      ],
    },
    TR_B1: {
      metricTypes: `${TIR}; ${UTR}`,
      filters: 'Data_Type=Book|Reference_Work; Access_Type=Controlled; Access_Method=Regular',
      columns: ['Data_Type', 'YOP'],
      rows: [
        `Book A|Book|2020|${TIR}|10|5|5`,
        `Book A|Book|2020|${UTR}|3|2|1`,
        `Book A|Book|2021|${TIR}|1|1|0`,
        `Book A|Book|2021|${UTR}|1|1|0`,
        `Ref B|Reference_Work|2019|${TIR}|6|0|6`,
        `Ref B|Reference_Work|2019|${UTR}|3|0|3`,
      ],
    },
    TR_B2: {
      metricTypes: 'Limit_Exceeded; No_License',
      filters: 'Data_Type=Book|Reference_Work; Access_Method=Regular',
      columns: ['Data_Type', 'YOP'],
      // Ref B has denials in January, Book A only in February: first appearance orders them.
      rows: ['Ref B|Reference_Work|2019|No_License|2|2|0', 'Book A|Book|2020|Limit_Exceeded|4|0|4'],
    },
    TR_B3: {
      metricTypes: `${TII}; ${TIR}; ${UII}; ${UIR}; Unique_Title_Investigations; ${UTR}`,
      filters: 'Data_Type=Book|Reference_Work; Access_Method=Regular',
      columns: ['Data_Type', 'YOP', 'Access_Type'],
      rows: [
        `Book A|Book|2020|Controlled|${TII}|7|7|0`,
        `Book A|Book|2020|Controlled|${TIR}|10|5|5`,
        `Book A|Book|2020|Controlled|${UTR}|3|2|1`,
        `Book A|Book|2021|Controlled|${TIR}|1|1|0`,
        `Book A|Book|2021|Controlled|${UTR}|1|1|0`,
        `Book A|Book|2020|Open|${TIR}|10|0|10`,
        `Book A|Book|2020|Open|${UTR}|2|0|2`,
        `Ref B|Reference_Work|2019|Controlled|${TIR}|6|0|6`,
        `Ref B|Reference_Work|2019|Controlled|${UTR}|3|0|3`,
      ],
    },
    IR_A1: {
      metricTypes: `${TIR}; ${UIR}`,
      filters: 'Data_Type=Article; Access_Method=Regular',
      columns: ['Parent_Title', 'Access_Type'],
      rows: [
        `A1|J|Controlled|${TIR}|6|4|2`,
        `A1|J|Controlled|${UIR}|4|3|1`,
        `A2|J|Open|${TIR}|5|0|5`,
        `A2|J|Open|${UIR}|5|0|5`,
        `S||Open|${TIR}|1|1|0`,
        `S||Open|${UIR}|1|1|0`,
      ],
    },
    IR_M1: {
      metricTypes: `${TIR}; ${UIR}`,
      filters: 'Data_Type=Audiovisual|Image|Interactive_Resource|Multimedia|Sound; Access_Method=Regular',
      columns: ['Data_Type'],
      rows: [
        `M|Multimedia|${TIR}|5|2|3`,
        `M|Multimedia|${UIR}|3|1|2`,
        `V|Audiovisual|${TIR}|4|0|4`,
        `V|Audiovisual|${UIR}|4|0|4`,
      ],
    },
  },
  '5': {
    ...(JOURNAL_VIEWS('OA_Gold') as Record<
      'TR_J1' | 'TR_J2' | 'TR_J3' | 'TR_J4' | 'DR_D2',
      Omit<Expected, 'name'>
    >),
    PR_P1: {
      metricTypes: `Searches_Platform; ${TIR}; ${UIR}; ${UTR}`,
      filters: 'Access_Method=Regular',
      columns: [],
      rows: [
        'Plat|Searches_Platform|23|11|12',
        `Plat|${TIR}|11|4|7`,
        `Plat|${UIR}|8|3|5`,
        `Plat|${UTR}|3|2|1`,
      ],
    },
    DR_D1: {
      metricTypes: `Searches_Automated; Searches_Federated; Searches_Regular; ${TII}; ${TIR}`,
      filters: 'Access_Method=Regular',
      columns: [],
      rows: [
        'D1|Searches_Automated|2|0|2',
        'D1|Searches_Federated|1|1|0',
        'D1|Searches_Regular|5|5|0',
        `D1|${TII}|8|8|0`,
        `D1|${TIR}|4|4|0`,
        'D2|Searches_Regular|9|0|9',
      ],
    },
    // R5.0 books are Data_Type Book only (Ref B is Other), and Section_Type is summed over.
    TR_B1: {
      metricTypes: `${TIR}; ${UTR}`,
      filters: 'Data_Type=Book; Access_Type=Controlled; Access_Method=Regular',
      columns: ['YOP'],
      rows: [
        `Book A|2020|${TIR}|10|5|5`,
        `Book A|2020|${UTR}|3|2|1`,
        `Book A|2021|${TIR}|1|1|0`,
        `Book A|2021|${UTR}|1|1|0`,
      ],
    },
    TR_B2: {
      metricTypes: 'Limit_Exceeded; No_License',
      filters: 'Data_Type=Book; Access_Method=Regular',
      columns: ['YOP'],
      rows: ['Book A|2020|Limit_Exceeded|4|0|4'],
    },
    TR_B3: {
      metricTypes: `${TII}; ${TIR}; ${UII}; ${UIR}; Unique_Title_Investigations; ${UTR}`,
      filters: 'Data_Type=Book; Access_Method=Regular',
      columns: ['YOP', 'Access_Type'],
      rows: [
        `Book A|2020|Controlled|${TII}|7|7|0`,
        `Book A|2020|Controlled|${TIR}|10|5|5`,
        `Book A|2020|Controlled|${UTR}|3|2|1`,
        `Book A|2021|Controlled|${TIR}|1|1|0`,
        `Book A|2021|Controlled|${UTR}|1|1|0`,
        `Book A|2020|OA_Gold|${TIR}|10|0|10`,
        `Book A|2020|OA_Gold|${UTR}|2|0|2`,
      ],
    },
    // R5.0 IR_A1 also requires a journal parent: S (an article without parent) is left out.
    IR_A1: {
      metricTypes: `${TIR}; ${UIR}`,
      filters: 'Data_Type=Article; Parent_Data_Type=Journal; Access_Method=Regular',
      columns: ['Parent_Title', 'Access_Type'],
      rows: [
        `A1|J|Controlled|${TIR}|6|4|2`,
        `A1|J|Controlled|${UIR}|4|3|1`,
        `A2|J|OA_Gold|${TIR}|5|0|5`,
        `A2|J|OA_Gold|${UIR}|5|0|5`,
      ],
    },
    IR_M1: {
      metricTypes: TIR,
      filters: 'Data_Type=Multimedia; Access_Method=Regular',
      columns: [],
      rows: [`M|${TIR}|5|2|3`],
    },
  },
};

const NAMES: Record<CounterRelease, Partial<Record<StandardViewId, string>>> = {
  '5': {
    TR_B1: 'Book Requests (Excluding OA_Gold)',
    TR_J1: 'Journal Requests (Excluding OA_Gold)',
    TR_J4: 'Journal Requests by YOP (Excluding OA_Gold)',
  },
  '5.1': {
    TR_B1: 'Book Requests (Controlled)',
    TR_J1: 'Journal Requests (Controlled)',
    TR_J4: 'Journal Requests by YOP (Controlled)',
  },
};

function headerValue(rows: string[][], label: string): string {
  return rows.find((r) => r[0] === label)?.[1] ?? '';
}

void describe('standard views derived from hand-built master reports (two months, merged)', () => {
  for (const release of ['5.1', '5'] as const) {
    for (const view of STANDARD_VIEW_IDS) {
      void it(`${release} ${view}: filters, metrics, columns and sums as worked out by hand`, async () => {
        const expected = EXPECTED[release][view];
        const rows = parseTsv(await deriveTsv(release, view));
        assert.equal(headerValue(rows, 'Report_ID'), view);
        if (NAMES[release][view]) assert.equal(headerValue(rows, 'Report_Name'), NAMES[release][view]);
        assert.equal(headerValue(rows, 'Release'), release);
        assert.equal(headerValue(rows, 'Metric_Types'), expected.metricTypes);
        assert.equal(headerValue(rows, 'Report_Filters'), expected.filters);
        assert.equal(headerValue(rows, 'Report_Attributes'), '');
        assert.equal(headerValue(rows, 'Reporting_Period'), 'Begin_Date=2024-01-01; End_Date=2024-02-29');
        const headingIndex = rows.findIndex((r) => r.includes('Metric_Type'));
        const headings = rows[headingIndex];
        assert.deepEqual(headings.slice(-4), [
          'Metric_Type',
          'Reporting_Period_Total',
          'Jan-2024',
          'Feb-2024',
        ]);
        const picked = [0, ...expected.columns.map((c) => headings.indexOf(c))];
        assert.ok(
          picked.every((i) => i >= 0),
          `columns ${expected.columns.join(',')} in ${headings.join(',')}`,
        );
        const attributeColumns = headings.filter((h) =>
          ['Data_Type', 'Section_Type', 'YOP', 'Access_Type', 'Access_Method'].includes(h),
        );
        assert.deepEqual(
          attributeColumns,
          expected.columns.filter((c) => c !== 'Parent_Title'),
          'no other attribute column',
        );
        const data = rows
          .slice(headingIndex + 1)
          .map((r) => [...picked.map((i) => r[i]), ...r.slice(-4)].join('|'));
        assert.deepEqual(data, expected.rows);
      });
    }
  }

  void it('5.1 IR_A1 keeps the item and parent identifiers the view shows', async () => {
    const rows = parseTsv(await deriveTsv('5.1', 'IR_A1'));
    const headings = rows.find((r) => r[0] === 'Item') ?? [];
    assert.deepEqual(headings.slice(0, -4), [
      'Item',
      'Publisher',
      'Publisher_ID',
      'Platform',
      'Authors',
      'Publication_Date',
      'Article_Version',
      'DOI',
      'Proprietary_ID',
      'Print_ISSN',
      'Online_ISSN',
      'URI',
      'Parent_Title',
      'Parent_Authors',
      'Parent_Article_Version',
      'Parent_DOI',
      'Parent_Proprietary_ID',
      'Parent_Print_ISSN',
      'Parent_Online_ISSN',
      'Parent_URI',
      'Access_Type',
    ]);
    const a1 = rows.find((r) => r[0] === 'A1') ?? [];
    assert.deepEqual(a1.slice(0, -4), [
      'A1',
      'Pub',
      '',
      'Plat',
      'Ann (ORCID:0000-0001-2345-6789)',
      '2020-01-02',
      'VoR',
      '10.1/a1',
      'p:a1',
      '',
      '',
      '',
      'J',
      '',
      '',
      '',
      'p:j',
      '1234-5678',
      '',
      '',
      'Controlled',
    ]);
  });

  void it('the JSON of a derived view has the view header and only the view’s attributes', async () => {
    const report = JSON.parse(await deriveTsv('5.1', 'TR_J4', 'json')) as {
      Report_Header: Record<string, unknown>;
      Report_Items: Array<Record<string, unknown>>;
    };
    assert.deepEqual(report.Report_Header.Report_Filters, {
      Metric_Type: [TIR, UIR],
      Begin_Date: '2024-01-01',
      End_Date: '2024-02-29',
      Data_Type: ['Journal'],
      Access_Type: ['Controlled'],
      Access_Method: ['Regular'],
    });
    assert.equal(report.Report_Header.Report_Attributes, undefined);
    assert.equal(report.Report_Header.Report_Name, 'Journal Requests by YOP (Controlled)');
    assert.deepEqual(report.Report_Items, [
      {
        Title: 'Journal C',
        Publisher: 'Pub',
        Platform: 'Plat',
        Item_ID: { Proprietary: 'p:c', Print_ISSN: '1111-2222' },
        Attribute_Performance: [
          {
            YOP: '2020',
            Performance: { [TIR]: { '2024-01': 8, '2024-02': 2 }, [UIR]: { '2024-01': 6, '2024-02': 2 } },
          },
          { YOP: '2021', Performance: { [TIR]: { '2024-01': 4 }, [UIR]: { '2024-01': 3 } } },
        ],
      },
    ]);
  });
});

const samples = loadSamples();

void describe('the official view samples derived from the official master samples', () => {
  for (const view of samples.filter((s) => String(sampleHeader(s).Report_ID).includes('_'))) {
    const viewId = String(sampleHeader(view).Report_ID) as StandardViewId;
    const master = samples.find(
      (s) => s.release === view.release && sampleHeader(s).Report_ID === viewId.slice(0, 2),
    );
    void it(`${view.name}: derived from ${master?.name ?? '?'} it is the official view`, async () => {
      assert.ok(master);
      const [begin, end] = sampleWindow(view);
      const exp = await prepareExport({
        release: view.release,
        reportId: viewId,
        sourceReportId: viewId.slice(0, 2),
        begin,
        end,
        format: 'tsv',
        months: await storedMonths(master.text, master.release),
        created: String(sampleHeader(view).Created),
        createdBy: String(sampleHeader(view).Created_By),
      });
      const ours = await bodyText(exp);
      const official = readFileSync(join(FIXTURES, view.name.replace(/\.json$/, '.tsv')), 'utf8');
      if (view.name === 'r51/IRA1_sample_r51.json') {
        // The official TSV lists items by item; the R5.1 JSON groups them under parents (samples.test.ts).
        const head = 15;
        const ourRows = parseTsv(ours);
        const officialRows = parseTsv(official);
        assert.deepEqual(ourRows.slice(0, head), officialRows.slice(0, head));
        assert.deepEqual([...ourRows.slice(head)].sort(), [...officialRows.slice(head)].sort());
      } else assert.equal(ours, official);
      assert.deepEqual(exp.notes(), []);
    });
  }
});

void describe('stored view or master: chooseReportSource', () => {
  void it('uses a harvested view as stored, else derives it from the stored master', () => {
    assert.deepEqual(chooseReportSource('TR_J1', ['TR', 'TR_J1']), { kind: 'stored', reportId: 'TR_J1' });
    assert.deepEqual(chooseReportSource('tr_j1', ['TR']), { kind: 'derived', view: 'TR_J1', master: 'TR' });
    assert.deepEqual(chooseReportSource('TR', ['TR', 'TR_J1']), { kind: 'stored', reportId: 'TR' });
    assert.equal(chooseReportSource('TR_J1', ['DR', 'PR']), undefined);
    assert.equal(chooseReportSource('TR', ['TR_J1']), undefined);
    assert.equal(chooseReportSource('JR1', ['TR']), undefined);
  });
});
