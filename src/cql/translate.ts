import type { CqlClause, CqlNode, CqlRelation, CqlSortKey } from './ast.ts';
import { CQL_LIMITS, CqlError, CqlLimitError } from './errors.ts';
import { parseCql } from './parser.ts';
import {
  isUuid,
  numericTerm,
  parseMaskedTerm,
  type MaskedTerm,
  parseWordTerm,
  phraseRegex,
  unescapeTerm,
} from './terms.ts';

export interface CqlTableSpec {
  /** SQL expression of the jsonb record, e.g. 'jsonb' or 't.jsonb'. */
  jsonColumn: string;
  /** SQL expression of the uuid id column, e.g. 'id'. */
  idColumn: string;
  /** SQL expression giving insertion order (bigint), the final sort tie-breaker. */
  seqColumn: string;
  /** Multi-field indexes: name → record paths whose texts are joined by spaces, e.g. { keywords: ['label', …] }. */
  virtualIndexes?: Record<string, string[]>;
}

export interface CqlSql {
  /** A boolean SQL expression; never NULL. */
  where: string;
  /** A complete ORDER BY list without the words ORDER BY, always ending with `<seqColumn> ASC`. */
  orderBy: string;
}

const FOLD = 'harvester.cql_fold';
const WORDS = 'harvester.cql_words';
const NUMBER = 'harvester.cql_number';

/**
 * Translates a CQL query (with optional sortby) to SQL over `table`. Values are appended to `params` and
 * referenced as `$n`; `params` is left unchanged when the query is rejected with a CqlError.
 */
export function cqlToSql(cql: string, table: CqlTableSpec, params: unknown[]): CqlSql {
  const query = parseCql(cql);
  const builder = new SqlBuilder(table, params.length);
  const where = query.root === null ? 'TRUE' : builder.node(query.root);
  const orderBy = [...query.sortKeys.map((key) => builder.sortKey(key)), `${table.seqColumn} ASC`].join(', ');
  params.push(...builder.params);
  return { where, orderBy };
}

/** SQL expressions for one index: its text value (NULL when undefined) and, for real paths, its jsonb value. */
interface FieldSql {
  readonly text: string;
  readonly json: string | null;
}

class SqlBuilder {
  readonly params: unknown[] = [];
  private clauses = 0;

  constructor(
    private readonly table: CqlTableSpec,
    private readonly offset: number,
  ) {}

  /**
   * A boolean node as flat SQL: a left-deep chain of one kind (`or`, or `and`/`not`, which are both
   * conjunctions) becomes one list, so the SQL nests only where the operator kind changes.
   */
  node(node: CqlNode, depth = 0): string {
    if (node.type === 'clause') return this.clause(node);
    if (depth >= CQL_LIMITS.maxDepth) {
      throw new CqlLimitError(
        node.position,
        `boolean operators nested deeper than ${CQL_LIMITS.maxDepth} levels (group or reorder the clauses)`,
        node.operator,
      );
    }
    const conjunction = node.operator !== 'or';
    const chain: { operand: CqlNode; negated: boolean }[] = [];
    let current: CqlNode = node;
    while (current.type === 'boolean' && (current.operator !== 'or') === conjunction) {
      chain.push({ operand: current.right, negated: current.operator === 'not' });
      current = current.left;
    }
    chain.push({ operand: current, negated: false });
    const operands = chain.reverse().map(({ operand, negated }) => {
      const sql = this.node(operand, depth + 1);
      return negated ? `NOT ${sql}` : sql;
    });
    return `(${operands.join(conjunction ? ' AND ' : ' OR ')})`;
  }

  sortKey(key: CqlSortKey): string {
    const direction = key.descending ? 'DESC NULLS FIRST' : 'ASC NULLS LAST';
    if (key.index === 'id') return `${this.table.idColumn} ${direction}`;
    const field = this.field(key.index, key.position);
    if (key.numeric) return `${NUMBER}(${this.requireJson(field, key.index, key.position)}) ${direction}`;
    return `${FOLD}(${field.text}) COLLATE "C" ${direction}`;
  }

  private clause(clause: CqlClause): string {
    if (++this.clauses > CQL_LIMITS.maxClauses) {
      throw new CqlLimitError(
        clause.position,
        `more than ${CQL_LIMITS.maxClauses} search clauses`,
        clause.index,
      );
    }
    const index = clause.index.toLowerCase();
    if (index === 'cql.allrecords') return 'TRUE';
    if (index === 'cql.serverchoice') throw clauseError(clause, 'server choice queries are not supported');
    if (clause.index === 'id') return this.idClause(clause);
    const field = this.field(clause.index, clause.position);
    if (clause.modifiers.includes('number')) return this.numberClause(clause, field);
    switch (clause.relation) {
      case '==':
        return this.exactClause(field, clause.term, false);
      case '<>':
        return this.exactClause(field, clause.term, true);
      case '<':
      case '>':
      case '<=':
      case '>=':
        return `(${field.text} IS NOT NULL AND ${FOLD}(${field.text}) COLLATE "C" ${clause.relation} ${FOLD}(${this.param(unescapeTerm(clause.term))}))`;
      case '=':
      case 'adj':
      case 'all':
      case 'any':
        return this.wordClause(field, clause.relation, clause.term);
    }
  }

  /** `==` and `<>`: the whole folded text against the term, with `*`/`?` masking. */
  private exactClause(field: FieldSql, term: string, negate: boolean): string {
    const masked = parseMaskedTerm(term);
    const folded = `${FOLD}(${field.text})`;
    const comparison = masked.hasWildcards
      ? `${folded} ${negate ? 'NOT LIKE' : 'LIKE'} ${FOLD}(${this.param(masked.likePattern)})`
      : `${folded} ${negate ? '<>' : '='} ${FOLD}(${this.param(masked.literal)})`;
    return `(${field.text} IS NOT NULL AND ${comparison})`;
  }

