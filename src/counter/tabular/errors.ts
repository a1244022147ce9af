/** Errors of the export core: what was wrong and where, for a 4xx answer (never a crash). */

export type ExportErrorCode =
  /** The request itself cannot be served: unknown report, bad range, format not available. */
  | 'invalid_request'
  /** The months handed in do not fit the request (wrong report or release, month outside the range). */
  | 'invalid_input'
  /** The result does not fit the format (XLSX row limit). */
  | 'too_large';

export class ExportError extends Error {
  override name = 'ExportError';
  constructor(
    readonly code: ExportErrorCode,
    message: string,
  ) {
    super(message);
  }
}
