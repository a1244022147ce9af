/** Syntax tree of a parsed CQL query. All positions are 1-based character positions in the query text. */

export type CqlRelation = '==' | '=' | '<>' | '<' | '>' | '<=' | '>=' | 'adj' | 'all' | 'any';

export type CqlRelationModifier = 'number' | 'string' | 'sort.ascending' | 'sort.descending';

export type CqlBooleanOperator = 'and' | 'or' | 'not';

export interface CqlClause {
  readonly type: 'clause';
  /** Index name as written (case-sensitive), e.g. `harvestingConfig.harvestingStatus`. */
  readonly index: string;
  readonly relation: CqlRelation;
  /** Lower-cased relation modifiers in order of appearance, e.g. `['number']` for `>=/number`. */
  readonly modifiers: readonly CqlRelationModifier[];
  /**
   * The term as written, without the surrounding quotes and with backslash escapes (`\"`, `\\`, `\*`, `\?`)
   * still in place: their meaning depends on the relation (folio-contract §5.4). Words of a multi-word term are joined by one space.
   */
  readonly term: string;
  /** True when the term (or part of it) was a quoted string. */
  readonly quoted: boolean;
  readonly position: number;
  readonly termPosition: number;
}

export interface CqlBoolean {
  readonly type: 'boolean';
  readonly operator: CqlBooleanOperator;
  readonly left: CqlNode;
  readonly right: CqlNode;
  readonly position: number;
}

export type CqlNode = CqlClause | CqlBoolean;

export interface CqlSortKey {
  readonly index: string;
  readonly descending: boolean;
  /** `/number`: numeric order instead of folded text order. */
  readonly numeric: boolean;
  readonly position: number;
}

export interface CqlQuery {
  /** `null` only for an empty (or whitespace) query. */
  readonly root: CqlNode | null;
  readonly sortKeys: readonly CqlSortKey[];
}
