import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CQL_LIMITS, CQL_SUPPORT_SQL, CqlError, CqlLimitError, cqlToSql } from '../../src/cql/index.ts';
import { PgliteDb } from '../../src/store/pglite.ts';

const TABLE = { jsonColumn: 'jsonb', idColumn: 'id', seqColumn: 'seq' };

/** `a=0 and a=1 or a=2 and …`: every operator changes the kind, so each one nests a level. */
function alternating(clauses: number): string {
  let query = 'a=0';
  for (let i = 1; i < clauses; i++) query += `${i % 2 ? ' and ' : ' or '}a=${i}`;
  return query;
}

function limitError(query: string): CqlLimitError {
  try {
    cqlToSql(query, TABLE, []);
  } catch (err) {
    assert.ok(err instanceof CqlLimitError, `expected a CqlLimitError, got ${String(err)}`);
    return err;
  }
  assert.fail(`accepted: ${query.slice(0, 80)}`);
}

describe('CQL limits', () => {
  it('refuses the 269 alternating and/or clauses that broke the embedded database', () => {
    const err = limitError(alternating(269));
    assert.match(err.message, /nested deeper than 32 levels/);
    assert.ok(err instanceof CqlError, 'still a CqlError for callers that only know that');
  });

  it('accepts alternation up to the depth limit and refuses one level more', () => {
    // n alternating clauses nest n - 1 boolean levels.
    const deepest = CQL_LIMITS.maxDepth + 1;
    assert.doesNotThrow(() => cqlToSql(alternating(deepest), TABLE, []));
    limitError(alternating(deepest + 1));
  });

  it('nests only where the operator kind changes: and/not chains are one conjunction', () => {
    const { where } = cqlToSql('a=1 and b=2 not c=3 and d=4 not e=5', TABLE, []);
    const params: unknown[] = [];
    const [a, b, c, d, e] = ['a=1', 'b=2', 'c=3', 'd=4', 'e=5'].map((q) => cqlToSql(q, TABLE, params).where);
    assert.equal(where, `(${a} AND ${b} AND NOT ${c} AND ${d} AND NOT ${e})`);
  });

  it('keeps long chains of one operator flat whatever their length', () => {
    const query = Array.from({ length: CQL_LIMITS.maxClauses }, (_, i) => `a=${i}`).join(' or ');
    assert.doesNotThrow(() => cqlToSql(query, TABLE, []));
  });

  it('refuses more search clauses than the limit, counting the terms of a group', () => {
    const terms = Array.from({ length: CQL_LIMITS.maxClauses + 1 }, (_, i) => String(i)).join(' or ');
    assert.ok(terms.length < CQL_LIMITS.maxLength, 'the length limit is not what refuses it');
    assert.match(limitError(`a=(${terms})`).message, /more than 1000 search clauses/);
  });

  it('refuses queries longer than the length limit before parsing them', () => {
    const err = limitError(`label="${'x'.repeat(CQL_LIMITS.maxLength)}"`);
    assert.match(err.message, /longer than 16384 characters/);
  });

  it('refuses parentheses nested deeper than their limit', () => {
    const n = CQL_LIMITS.maxParentheses + 1;
    assert.match(limitError(`${'('.repeat(n)}a=1${')'.repeat(n)}`).message, /parentheses nested deeper/);
  });
});

/** A small deterministic pseudo-random generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Row = { f: string | undefined; g: string | undefined };
const VALUES = ['x', 'y', undefined];

describe('flattened SQL keeps the meaning of CQL (left-binding and/or/not) on PGlite', () => {
  let db: PgliteDb;
  const rows: Row[] = [];
  before(async () => {
    db = await PgliteDb.open(undefined);
    await db.query('CREATE SCHEMA harvester');
    for (const statement of CQL_SUPPORT_SQL) await db.query(statement);
    await db.query('CREATE TABLE t (id uuid, seq bigint, jsonb jsonb)');
    for (const f of VALUES)
      for (const g of VALUES) {
        rows.push({ f, g });
        const json = JSON.stringify({ ...(f && { f }), ...(g && { g }) });
        await db.query('INSERT INTO t VALUES (gen_random_uuid(), $1, $2::jsonb)', [rows.length, json]);
      }
  });
  after(async () => {
    await db.close();
  });

  it('matches a direct evaluation for 200 generated queries', async () => {
    const next = random(20261206);
    for (let n = 0; n < 200; n++) {
      // A flat CQL sequence with operators of equal precedence: evaluate it left to right, as CQL binds.
      const clauses = 2 + Math.floor(next() * 6);
      let query = '';
      let evaluate = (_r: Row) => true;
      for (let i = 0; i < clauses; i++) {
        const field = next() < 0.5 ? 'f' : 'g';
        const value = next() < 0.5 ? 'x' : 'y';
        const test = (r: Row) => r[field] === value;
        if (i === 0) {
          query = `${field}==${value}`;
          evaluate = test;
          continue;
        }
        const op = ['and', 'or', 'not'][Math.floor(next() * 3)];
        const before = evaluate;
        evaluate =
          op === 'and'
            ? (r) => before(r) && test(r)
            : op === 'or'
              ? (r) => before(r) || test(r)
              : (r) => before(r) && !test(r);
        query += ` ${op} ${field}==${value}`;
      }
      const params: unknown[] = [];
      const sql = cqlToSql(query, TABLE, params);
      const res = await db.query<{ seq: number }>(
        `SELECT seq FROM t WHERE ${sql.where} ORDER BY seq`,
        params,
      );
      const expected = rows.flatMap((r, i) => (evaluate(r) ? [i + 1] : []));
      assert.deepEqual(
        res.rows.map((r) => Number(r.seq)),
        expected,
        query,
      );
    }
  });
});
