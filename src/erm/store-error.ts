/** The standalone store's answers other than success, in mod-erm-usage's HTTP terms. */

export const INVALID_UUID_MESSAGE =
  'Invalid UUID format of id, should be xxxxxxxx-xxxx-Mxxx-Nxxx-xxxxxxxxxxxx where M is 1-5 and N is 8, 9, a, b, A or B and x is 0-9, a-f or A-F.';

export interface StoreErrorDetail {
  message: string;
  code?: string;
  parameters?: { key: string; value: string }[];
}

/** 400 and 404 carry a text message, 422 carries RMB error details. */
export class StoreError extends Error {
  override name = 'StoreError';
  constructor(
    readonly status: 400 | 404 | 422,
    message: string,
    readonly details: StoreErrorDetail[] = [],
  ) {
    super(message);
  }
}
