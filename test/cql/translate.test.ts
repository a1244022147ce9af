import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { CQL_SUPPORT_SQL, CqlError, cqlToSql, type CqlTableSpec } from '../../src/cql/index.ts';
import type { Db } from '../../src/store/db.ts';
import { PgliteDb } from '../../src/store/pglite.ts';
import { PostgresDb } from '../../src/store/postgres.ts';
import { startPgServer, type PgServer } from '../helpers/pg-server.ts';

/** A stable UUID per fixture name, so failures show names and `sortby id` has a known order. */
function uuidOf(name: string): string {
  const h = createHash('sha256').update(name).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const A = '4b659cb9-e4bb-493d-ae30-5f5690c54802';
const B = '0ba00047-b6cb-417a-a735-e2c1e45e30f1';
const C = 'e8b5c3f4-1c9b-4d0e-9f7a-2b3c4d5e6f70';
const P = '9bb5a51a-0a2e-4d56-8f7a-3c1f0b2e4d61';
const Q = '1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9';

type Fixture = [name: string, record: Record<string, unknown>];

const JOBS: Fixture[] = [
  ['J1', { type: 'periodic', timestamp: 1000, nextStart: '2022-09-16T00:00:00.000+00:00' }],
  [
    'J2',
    {
      type: 'tenant',
      timestamp: 2000,
      startedAt: '2022-09-14T10:14:36.843+00:00',
      finishedAt: '2022-09-14T10:14:40.000+00:00',
      result: 'success',
    },
  ],
  [
    'J3',
    {
      type: 'provider',
      providerId: A,
      timestamp: 3000,
      startedAt: '2022-09-14T10:14:37.888+00:00',
      finishedAt: '2022-09-14T10:14:58.285+00:00',
      result: 'failure',
      errorMessage: 'X',
    },
  ],
  ['J4', { type: 'provider', providerId: B, timestamp: 4000 }],
  ['J5', { type: 'periodic', timestamp: 5000, startedAt: '2022-09-15T08:00:00.000+00:00' }],
  [
    'J6',
    {
      type: 'provider',
      providerId: A,
      timestamp: 6000,
      finishedAt: '2022-09-16T00:00:00.000+00:00',
      result: 'failure',
      errorMessage: 'Stale job',
    },
  ],
  ['J7', { type: 'provider', providerId: C, timestamp: 7000, nextStart: '2022-09-16T00:00:00.000+00:00' }],
];

const UDPS: Fixture[] = [
  [
    'U1',
    {
      label: 'Springer Nature',
      status: 'active',
      harvestingConfig: { harvestingStatus: 'active', harvestVia: 'sushi' },
      reportReleases: ['5', '5.1'],
      reportErrorCodes: ['3030', 'other'],
      hasFailedReport: 'yes',
    },
  ],
  [
    'U2',
    {
      label: 'ACM',
      status: 'active',
      harvestingConfig: {
        harvestingStatus: 'inactive',
        harvestVia: 'aggregator',
        aggregator: { id: 'G', name: 'Nationaler Statistikserver' },
      },
      reportReleases: ['5.1'],
      latestReport: '2018-12',
    },
  ],
  // Extra records for masking, accents and empty strings; they have no status.
  ['X1', { label: 'A*', description: 'something' }],
  ['X2', { label: 'AB', description: '' }],
  ['X3', { label: '100%' }],
  ['X4', { label: '1000' }],
  ['X5', { label: 'Müller & Söhne' }],
];

function report(name: string, fields: Record<string, unknown>): Fixture {
  return [name, { providerId: P, downloadTime: '2019-01-01T00:00:00.000+00:00', ...fields }];
}

const REPORTS: Fixture[] = [
  report('R1', { release: '5', reportName: 'TR', yearMonth: '2018-01', report: {} }),
  report('R2', {
    release: '5',
    reportName: 'TR',
    yearMonth: '2018-02',
    failedAttempts: 2,
    failedReason: 'x',
  }),
  report('R3', {
    release: '5',
    reportName: 'TR',
    yearMonth: '2018-03',
    failedAttempts: 5,
    failedReason: 'x',
  }),
  report('R4', { release: '5.1', reportName: 'TR', yearMonth: '2018-04', report: {} }),
  report('R5', { release: '4', reportName: 'JR1 GOA', yearMonth: '2018-05', report: {} }),
  report('R6', { release: '5', reportName: 'TR', yearMonth: '2019-01', report: {} }),
  report('R7', {
    release: '5',
    reportName: 'tr',
    yearMonth: '2018-06',
    failedAttempts: 10,
    failedReason: 'x',
  }),
  report('R8', { providerId: Q, release: '5', reportName: 'TR', yearMonth: '2018-01', report: {} }),
];

const TABLES = { jobs: JOBS, udps: UDPS, reports: REPORTS } as const;
type TableName = keyof typeof TABLES;

function spec(table: TableName): CqlTableSpec {
  return {
    jsonColumn: 't.jsonb',
    idColumn: 't.id',
    seqColumn: 't.seq',
    virtualIndexes:
      table === 'udps'
        ? { keywords: ['label', 'description', 'harvestingConfig.aggregator.name'] }
        : undefined,
  };
}

const NAME_BY_ID = new Map(
  Object.values(TABLES).flatMap((fixtures) => fixtures.map(([n]) => [uuidOf(n), n])),
);
const names = (fixtures: Fixture[]) => fixtures.map(([n]) => n);
const allBut = (fixtures: Fixture[], ...excluded: string[]) =>
  names(fixtures).filter((n) => !excluded.includes(n));

interface Case {
  readonly name: string;
  readonly table: TableName;
  readonly query: string;
  readonly expected: readonly string[];
}

const r3 = uuidOf('R3');
const idsAtOrAboveR3 = names(REPORTS)
  .filter((n) => uuidOf(n) >= r3)
  .sort((x, y) => (uuidOf(x) < uuidOf(y) ? -1 : 1));

const CASES: Case[] = [
  // folio-contract §5.8 job cases
  {
    name: 'Q1',
    table: 'jobs',
    query: '(cql.allRecords=1) sortby startedAt/sort.descending',
    expected: ['J1', 'J4', 'J6', 'J7', 'J5', 'J3', 'J2'],
  },
  {
    name: 'Q2',
    table: 'jobs',
    query: '(nextStart="") sortby startedAt/sort.descending',
    expected: ['J1', 'J7'],
  },
  {
    name: 'Q3',
    table: 'jobs',
    query: '((startedAt="" NOT finishedAt="")) sortby startedAt/sort.descending',
    expected: ['J5'],
  },
  {
    name: 'Q4',
    table: 'jobs',
    query: '(finishedAt="") sortby startedAt/sort.descending',
    expected: ['J6', 'J3', 'J2'],
  },
  {
    name: 'Q5',
    table: 'jobs',
    query: '((nextStart="" or (startedAt="" NOT finishedAt=""))) sortby startedAt/sort.descending',
    expected: ['J1', 'J7', 'J5'],
  },
  {
    name: 'Q6',
    table: 'jobs',
    query: '(type=="periodic") sortby startedAt/sort.descending',
    expected: ['J1', 'J5'],
  },
  {
    name: 'Q7',
    table: 'jobs',
    query: '(type==("tenant" or "provider")) sortby startedAt/sort.descending',
    expected: ['J4', 'J6', 'J7', 'J3', 'J2'],
  },
  {
    name: 'Q8',
    table: 'jobs',
    query: '(result=="failure" and type=="provider") sortby startedAt/sort.descending',
    expected: ['J6', 'J3'],
  },
  {
    name: 'Q9',
    table: 'jobs',
    query: '(finishedAt="" and result=="success") sortby finishedAt',
    expected: ['J2'],
  },
  {
    name: 'Q10',
    table: 'jobs',
    query: '(cql.allRecords=1) sortby finishedAt/sort.descending',
    expected: ['J1', 'J4', 'J5', 'J7', 'J6', 'J3', 'J2'],
  },
  {
    name: 'Q11',
    table: 'jobs',
    query: `(providerId==${A} and startedAt="") sortby finishedAt/sort.descending`,
    expected: ['J3'],
  },
  { name: 'Q12', table: 'jobs', query: 'type==tenant', expected: ['J2'] },
  { name: 'Q13', table: 'jobs', query: 'result==failure AND errorMessage=="Stale job"', expected: ['J6'] },
  {
    name: 'Q14',
    table: 'jobs',
    query: `providerId=="${A}" sortby timestamp/sort.descending`,
    expected: ['J6', 'J3'],
  },
  // folio-contract §5.8 store cases
  { name: 'S1', table: 'udps', query: '(harvestingConfig.harvestingStatus=active)', expected: ['U1'] },
  {
    name: 'S2',
    table: 'udps',
    query: 'harvestingConfig.harvestingStatus=="active" sortby id',
    expected: ['U1'],
  },
  {
    name: 'S3',
    table: 'reports',
    query: `(providerId=${P} AND release=5 AND ((cql.allRecords=1 NOT failedAttempts="") OR (failedAttempts>=5)) AND reportName==TR AND yearMonth>=2018-01 AND yearMonth<=2018-12)`,
    expected: ['R1', 'R3'],
  },
  {
    name: 'S4',
    table: 'reports',
    query: `providerId=="${P}" AND release=="5" AND reportName=="TR" AND yearMonth>="2018-01" AND yearMonth<="2018-12" AND (cql.allRecords=1 NOT failedAttempts="" OR failedAttempts>=/number 5)`,
    expected: ['R1', 'R3', 'R7'],
  },
  {
    name: 'S5',
    table: 'reports',
    query: `(providerId=${P} AND release=4 AND ((cql.allRecords=1 NOT failedAttempts="") OR (failedAttempts>=5)) AND reportName==JR1 GOA AND yearMonth>=2018-01 AND yearMonth<=2018-12)`,
    expected: ['R5'],
  },
  {
    name: 'S6',
    table: 'reports',
    query: `(providerId=${P} AND release=5 AND yearMonth=2018-02 AND reportName==TR)`,
    expected: ['R2'],
  },
  {
    name: 'S7',
    table: 'reports',
    query: `providerId=="${P}" AND release=="5.1" AND reportName=="TR" AND yearMonth=="2018-04"`,
    expected: ['R4'],
  },
  { name: 'S8', table: 'reports', query: 'release=5', expected: ['R1', 'R2', 'R3', 'R6', 'R7', 'R8'] },
  { name: 'S9', table: 'reports', query: 'release=5.1', expected: ['R4'] },
  { name: 'S10', table: 'reports', query: 'reportName==tr AND yearMonth==2018-01', expected: ['R1', 'R8'] },
  { name: 'S11', table: 'reports', query: 'reportName==JR1', expected: [] },
  { name: 'S12', table: 'reports', query: 'reportName=JR1', expected: ['R5'] },
  { name: 'S13', table: 'udps', query: '(status="active") sortby label', expected: ['U2', 'U1'] },
  {
    name: 'S14',
    table: 'udps',
    query: '(((keywords all "spring*")) and status="active") sortby label',
    expected: ['U1'],
  },
  {
    name: 'S15',
    table: 'udps',
    query: '(harvestingConfig.aggregator.name="Nationaler Statistikserver") sortby label',
    expected: ['U2'],
  },
  {
    name: 'S16',
    table: 'udps',
    query: '(reportErrorCodes=("3030" or "other")) sortby label',
    expected: ['U1'],
  },
  { name: 'S17', table: 'udps', query: '(reportReleases="5") sortby label', expected: ['U1'] },
  { name: 'S18', table: 'udps', query: '(hasFailedReport="yes") sortby label', expected: ['U1'] },
  {
    name: 'S19',
    table: 'udps',
    query: '(cql.allRecords=1) sortby latestReport/sort.descending',
    expected: ['U1', 'X1', 'X2', 'X3', 'X4', 'X5', 'U2'],
  },
  { name: 'S20', table: 'udps', query: 'label=="A\\*"', expected: ['X1'] },
  { name: 'S21', table: 'udps', query: 'label=="spr*"', expected: ['U1'] },
  { name: 'S22', table: 'udps', query: 'label=="100%"', expected: ['X3'] },
  { name: 'S23', table: 'reports', query: 'failedAttempts=""', expected: ['R2', 'R3', 'R7'] },
  {
    name: 'S24',
    table: 'reports',
    query: 'cql.allRecords=1 NOT failedAttempts=""',
    expected: ['R1', 'R4', 'R5', 'R6', 'R8'],
  },
  // Masking
  { name: 'unescaped * is a wildcard', table: 'udps', query: 'label=="A*"', expected: ['U2', 'X1', 'X2'] },
  { name: '_ is literal under ==', table: 'udps', query: 'label=="100_"', expected: [] },
  { name: '? matches one character', table: 'udps', query: 'label=="10?0"', expected: ['X4'] },
  { name: 'escaped ? is literal', table: 'udps', query: 'label=="10\\?0"', expected: [] },
  { name: '<> with a wildcard', table: 'udps', query: 'label<>"A*"', expected: ['U1', 'X3', 'X4', 'X5'] },
  // Case and accent folding
  { name: 'accent folding, exact', table: 'udps', query: 'label=="MULLER & sohne"', expected: ['X5'] },
  { name: 'accent folding, wildcard', table: 'udps', query: 'label==muller*', expected: ['X5'] },
  { name: 'accent folding, word', table: 'udps', query: 'label=müller', expected: ['X5'] },
  { name: 'all ignores word order', table: 'udps', query: 'label all "sohne muller"', expected: ['X5'] },
  { name: 'adj keeps word order', table: 'udps', query: 'label adj "sohne muller"', expected: [] },
  { name: 'any', table: 'udps', query: 'reportErrorCodes any "3031 other"', expected: ['U1'] },
  { name: 'all needs every word', table: 'udps', query: 'reportErrorCodes all "3030 3031"', expected: [] },
  // Words and phrases
  { name: '= is a phrase match', table: 'udps', query: 'label=Nature Springer', expected: [] },
  { name: 'quoted phrase', table: 'udps', query: 'label="springer nature"', expected: ['U1'] },
  { name: 'prefix inside a phrase', table: 'udps', query: 'label="spring* nature"', expected: ['U1'] },
  { name: 'no prefix without *', table: 'udps', query: 'label=spring', expected: [] },
  {
    name: 'active is not inactive',
    table: 'udps',
    query: 'harvestingConfig.harvestingStatus=inactive',
    expected: ['U2'],
  },
  {
    name: 'keywords cover the aggregator name',
    table: 'udps',
    query: 'keywords=statistikserver',
    expected: ['U2'],
  },
  { name: 'keywords phrase', table: 'udps', query: 'keywords="springer nature"', expected: ['U1'] },
  { name: 'yearMonth words differ', table: 'reports', query: 'yearMonth=2020-03', expected: [] },
  { name: 'yearMonth prefix', table: 'reports', query: 'yearMonth=2018-0*', expected: allBut(REPORTS, 'R6') },
  { name: 'uuid as words', table: 'jobs', query: `providerId=${A}`, expected: ['J3', 'J6'] },
  {
    name: 'a different uuid is no match',
    table: 'jobs',
    query: `providerId=${A.slice(0, -1)}3`,
    expected: [],
  },
  { name: 'f=* is always true', table: 'reports', query: 'failedAttempts=*', expected: names(REPORTS) },
  { name: 'f==* needs a value', table: 'reports', query: 'failedAttempts==*', expected: ['R2', 'R3', 'R7'] },
  { name: 'f=="" is the empty string', table: 'udps', query: 'description==""', expected: ['X2'] },
  { name: 'f="" is defined', table: 'udps', query: 'description=""', expected: ['X1', 'X2'] },
  { name: 'numbers as JSON text', table: 'jobs', query: 'timestamp==3000', expected: ['J3'] },
  // Comparison, NOT and precedence
  { name: '<> needs a value', table: 'reports', query: 'failedAttempts<>5', expected: ['R2', 'R7'] },
  {
    name: 'NOT includes undefined',
    table: 'reports',
    query: 'cql.allRecords=1 NOT failedAttempts==5',
    expected: allBut(REPORTS, 'R3'),
  },
  { name: 'textual >=', table: 'reports', query: 'failedAttempts>=5', expected: ['R3'] },
  { name: 'textual <', table: 'reports', query: 'yearMonth<2018-02', expected: ['R1', 'R8'] },
  {
    name: 'equal precedence, left to right',
    table: 'reports',
    query: 'release=4 or release=5.1 and reportName==TR',
    expected: ['R4'],
  },
  {
    name: 'parentheses',
    table: 'reports',
    query: 'release=4 or (release=5.1 and reportName==TR)',
    expected: ['R4', 'R5'],
  },
  { name: 'empty query', table: 'reports', query: '  ', expected: names(REPORTS) },
  // /number
  { name: '>/number', table: 'reports', query: 'failedAttempts>/number 2', expected: ['R3', 'R7'] },
  { name: '==/number', table: 'reports', query: 'failedAttempts==/number 5.0', expected: ['R3'] },
  { name: '</number', table: 'reports', query: 'failedAttempts</number "1e1"', expected: ['R2', 'R3'] },
  { name: '<>/number', table: 'reports', query: 'failedAttempts<>/number 5', expected: ['R2', 'R7'] },
  {
    name: '/number on a numeric string',
    table: 'reports',
    query: 'release>/number 4.5',
    expected: allBut(REPORTS, 'R5'),
  },
  // Sorting
  {
    name: 'sort numeric descending',
    table: 'reports',
    query: 'cql.allRecords=1 sortby failedAttempts/number/sort.descending',
    expected: ['R1', 'R4', 'R5', 'R6', 'R8', 'R7', 'R3', 'R2'],
  },
  {
    name: 'sort textual descending',
    table: 'reports',
    query: 'cql.allRecords=1 sortby failedAttempts/sort.descending',
    expected: ['R1', 'R4', 'R5', 'R6', 'R8', 'R3', 'R2', 'R7'],
  },
  {
    name: 'sort ascending puts undefined last',
    table: 'reports',
    query: 'cql.allRecords=1 sortBy failedAttempts/number',
    expected: ['R2', 'R3', 'R7', 'R1', 'R4', 'R5', 'R6', 'R8'],
  },
  {
    name: 'several sort keys',
    table: 'reports',
    query: 'cql.allRecords=1 sortby release/sort.descending yearMonth/sort.ascending',
    expected: ['R4', 'R1', 'R8', 'R2', 'R3', 'R7', 'R6', 'R5'],
  },
  // id
  { name: 'id==uuid', table: 'reports', query: `id==${r3}`, expected: ['R3'] },
  { name: 'id=uuid (upper case)', table: 'reports', query: `id=${r3.toUpperCase()}`, expected: ['R3'] },
  { name: 'id with an invalid uuid', table: 'reports', query: 'id==not-a-uuid', expected: [] },
  { name: 'id==*', table: 'reports', query: 'id==*', expected: names(REPORTS) },
  { name: 'id=""', table: 'reports', query: 'id=""', expected: names(REPORTS) },
  { name: 'id prefix', table: 'reports', query: `id==${r3.slice(0, 10)}*`, expected: ['R3'] },
  { name: 'id<>uuid', table: 'reports', query: `id<>${r3}`, expected: allBut(REPORTS, 'R3') },
  { name: 'id>=uuid', table: 'reports', query: `id>=${r3} sortby id`, expected: idsAtOrAboveR3 },
  // Injection attempts are plain values
  { name: 'quote in a term', table: 'udps', query: `label=="x'; drop table udps; --"`, expected: [] },
  { name: 'quote in an index', table: 'udps', query: `la'bel=="x"`, expected: [] },
  { name: 'still there', table: 'udps', query: 'label=ACM', expected: ['U2'] },
];

const ERRORS: string[] = [
  'type==',
  'failedAttempts>=/number abc',
  'id=/number 5',
  'label=/ignoreCase x',
  'a=b prox c=d',
  'foo',
  'cql.serverChoice=x',
  'keywords>/number 1',
  'id>not-a-uuid',
  'a.=x',
];

async function createTables(db: Db): Promise<void> {
  await db.query('CREATE SCHEMA IF NOT EXISTS harvester');
  for (const sql of CQL_SUPPORT_SQL) await db.query(sql);
  for (const [table, fixtures] of Object.entries(TABLES)) {
    await db.query(`CREATE TABLE ${table} (id uuid PRIMARY KEY, jsonb jsonb NOT NULL, seq bigserial)`);
    for (const [name, record] of fixtures) {
      await db.query(`INSERT INTO ${table} (id, jsonb) VALUES ($1, $2)`, [
        uuidOf(name),
        JSON.stringify(record),
      ]);
    }
  }
}

async function select(
  db: Db,
  table: TableName,
  cql: string,
  params: unknown[] = [],
  extraWhere = 'TRUE',
): Promise<string[]> {
  const { where, orderBy } = cqlToSql(cql, spec(table), params);
  const res = await db.query<{ id: string }>(
    `SELECT t.id FROM ${table} t WHERE ${extraWhere} AND ${where} ORDER BY ${orderBy}`,
    params,
  );
  return res.rows.map((row) => NAME_BY_ID.get(row.id) ?? row.id);
}

function defineCases(open: () => Promise<Db>): void {
  let db: Db;
  before(async () => {
    db = await open();
    await createTables(db);
  });
  after(async () => {
    await db.close();
  });

  for (const c of CASES) {
    it(`${c.name}: ${c.query}`, async () => {
      assert.deepEqual(await select(db, c.table, c.query), c.expected);
    });
  }

  it('Q15: composes with other parameters', async () => {
    const params: unknown[] = [3000, A];
    const extra = `(t.jsonb->>'timestamp')::numeric <= $1 AND t.jsonb->>'providerId' = $2`;
    assert.deepEqual(await select(db, 'jobs', 'cql.allRecords=1', params, extra), ['J3']);
  });

  it('Q16: cql.allRecords=1 with a timestamp parameter', async () => {
    const extra = `(t.jsonb->>'timestamp')::numeric <= $1`;
    assert.deepEqual(await select(db, 'jobs', 'cql.allRecords=1', [2000], extra), ['J1', 'J2']);
  });

  it('numbers its parameters after existing ones', async () => {
    const params: unknown[] = [5000];
    const extra = `(t.jsonb->>'timestamp')::numeric < $1`;
    const query = 'type==("tenant" or "provider") and result=failure sortby timestamp';
    assert.deepEqual(await select(db, 'jobs', query, params, extra), ['J3']);
    assert.equal(params[0], 5000);
    assert.ok(params.length > 1);
  });

  it('the where expression is never NULL', async () => {
    const params: unknown[] = [];
    const query =
      'failedAttempts==5 or failedAttempts<>5* or failedAttempts>1 or failedAttempts>/number 1 or nothing=x or nothing all "a b" or id==abc*';
    const { where } = cqlToSql(query, spec('reports'), params);
    const res = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM reports t WHERE (${where}) IS NULL`,
      params,
    );
    assert.equal(res.rows[0].n, 0);
    const udpParams: unknown[] = [];
    const udp = cqlToSql('keywords=nature or keywords<>x or keywords>=a', spec('udps'), udpParams);
    const udpRes = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM udps t WHERE (${udp.where}) IS NULL`,
      udpParams,
    );
    assert.equal(udpRes.rows[0].n, 0);
  });
}

