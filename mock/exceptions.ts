/** COUNTER exception objects as the mock server sends them (messages from the CoP exception table). */

export type MockRelease = '5' | '5.1';

export const EXCEPTION_MESSAGES: Record<number, string> = {
  0: 'Info',
  1000: 'Service Not Available',
  1010: 'Service Busy',
  1011: 'Report Queued for Processing',
  1020: 'Client has made too many requests',
  1030: 'Insufficient Information to Process Request',
  2000: 'Requestor Not Authorized to Access Service',
  2010: 'Requestor is Not Authorized to Access Usage for Institution',
  2011: 'Global Reports Not Supported',
  2020: 'APIKey Invalid',
  2030: 'IP Address Not Authorized to Access Service',
  3000: 'Report Not Supported',
  3010: 'Report Version Not Supported',
  3020: 'Invalid Date Arguments',
  3030: 'No Usage Available for Requested Dates',
  3031: 'Usage Not Ready for Requested Dates',
  3032: 'Usage No Longer Available for Requested Dates',
  3040: 'Partial Data Returned',
  3050: 'Parameter Not Recognized in this Context',
  3060: 'Invalid ReportFilter Value',
  3061: 'Incongruous ReportFilter Value',
  3062: 'Invalid ReportAttribute Value',
  3063: 'Components Not Supported',
  3070: 'Required ReportFilter Missing',
};

/** The HTTP status COUNTER assigns to an exception sent instead of a report (5.1.0.1 / 5.0.2+). */
export const EXCEPTION_STATUS: Record<number, number> = {
  1000: 503,
  1010: 503,
  1011: 202,
  1020: 429,
  1030: 400,
  2000: 401,
  2010: 403,
  2011: 403,
  2020: 401,
  2030: 401,
  3000: 404,
  3010: 404,
  3020: 400,
};

/** R5.0 `Severity` per code (deprecated since 5.0.2, not allowed in R5.1). */
function severityFor(code: number): string {
  if (code === 0) return 'Info';
  if (code < 1000) return 'Warning';
  if (code === 1011 || code === 3032 || code === 3040 || code >= 3050) return 'Warning';
  if (code < 2000) return 'Fatal';
  return 'Error';
}

export function messageFor(code: number): string {
  return EXCEPTION_MESSAGES[code] ?? (code < 1000 ? 'Warning' : 'Unknown Exception');
}

export function statusFor(code: number): number {
  return EXCEPTION_STATUS[code] ?? 200;
}

export interface CounterException {
  Code: number | string;
  Severity?: string | number;
  Message: string;
  Data?: string;
}

/** One exception in the form of the release: R5.0 carries `Severity`, R5.1 does not. */
export function counterException(code: number, release: MockRelease, data?: string): CounterException {
  const exception: CounterException = { Code: code, Message: messageFor(code) };
  if (release === '5') exception.Severity = severityFor(code);
  if (data !== undefined) exception.Data = data;
  return exception;
}

/** The same exception with lower-case keys (`code`, `severity`, `message`, `data`). */
export function lowerCaseKeys(exception: CounterException): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(exception)) out[key.toLowerCase()] = value;
  return out;
}
