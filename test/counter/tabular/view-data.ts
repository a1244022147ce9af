/**
 * Hand-built master reports for the view derivation tests: a compact description of items and usage,
 * written out as R5.1 or R5.0 COUNTER JSON (two months, 2024-01 and 2024-02). The builder is plain test
 * code that does not use the module under test.
 */

export type Usage = Record<string, Record<string, number>>;

export interface Leaf {
  attrs: Record<string, string>;
  usage: Usage;
}

export interface Item {
  name: string;
  /** Identifiers as R5.1 `Item_ID` members. */
  ids?: Record<string, string>;
  extra?: Record<string, unknown>;
  parent?: { title: string; dataType: string; ids: Record<string, string> };
  leaves: Leaf[];
}

export const BEGIN = '2024-01';
export const END = '2024-02';
const LAST_DAY: Record<string, string> = { '2024-01': '2024-01-31', '2024-02': '2024-02-29' };

const NAME_KEY: Record<string, string> = { PR: 'Platform', DR: 'Database', TR: 'Title', IR: 'Item' };

function r51Item(report: string, item: Item): Record<string, unknown> {
  const out: Record<string, unknown> = { [NAME_KEY[report]]: item.name };
  if (report !== 'PR') Object.assign(out, { Publisher: 'Pub', Platform: 'Plat' });
  Object.assign(out, item.extra ?? {});
  if (item.ids) out.Item_ID = item.ids;
  out.Attribute_Performance = item.leaves.map((leaf) => ({ ...leaf.attrs, Performance: leaf.usage }));
  return out;
}

function r50Ids(ids: Record<string, string>): Array<{ Type: string; Value: string }> {
  return Object.entries(ids).map(([Type, Value]) => ({ Type, Value }));
}

function r50Performance(usage: Usage): unknown[] {
  return [BEGIN, END]
    .map((month) => ({
      Period: { Begin_Date: `${month}-01`, End_Date: LAST_DAY[month] },
      Instance: Object.entries(usage)
        .filter(([, counts]) => counts[month] !== undefined)
        .map(([metric, counts]) => ({ Metric_Type: metric, Count: counts[month] })),
    }))
    .filter((p) => p.Instance.length > 0);
}

function r50Items(report: string, item: Item): Array<Record<string, unknown>> {
  return item.leaves.map((leaf) => {
    const out: Record<string, unknown> = { [NAME_KEY[report]]: item.name };
    if (report !== 'PR') Object.assign(out, { Publisher: 'Pub', Platform: 'Plat' });
    const extra = { ...(item.extra ?? {}) };
    // R5.0 describes authors, dates and versions as typed lists.
    if (Array.isArray(extra.Authors)) {
      extra.Item_Contributors = (extra.Authors as Array<{ Name: string; ORCID?: string }>).map((a) => ({
        Type: 'Author',
        Name: a.Name,
        ...(a.ORCID && { Identifier: `ORCID:${a.ORCID}` }),
      }));
      delete extra.Authors;
    }
    if (typeof extra.Publication_Date === 'string') {
      extra.Item_Dates = [{ Type: 'Publication_Date', Value: extra.Publication_Date }];
      delete extra.Publication_Date;
    }
    if (typeof extra.Article_Version === 'string') {
      extra.Item_Attributes = [{ Type: 'Article_Version', Value: extra.Article_Version }];
      delete extra.Article_Version;
    }
    Object.assign(out, extra);
    if (item.ids) out.Item_ID = r50Ids(item.ids);
    if (item.parent)
      out.Item_Parent = {
        Item_Name: item.parent.title,
        Item_ID: r50Ids(item.parent.ids),
        Data_Type: item.parent.dataType,
      };
    return { ...out, ...leaf.attrs, Performance: r50Performance(leaf.usage) };
  });
}

