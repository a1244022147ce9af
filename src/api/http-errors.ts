/** Errors that carry the HTTP answer to give. Route code throws them; the error handler renders them. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    /** A JSON body (e.g. FOLIO's 422 errors); without it the message is sent as text/plain. */
    readonly body?: unknown,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export interface RmbError {
  message: string;
  type?: string;
  code?: string;
  parameters?: { key: string; value: string }[];
}

/** FOLIO/RMB 422 body: `{"errors":[{message,type,code,parameters}],"total_records":n}`. */
export function unprocessable(errors: RmbError[]): HttpError {
  const list = errors.map((e) => ({ type: '1', ...e }));
  return new HttpError(422, list.map((e) => e.message).join('; '), {
    errors: list,
    total_records: list.length,
  });
}

/** PostgreSQL's errors (node-postgres and PGlite alike) carry a five-character SQLSTATE and a severity. */
function isDatabaseError(err: unknown): err is Error & { code: string } {
  if (!(err instanceof Error)) return false;
  const { code, severity } = err as Error & { code?: unknown; severity?: unknown };
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && typeof severity === 'string';
}

/**
 * The text an error may show to a client: a database error is named by its SQLSTATE only, since its
 * message can quote SQL, table and schema names or stored values (the log keeps the whole message).
 */
export function publicMessage(err: unknown, fallback = 'Internal server error'): string {
  if (isDatabaseError(err)) return `Database error (SQLSTATE ${err.code}); the service log has the details`;
  const message = err instanceof Error ? err.message : typeof err === 'string' ? err : '';
  return message || fallback;
}
