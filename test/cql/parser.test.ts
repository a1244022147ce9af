import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CqlError, parseCql, type CqlClause, type CqlNode } from '../../src/cql/index.ts';

/** A compact rendering of a tree: `(index rel "term")`, `[op left right]`. */
function show(node: CqlNode | null): string {
  if (node === null) return '∅';
  if (node.type === 'boolean') return `[${node.operator} ${show(node.left)} ${show(node.right)}]`;
  const mods = node.modifiers.map((m) => `/${m}`).join('');
  return `(${node.index} ${node.relation}${mods} ${JSON.stringify(node.term)})`;
}

function tree(text: string): string {
  return show(parseCql(text).root);
}

function parseError(text: string): CqlError {
  try {
    parseCql(text);
  } catch (err) {
    if (err instanceof CqlError) return err;
    throw err;
  }
  assert.fail(`expected a CqlError for ${text}`);
}

describe('parseCql', () => {
  it('parses a clause with positions', () => {
    const root = parseCql('  type==tenant').root as CqlClause;
    assert.equal(root.type, 'clause');
    assert.equal(root.index, 'type');
    assert.equal(root.relation, '==');
    assert.equal(root.term, 'tenant');
    assert.equal(root.quoted, false);
    assert.equal(root.position, 3);
    assert.equal(root.termPosition, 9);
  });

  it('parses every relation', () => {
    for (const rel of ['==', '=', '<>', '<', '>', '<=', '>=']) {
      assert.equal(tree(`a${rel}b`), `(a ${rel} "b")`);
    }
    assert.equal(tree('a ADJ b and a All b and a any b'), '[and [and (a adj "b") (a all "b")] (a any "b")]');
  });

  it('joins unquoted words into one term', () => {
    assert.equal(
      tree('reportName==JR1 GOA AND yearMonth>=2018-01'),
      '[and (reportName == "JR1 GOA") (yearMonth >= "2018-01")]',
    );
    assert.equal(tree('label=Nature   Springer'), '(label = "Nature Springer")');
  });

  it('keeps escapes in quoted strings', () => {
    const root = parseCql(String.raw`label=="say \"hi\" \\ \*" or x=y`).root;
    assert.ok(root?.type === 'boolean' && root.left.type === 'clause');
    assert.equal(root.left.term, String.raw`say \"hi\" \\ \*`);
    assert.equal(root.left.quoted, true);
    assert.equal(show(root.right), '(x = "y")');
  });

  it('reads quoted special characters as term text', () => {
    assert.equal(tree('a="(x) and y=z sortby"'), '(a = "(x) and y=z sortby")');
    assert.equal(tree('a=""'), '(a = "")');
  });

  it('is left-associative with equal precedence', () => {
    assert.equal(tree('a=1 and b=2 or c=3'), '[or [and (a = "1") (b = "2")] (c = "3")]');
    assert.equal(tree('a=1 or b=2 not c=3'), '[not [or (a = "1") (b = "2")] (c = "3")]');
    assert.equal(tree('a=1 or (b=2 not c=3)'), '[or (a = "1") [not (b = "2") (c = "3")]]');
  });

  it('expands term groups', () => {
    assert.equal(
      tree('(type==("tenant" or "provider" NOT x))'),
      '[not [or (type == "tenant") (type == "provider")] (type == "x")]',
    );
  });

  it('parses relation modifiers', () => {
    assert.equal(tree('failedAttempts>=/number 5'), '(failedAttempts >=/number "5")');
    assert.equal(tree('a =/String/NUMBER 5'), '(a =/string/number "5")');
  });

  it('parses sort keys, keywords case-insensitively', () => {
    for (const sortby of ['sortby', 'sortBy', 'SORTBY']) {
      const q = parseCql(`(cql.allRecords=1) ${sortby} startedAt/sort.descending a b/number/Sort.Ascending`);
      assert.equal(show(q.root), '(cql.allRecords = "1")');
      assert.deepEqual(
        q.sortKeys.map((k) => [k.index, k.descending, k.numeric]),
        [
          ['startedAt', true, false],
          ['a', false, false],
          ['b', false, true],
        ],
      );
    }
    assert.equal(
      tree('a=1 AND b=2 Or c=3 NOT d=4'),
      '[not [or [and (a = "1") (b = "2")] (c = "3")] (d = "4")]',
    );
  });

  it('returns an empty query for blank text', () => {
    assert.deepEqual(parseCql(' \t '), { root: null, sortKeys: [] });
  });

  const errors: [query: string, position: number, message: RegExp][] = [
    ['type==', 7, /expected a term after "==" \(near ""\)$/u],
    ['type== and x=1', 8, /expected a term after "==" \(near "and"\)/u],
    ['a=b prox c=d', 5, /"prox" is not supported/u],
    ['foo', 1, /without an index \(server choice\).*\(near "foo"\)/u],
    ['a=1 and foo', 9, /server choice/u],
    ['(a=1', 5, /missing "\)"/u],
    ['a=1)', 4, /unbalanced "\)"/u],
    ['((a=1) and b=2', 15, /missing "\)"/u],
    ['a="unterminated', 3, /unterminated quoted string/u],
    ['a=/ignoreCase x', 4, /relation modifier "ignoreCase" is not supported/u],
    ['a=/number=5 x', 10, /modifier values are not supported/u],
    ['a=1 sortby', 11, /expected a sort key/u],
    ['a=1 sortby b/sort.missingLow', 14, /sort modifier "sort.missingLow" is not supported/u],
    ['sortby a', 1, /expected a search clause before "sortby"/u],
    ['a within b', 3, /relation "within" is not supported/u],
    ['a=b c.d', 5, /ambiguous unquoted term/u],
    ['a=1 and/x b=2', 8, /modifiers on boolean operator/u],
    ['a=1 b=2', 6, /expected a boolean operator, found "="/u],
    ['a=(x', 5, /missing "\)"/u],
    ['and=1', 1, /expected a search clause, found "and"/u],
  ];
  for (const [query, position, message] of errors) {
    it(`rejects ${query}`, () => {
      const err = parseError(query);
      assert.equal(err.position, position, err.message);
      assert.match(err.message, message);
      assert.match(err.message, new RegExp(`^Invalid CQL at position ${position}: `, 'u'));
    });
  }

  it('limits nesting', () => {
    assert.equal(tree('('.repeat(100) + 'a=1' + ')'.repeat(100)), '(a = "1")');
    assert.throws(() => parseCql('('.repeat(101) + 'a=1' + ')'.repeat(101)), CqlError);
  });
});
