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