/** The master report as COUNTER JSON of the release. */
export function masterReport(
  release: '5' | '5.1',
  report: 'PR' | 'DR' | 'TR' | 'IR',
  attributesToShow: string[],
  items: Item[],
): string {
  const names51: Record<string, string> = {
    PR: 'Platform Report',
    DR: 'Database Report',
    TR: 'Title Report',
    IR: 'Item Report',
  };
  const names50: Record<string, string> = {
    PR: 'Platform Master Report',
    DR: 'Database Master Report',
    TR: 'Title Master Report',
    IR: 'Item Master Report',
  };
  if (release === '5.1') {
    const attributes: Record<string, unknown> = { Attributes_To_Show: attributesToShow };
    if (report === 'IR') attributes.Include_Parent_Details = 'True';
    let reportItems: unknown[] = items.map((i) => r51Item(report, i));
    if (report === 'IR') {
      const groups = new Map<string, { parent: Record<string, unknown>; items: unknown[] }>();
      items.forEach((item, i) => {
        const key = item.parent?.title ?? '';
        const parent = item.parent
          ? { Title: item.parent.title, Data_Type: item.parent.dataType, Item_ID: item.parent.ids }
          : {};
        if (!groups.has(key)) groups.set(key, { parent, items: [] });
        groups.get(key)?.items.push(reportItems[i]);
      });
      reportItems = [...groups.values()].map((g) => ({ ...g.parent, Items: g.items }));
    }
    return JSON.stringify({
      Report_Header: {
        Release: '5.1',
        Report_ID: report,
        Report_Name: names51[report],
        Created: '2024-03-05T10:00:00Z',
        Created_By: 'Hand Platform',
        Institution_ID: { Proprietary: ['hand:inst'] },
        Institution_Name: 'Hand Library',
        Registry_Record: '',
        Report_Attributes: attributes,
        Report_Filters: { Begin_Date: '2024-01-01', End_Date: '2024-02-29' },
      },
      Report_Items: reportItems,
    });
  }
  const attributes = [{ Name: 'Attributes_To_Show', Value: attributesToShow.join('|') }];
  if (report === 'IR') attributes.push({ Name: 'Include_Parent_Details', Value: 'True' });
  return JSON.stringify({
    Report_Header: {
      Report_Name: names50[report],
      Report_ID: report,
      Release: '5',
      Institution_Name: 'Hand Library',
      Institution_ID: [{ Type: 'Proprietary', Value: 'hand:inst' }],
      Customer_ID: 'hand',
      Report_Filters: [
        { Name: 'Begin_Date', Value: '2024-01-01' },
        { Name: 'End_Date', Value: '2024-02-29' },
      ],
      Report_Attributes: attributes,
      Created: '2024-03-05T10:00:00Z',
      Created_By: 'Hand Platform',
    },
    Report_Items: items.flatMap((i) => r50Items(report, i)),
  });
}

// ---------------------------------------------------------------------------------------------
// The data. Metric abbreviations in the comments: TIR Total_Item_Requests, UIR Unique_Item_Requests,
// TII/UII the Investigations, UTR/UTI the Unique_Title ones.

const TIR = 'Total_Item_Requests';
const UIR = 'Unique_Item_Requests';
const TII = 'Total_Item_Investigations';
const UII = 'Unique_Item_Investigations';
const UTR = 'Unique_Title_Requests';
const UTI = 'Unique_Title_Investigations';
const LE = 'Limit_Exceeded';
const NL = 'No_License';
const JAN = '2024-01';
const FEB = '2024-02';

