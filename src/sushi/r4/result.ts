/** A 2xx COUNTER 4 response → FetchResult (shared by cs41 and NSS; folio-contract §7.10.3, §7.9). */
import { findLocalStorageError, localStorageReason } from '../../counter/local-storage.ts';
import { r4MonthsOf } from '../../counter/r4-months.ts';
import type { YearMonth } from '../../counter/year-month.ts';
import { fromTransportFailure, makeFailure, retryAfterFacts, type FailureFacts } from '../failure.ts';
import { BodyError, type HttpResponse } from '../transport.ts';
import type { FetchResult, MonthData, MonthSource } from '../types.ts';
import { readR4Response, type R4Exception, type R4Parsed } from './response.ts';

/** `Exception{Number=<n>, Severity=<S>, Message=<m>, HelpUrl=<u>, Data=<d>}`, empty parts omitted. */
export function formatR4Exception(e: R4Exception): string {
  const raw = e.raw as Record<string, unknown>;
  const parts: Array<[string, unknown]> = [
    ['Number', e.code ?? raw.Number],
    ['Severity', e.severityConstant],
    ['Message', e.message],
    ['HelpUrl', e.helpUrl],
    ['Data', e.data],
  ];
  const shown = parts
    .filter(([, value]) => value !== undefined && value !== null && value !== '')
    .map(([key, value]) => `${key}=${String(value)}`);
  return `Exception{${shown.join(', ')}}`;
}

/** Java's InvalidReportException text for R4 errors: `Report not valid: ` + the errors joined by `, `. */
export function r4ErrorReason(errors: readonly R4Exception[]): string {
  return `Report not valid: ${errors.map(formatR4Exception).join(', ')}`;
}

export interface R4Texts {
  /** Prefix of a reason for a body that is not a SUSHI response or is a SOAP fault. */
  unreadablePrefix: string;
}

class R4MonthSource implements MonthSource {
  readonly yearMonths: YearMonth[];
  readonly exceptions: R4Exception[];
  readonly itemCount: number;

  constructor(private readonly parsed: R4Parsed) {
    this.yearMonths = parsed.periodMonths;
    this.exceptions = parsed.exceptions;
    this.itemCount = parsed.itemCount;
  }

  months(): AsyncGenerator<MonthData> {
    const { buckets, meta, customer } = this.parsed;
    return r4MonthsOf(buckets, this.yearMonths, meta, customer);
  }

  dispose(): Promise<void> {
    return this.parsed.buckets.dispose();
  }
}

/** Why a parsed response is not data, as [cause, reason], or undefined when it is data. */
function invalidity(parsed: R4Parsed, texts: R4Texts): ['invalid' | 'exception', string] | undefined {
  if (parsed.xmlError !== undefined) return ['invalid', `${texts.unreadablePrefix}${parsed.xmlError}`];
  if (parsed.fault !== undefined) return ['invalid', `${texts.unreadablePrefix}${parsed.fault}`];
  const errors = parsed.exceptions.filter((e) => e.isError);
  if (errors.length > 0) return ['exception', r4ErrorReason(errors)];
  if (!parsed.hasReport)
    return [parsed.exceptions.length > 0 ? 'exception' : 'invalid', 'Report not valid: '];
  if (parsed.customerCount === 0) return ['invalid', 'Report not valid: Report contains no customer'];
  if (parsed.customerCount > 1)
    return ['invalid', 'Report not valid: Report contains multiple customer entries'];
  if (parsed.periodMonths.some((m) => !parsed.buckets.has(m)))
    return ['invalid', 'Report not valid: Split report size not equal to 1'];
  return undefined;
}

export async function r4Result(
  response: HttpResponse,
  secrets: readonly string[],
  texts: R4Texts,
): Promise<FetchResult> {
  const facts: FailureFacts = { httpStatus: response.status, ...retryAfterFacts(response.headers) };
  let parsed: R4Parsed;
  try {
    parsed = await readR4Response(response.body);
  } catch (error) {
    const failure = error instanceof BodyError ? error.failure : response.body.failure();
    if (failure) return fromTransportFailure(failure, secrets, facts);
    const local = findLocalStorageError(error);
    if (local) return makeFailure('local', localStorageReason(local), secrets, facts);
    return makeFailure('invalid', `${texts.unreadablePrefix}${String(error)}`, secrets, facts);
  }
  const problem = invalidity(parsed, texts);
  if (problem) {
    await parsed.buckets.dispose();
    return makeFailure(problem[0], problem[1], secrets, { ...facts, exceptions: parsed.exceptions });
  }
  return { kind: 'data', httpStatus: response.status, data: new R4MonthSource(parsed) };
}
