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
