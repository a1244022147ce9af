/** A CQL query that cannot be parsed or uses an unsupported feature. */
export class CqlError extends Error {
  /** 1-based character position in the query where the problem was found (query length + 1 at its end). */
  readonly position: number;

  constructor(position: number, problem: string, near: string) {
    super(`Invalid CQL at position ${position}: ${problem} (near ${JSON.stringify(near)})`);
    this.name = 'CqlError';
    this.position = position;
  }
}

/**
 * A CQL query beyond one of the documented limits (`CQL_LIMITS`): too long, too many search clauses or
 * boolean groups nested too deeply. Answered with 400, whatever endpoint received it.
 */
export class CqlLimitError extends CqlError {
  constructor(position: number, problem: string, near: string) {
    super(position, problem, near);
    this.name = 'CqlLimitError';
  }
}

/**
 * Limits on every CQL query. Deep nesting is what breaks a database (PostgreSQL parses and plans nested
 * expressions recursively; the embedded one fails hard well before the server's own stack check), so
 * the depth limit is far below the point where either database has trouble.
 */
export const CQL_LIMITS = {
  /** Characters of the query text (a query string cannot be much longer anyway: 16 KiB of headers). */
  maxLength: 16_384,
  /** Search clauses (`index relation term`), counting each term of a `index=(a or b)` group. */
  maxClauses: 1_000,
  /**
   * Nesting depth of boolean groups after chains of one operator are flattened: `a or b or c` is depth 1,
   * `a and b or c and d` is depth 3 (CQL operators have equal precedence and bind to the left), and each
   * pair of parentheses around a boolean group adds one level.
   */
  maxDepth: 32,
  /** Nested pairs of parentheses (redundant ones too; the parser descends once per pair). */
  maxParentheses: 100,
} as const;