/** Titles; `open` is the release's open Access_Type, `ref` the Data_Type of the reference work. */
export function titles(open: string, ref: string, section?: boolean): Item[] {
  const s = (value: string): Record<string, string> => (section ? { Section_Type: value } : {});
  return [
    {
      name: 'Book A',
      ids: { Proprietary: 'p:a', ISBN: '978-1-11111-111-1' },
      leaves: [
        {
          attrs: {
            Data_Type: 'Book',
            ...s('Book'),
            YOP: '2020',
            Access_Type: 'Controlled',
            Access_Method: 'Regular',
          },
          usage: {
            [TIR]: { [JAN]: 5, [FEB]: 3 },
            [UTR]: { [JAN]: 2, [FEB]: 1 },
            [TII]: { [JAN]: 7 },
            [LE]: { [FEB]: 4 },
          },
        },
        {
          attrs: {
            Data_Type: 'Book',
            ...s('Chapter'),
            YOP: '2020',
            Access_Type: 'Controlled',
            Access_Method: 'Regular',
          },
          usage: { [TIR]: { [FEB]: 2 } },
        },
        {
          attrs: {
            Data_Type: 'Book',
            ...s('Book'),
            YOP: '2021',
            Access_Type: 'Controlled',
            Access_Method: 'Regular',
          },
          usage: { [TIR]: { [JAN]: 1 }, [UTR]: { [JAN]: 1 } },
        },
        {
          attrs: {
            Data_Type: 'Book',
            ...s('Book'),
            YOP: '2020',
            Access_Type: open,
            Access_Method: 'Regular',
          },
          usage: { [TIR]: { [FEB]: 10 }, [UTR]: { [FEB]: 2 } },
        },
        {
          attrs: {
            Data_Type: 'Book',
            ...s('Book'),
            YOP: '2020',
            Access_Type: 'Controlled',
            Access_Method: 'TDM',
          },
          usage: { [TIR]: { [JAN]: 100 } },
        },
      ],
    },
    {
      name: 'Ref B',
      ids: { Proprietary: 'p:b' },
      leaves: [
        {
          attrs: {
            Data_Type: ref,
            ...s('Book'),
            YOP: '2019',
            Access_Type: 'Controlled',
            Access_Method: 'Regular',
          },
          usage: { [TIR]: { [FEB]: 6 }, [UTR]: { [FEB]: 3 }, [NL]: { [JAN]: 2 } },
        },
      ],
    },
    {
      name: 'Journal C',
      ids: { Proprietary: 'p:c', Print_ISSN: '1111-2222' },
      leaves: [
        {
          attrs: {
            Data_Type: 'Journal',
            ...s('Article'),
            YOP: '2020',
            Access_Type: 'Controlled',
            Access_Method: 'Regular',
          },
          usage: {
            [TIR]: { [JAN]: 8, [FEB]: 2 },
            [UIR]: { [JAN]: 6, [FEB]: 2 },
            [TII]: { [JAN]: 9 },
            [UII]: { [JAN]: 7 },
            [UTI]: { [JAN]: 1 },
            [LE]: { [JAN]: 1 },
            [NL]: { [FEB]: 3 },
          },
        },
        {
          attrs: {
            Data_Type: 'Journal',
            ...s('Article'),
            YOP: '2021',
            Access_Type: 'Controlled',
            Access_Method: 'Regular',
          },
          usage: { [TIR]: { [JAN]: 4 }, [UIR]: { [JAN]: 3 } },
        },
        {
          attrs: {
            Data_Type: 'Journal',
            ...s('Article'),
            YOP: '2020',
            Access_Type: open,
            Access_Method: 'Regular',
          },
          usage: { [TIR]: { [FEB]: 5 }, [UIR]: { [FEB]: 4 } },
        },
        {
          attrs: {
            Data_Type: 'Journal',
            ...s('Article'),
            YOP: '2020',
            Access_Type: 'Controlled',
            Access_Method: 'TDM',
          },
          usage: { [TIR]: { [FEB]: 50 } },
        },
      ],
    },
    {
      name: 'Other D',
      ids: { Proprietary: 'p:d' },
      leaves: [
        {
          attrs: {
            Data_Type: 'Other',
            ...s('Other'),
            YOP: '2020',
            Access_Type: 'Controlled',
            Access_Method: 'Regular',
          },
          usage: { [TIR]: { [JAN]: 9 } },
        },
      ],
    },
  ];
}

export function platforms(): Item[] {
  return [
    {
      name: 'Plat',
      leaves: [
        {
          attrs: { Data_Type: 'Book', Access_Method: 'Regular' },
          usage: {
            [TIR]: { [JAN]: 4, [FEB]: 1 },
            [UIR]: { [JAN]: 3 },
            [UTR]: { [JAN]: 2, [FEB]: 1 },
            [TII]: { [JAN]: 9 },
          },
        },
        { attrs: { Data_Type: 'Book', Access_Method: 'TDM' }, usage: { [TIR]: { [JAN]: 20 } } },
        {
          attrs: { Data_Type: 'Platform', Access_Method: 'Regular' },
          usage: { Searches_Platform: { [JAN]: 11, [FEB]: 12 } },
        },
        {
          attrs: { Data_Type: 'Journal', Access_Method: 'Regular' },
          usage: { [TIR]: { [FEB]: 6 }, [UIR]: { [FEB]: 5 } },
        },
      ],
    },
  ];
}

