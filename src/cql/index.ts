export type {
  CqlBoolean,
  CqlBooleanOperator,
  CqlClause,
  CqlNode,
  CqlQuery,
  CqlRelation,
  CqlRelationModifier,
  CqlSortKey,
} from './ast.ts';
export { CQL_LIMITS, CqlError, CqlLimitError } from './errors.ts';
export { parseCql } from './parser.ts';
export { cqlQuote } from './quote.ts';
export { CQL_SUPPORT_SQL } from './sql-support.ts';
export { cqlToSql, type CqlSql, type CqlTableSpec } from './translate.ts';