describe('cqlToSql', () => {
  for (const query of ERRORS) {
    it(`rejects ${query}`, () => {
      const params: unknown[] = ['kept'];
      assert.throws(() => cqlToSql(query, spec('udps'), params), CqlError);
      assert.deepEqual(params, ['kept']);
    });
  }

  it('Q17: type== is an error at the end of the query', () => {
    assert.throws(
      () => cqlToSql('type==', spec('jobs'), []),
      (err: unknown) =>
        err instanceof CqlError && err.position === 7 && /expected a term after "=="/u.test(err.message),
    );
  });

  it('keeps values out of the SQL text', () => {
    const params: unknown[] = [];
    const { where } = cqlToSql(`label=="x'; drop table t; --" or label=abc`, spec('udps'), params);
    assert.ok(!where.includes('drop'));
    assert.ok(!where.includes('abc'));
    assert.deepEqual(params, ["x'; drop table t; --", ' abc ']);
  });

  it('handles an empty query', () => {
    assert.deepEqual(cqlToSql(' ', spec('jobs'), []), { where: 'TRUE', orderBy: 't.seq ASC' });
  });

  it('flattens long chains', () => {
    const query = Array.from({ length: 1000 }, (_, i) => `a==${i}`).join(' or ');
    const { where } = cqlToSql(query, spec('jobs'), []);
    assert.equal(where.split(' OR ').length, 1000);
  });
});

describe('on PGlite', () => {
  defineCases(() => PgliteDb.open(undefined));
});

describe('on PostgreSQL', () => {
  let server: PgServer | undefined;
  defineCases(async () => {
    server = await startPgServer();
    return PostgresDb.open(await server.createDatabase());
  });
  after(async () => {
    await server?.stop();
  });
});