export function databases(full: string, ai: string): Item[] {
  return [
    {
      name: 'D1',
      ids: { Proprietary: 'p:d1' },
      leaves: [
        {
          attrs: { Data_Type: full, Access_Method: 'Regular' },
          usage: {
            Searches_Regular: { [JAN]: 5 },
            Searches_Automated: { [FEB]: 2 },
            Searches_Federated: { [JAN]: 1 },
            [TII]: { [JAN]: 8 },
            [TIR]: { [JAN]: 4 },
            [UII]: { [JAN]: 6 },
            [UIR]: { [JAN]: 3 },
            [LE]: { [FEB]: 7 },
            [NL]: { [JAN]: 1 },
          },
        },
        {
          attrs: { Data_Type: full, Access_Method: 'TDM' },
          usage: { [TIR]: { [JAN]: 30 }, Searches_Regular: { [JAN]: 3 } },
        },
      ],
    },
    {
      name: 'D2',
      ids: { Proprietary: 'p:d2' },
      leaves: [
        { attrs: { Data_Type: ai, Access_Method: 'Regular' }, usage: { Searches_Regular: { [FEB]: 9 } } },
      ],
    },
  ];
}

/** Items; `open` and `free` are the release's Access_Type values for open and free-to-read content. */
export function items(open: string, free: string): Item[] {
  const journal = { title: 'J', dataType: 'Journal', ids: { Proprietary: 'p:j', Print_ISSN: '1234-5678' } };
  const book = { title: 'B', dataType: 'Book', ids: { Proprietary: 'p:bk', ISBN: '978-1-22222-222-2' } };
  const article = (date: string): Record<string, unknown> => ({
    Authors: [{ Name: 'Ann', ORCID: '0000-0001-2345-6789' }],
    Publication_Date: date,
    Article_Version: 'VoR',
  });
  return [
    {
      name: 'A1',
      ids: { DOI: '10.1/a1', Proprietary: 'p:a1' },
      extra: article('2020-01-02'),
      parent: journal,
      leaves: [
        {
          attrs: { Data_Type: 'Article', YOP: '2020', Access_Type: 'Controlled', Access_Method: 'Regular' },
          usage: { [TIR]: { [JAN]: 4, [FEB]: 2 }, [UIR]: { [JAN]: 3, [FEB]: 1 }, [TII]: { [JAN]: 10 } },
        },
        {
          attrs: { Data_Type: 'Article', YOP: '2020', Access_Type: 'Controlled', Access_Method: 'TDM' },
          usage: { [TIR]: { [JAN]: 40 } },
        },
      ],
    },
    {
      name: 'A2',
      ids: { DOI: '10.1/a2', Proprietary: 'p:a2' },
      extra: article('2021-05-06'),
      parent: journal,
      leaves: [
        {
          attrs: { Data_Type: 'Article', YOP: '2021', Access_Type: open, Access_Method: 'Regular' },
          usage: { [TIR]: { [FEB]: 5 }, [UIR]: { [FEB]: 5 } },
        },
      ],
    },
    {
      name: 'C',
      ids: { Proprietary: 'p:c' },
      parent: book,
      leaves: [
        {
          attrs: {
            Data_Type: 'Book_Segment',
            YOP: '2019',
            Access_Type: 'Controlled',
            Access_Method: 'Regular',
          },
          usage: { [TIR]: { [JAN]: 7 }, [UIR]: { [JAN]: 6 } },
        },
      ],
    },
    {
      name: 'M',
      ids: { Proprietary: 'p:m' },
      leaves: [
        {
          attrs: { Data_Type: 'Multimedia', YOP: '2018', Access_Type: free, Access_Method: 'Regular' },
          usage: { [TIR]: { [JAN]: 2, [FEB]: 3 }, [UIR]: { [JAN]: 1, [FEB]: 2 } },
        },
      ],
    },
    {
      name: 'V',
      ids: { Proprietary: 'p:v' },
      leaves: [
        {
          attrs: {
            Data_Type: 'Audiovisual',
            YOP: '2018',
            Access_Type: 'Controlled',
            Access_Method: 'Regular',
          },
          usage: { [TIR]: { [FEB]: 4 }, [UIR]: { [FEB]: 4 } },
        },
      ],
    },
    {
      name: 'S',
      ids: { Proprietary: 'p:s' },
      extra: article('2022-03-04'),
      leaves: [
        {
          attrs: { Data_Type: 'Article', YOP: '2022', Access_Type: open, Access_Method: 'Regular' },
          usage: { [TIR]: { [JAN]: 1 }, [UIR]: { [JAN]: 1 } },
        },
      ],
    },
  ];
}