  /** `=`, `adj`, `all`, `any`: word and phrase matching (folio-contract §5.5). */
  private wordClause(field: FieldSql, relation: CqlRelation, term: string): string {
    const { subTerms, hasLoneStar } = parseWordTerm(term);
    if (subTerms.length === 0) return hasLoneStar ? 'TRUE' : `(${field.text} IS NOT NULL)`;
    const words = `${WORDS}(${field.text})`;
    let test: string;
    if (relation === '=' || relation === 'adj') {
      test = `${words} ~ ${this.param(phraseRegex(subTerms))}`;
    } else {
      const patterns = subTerms.map((sub) => this.param(phraseRegex([sub])));
      test = `${words} ~ ${relation === 'all' ? 'ALL' : 'ANY'}(ARRAY[${patterns.join(', ')}])`;
    }
    return `(${field.text} IS NOT NULL AND ${test})`;
  }

  private numberClause(clause: CqlClause, field: FieldSql): string {
    const json = this.requireJson(field, clause.index, clause.position);
    const value = numericTerm(clause.term);
    if (value === null)
      throw clauseError(clause, `the term "${clause.term}" is not a number`, clause.termPosition);
    const operator = numericOperator(clause);
    return `COALESCE(${NUMBER}(${json}) ${operator} ${this.param(value)}::numeric, FALSE)`;
  }

  /** `id` is compared as a UUID (folio-contract §5.3). */
  private idClause(clause: CqlClause): string {
    if (clause.modifiers.includes('number')) throw clauseError(clause, '"/number" is not supported on "id"');
    const id = this.table.idColumn;
    const masked = parseMaskedTerm(clause.term);
    const literal = masked.literal.trim();
    switch (clause.relation) {
      case '<':
      case '>':
      case '<=':
      case '>=':
        if (masked.hasWildcards || !isUuid(literal)) {
          throw clauseError(
            clause,
            `"${clause.relation}" on "id" needs a UUID, not "${clause.term}"`,
            clause.termPosition,
          );
        }
        return `${id} ${clause.relation} ${this.param(literal.toLowerCase())}::uuid`;
      case '<>':
        return `NOT ${this.idMatch(clause.relation, masked, literal)}`;
      default:
        return this.idMatch(clause.relation, masked, literal);
    }
  }

  private idMatch(relation: CqlRelation, masked: MaskedTerm, literal: string): string {
    const onlyStars = /^%+$/u.test(masked.likePattern);
    const exact = relation === '==' || relation === '<>';
    if (onlyStars || (!exact && literal === '')) return 'TRUE';
    if (masked.prefix !== null) return this.idPrefix(masked.prefix);
    if (exact && masked.hasWildcards)
      return `(${this.table.idColumn}::text LIKE lower(${this.param(masked.likePattern)}))`;
    return isUuid(literal)
      ? `(${this.table.idColumn} = ${this.param(literal.toLowerCase())}::uuid)`
      : 'FALSE';
  }

  /** `id==<prefix>*` as a UUID range, so the primary key index serves it. */
  private idPrefix(prefix: string): string {
    const hex = prefix.toLowerCase().replace(/-/gu, '');
    if (!/^[0-9a-f]{0,32}$/u.test(hex)) return 'FALSE';
    const low = hex.padEnd(32, '0');
    const high = hex.padEnd(32, 'f');
    return `(${this.table.idColumn} BETWEEN ${this.param(low)}::uuid AND ${this.param(high)}::uuid)`;
  }

  private field(index: string, position: number): FieldSql {
    const virtual = this.table.virtualIndexes?.[index];
    if (virtual !== undefined) {
      const texts = virtual.map((path) => this.pathSql(path, position, true));
      const allUndefined = texts.map((t) => `${t} IS NULL`).join(' AND ');
      return {
        text: `(CASE WHEN ${allUndefined} THEN NULL ELSE concat_ws(' ', ${texts.join(', ')}) END)`,
        json: null,
      };
    }
    return { text: this.pathSql(index, position, true), json: this.pathSql(index, position, false) };
  }

  /** `(json->'a'->>'b')`: key names become SQL string literals, so an index on `(jsonb->>'providerId')` matches. */
  private pathSql(path: string, position: number, asText: boolean): string {
    const keys = path.split('.');
    if (keys.some((key) => key === '') || /[\\\p{Cc}]/u.test(path)) {
      throw new CqlError(position, `invalid index name "${path}"`, path);
    }
    const last = keys.length - 1;
    const steps = keys.map((key, i) => `${i === last && asText ? '->>' : '->'}${sqlStringLiteral(key)}`);
    return `(${this.table.jsonColumn}${steps.join('')})`;
  }

  private requireJson(field: FieldSql, index: string, position: number): string {
    if (field.json === null)
      throw new CqlError(position, `"/number" is not supported on the multi-field index "${index}"`, index);
    return field.json;
  }

  private param(value: string): string {
    this.params.push(value);
    return `$${this.offset + this.params.length}::text`;
  }
}

function numericOperator(clause: CqlClause): string {
  switch (clause.relation) {
    case '==':
    case '=':
      return '=';
    case '<>':
    case '<':
    case '>':
    case '<=':
    case '>=':
      return clause.relation;
    default:
      throw clauseError(clause, `"/number" is not supported with the relation "${clause.relation}"`);
  }
}

function sqlStringLiteral(text: string): string {
  return `'${text.replace(/'/gu, "''")}'`;
}

function clauseError(clause: CqlClause, problem: string, position = clause.position): CqlError {
  return new CqlError(position, problem, position === clause.termPosition ? clause.term : clause.index);
}
