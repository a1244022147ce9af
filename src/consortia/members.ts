/**
 * The COUNTER `/members` answer (5.0 `GET /members`, 5.1 `GET /r51/members`): the institutions a
 * customer id stands for — consortium members or the sites of a multi-site customer — each with the
 * customer id (and, when it differs, the requestor id) to request its reports with.
 *
 * 5.0 items: `{Customer_ID, Requestor_ID?, Name, Notes?, Institution_ID?: [{Type, Value}]}`.
 * 5.1 items: `{Customer_ID, Requestor_ID?, Institution_Name, Notes?, Institution_ID?: {ISNI: [...], ROR: [...], ...}}`.
 * The reader accepts either shape under either release (keys compared without case and `_`), since
 * servers mix them; an exception instead of a list is an error with the exception's code.
 */
import { findExceptions, getLoose, isJsonObject, type SushiException } from '../counter/index.ts';
import type { UsageDataProvider } from '../model/records.ts';
import { redactSecrets } from '../redact.ts';
import { parseServiceUrl, queryString, r50Base, r51Base, withQuery } from '../sushi/url.ts';
import { EndpointInitError } from '../sushi/types.ts';

export interface InstitutionId {
  /** ISNI, ROR, ISIL, OCLC, Proprietary. */
  type: string;
  value: string;
}

export interface ConsortiumMember {
  customerId: string;
  /** Only when it differs from the requestor id of the request. */
  requestorId?: string;
  name: string;
  notes?: string;
  institutionIds: InstitutionId[];
}

export interface MembersAnswer {
  members: ConsortiumMember[];
  /** Items left out or repaired (no customer id, a repeated customer id, no name). */
  warnings: string[];
}

export type MembersErrorCode =
  'MEMBERS_EXCEPTION' | 'MEMBERS_INVALID' | 'MEMBERS_UNSUPPORTED' | 'MEMBERS_UNREACHABLE';

export class MembersError extends Error {
  override name = 'MembersError';
  constructor(
    readonly code: MembersErrorCode,
    message: string,
    readonly exceptions: SushiException[] = [],
  ) {
    super(message);
  }
}

function text(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** 5.0: `[{Type, Value}]`; 5.1: `{ISNI: ["..."], ROR: "..."}` (a single string is taken as a list). */
function institutionIdsOf(value: unknown): InstitutionId[] {
  const ids: InstitutionId[] = [];
  if (Array.isArray(value)) {
    for (const entry of value) {
      if (!isJsonObject(entry)) continue;
      const type = text(getLoose(entry, ['Type']));
      const id = text(getLoose(entry, ['Value']));
      if (type && id) ids.push({ type, value: id });
    }
  } else if (isJsonObject(value)) {
    for (const [type, values] of Object.entries(value)) {
      for (const v of Array.isArray(values) ? values : [values]) {
        const id = text(v);
        if (id) ids.push({ type, value: id });
      }
    }
  }
  return ids;
}

function describe(exceptions: SushiException[], secrets: readonly string[]): string {
  return exceptions
    .map((e) => redactSecrets(`${e.code ?? 'without a code'}${e.message ? ` (${e.message})` : ''}`, secrets))
    .join(', ');
}

export interface ParseMembersOptions {
  /** Credential values to keep out of error messages (a server may echo them). */
  secrets?: readonly string[];
}

/**
 * The members of a `/members` answer (parsed JSON, or its text). Throws MembersError: MEMBERS_EXCEPTION
 * when the server answered with COUNTER exceptions and no members, MEMBERS_INVALID when the answer is
 * not a list of members.
 */
export function parseMembers(body: unknown, options: ParseMembersOptions = {}): MembersAnswer {
  const secrets = options.secrets ?? [];
  let value = body;
  if (typeof body === 'string') {
    try {
      value = JSON.parse(body.replace(/^\uFEFF/, ''));
    } catch {
      throw new MembersError('MEMBERS_INVALID', 'The members list is not JSON');
    }
  }
  if (!Array.isArray(value)) {
    const exceptions = findExceptions(value);
    if (exceptions.length > 0) {
      throw new MembersError(
        'MEMBERS_EXCEPTION',
        `The provider answered the members list with exception ${describe(exceptions, secrets)}`,
        exceptions,
      );
    }
    throw new MembersError('MEMBERS_INVALID', 'The members list is not a JSON array');
  }

  const members: ConsortiumMember[] = [];
  const warnings: string[] = [];
  const exceptions: SushiException[] = [];
  const seen = new Set<string>();
  value.forEach((item, index) => {
    const where = `item ${index + 1}`;
    if (!isJsonObject(item)) {
      warnings.push(`${where} is not an object; left out`);
      return;
    }
    const customerId = text(getLoose(item, ['Customer_ID']));
    if (!customerId) {
      const found = findExceptions(item);
      if (found.length > 0) exceptions.push(...found);
      else warnings.push(`${where} has no Customer_ID; left out`);
      return;
    }
    if (seen.has(customerId)) {
      warnings.push(`${where} repeats Customer_ID ${customerId}; left out`);
      return;
    }
    seen.add(customerId);
    let name = text(getLoose(item, ['Institution_Name', 'Name']));
    if (!name) {
      warnings.push(`${where} (Customer_ID ${customerId}) has no name; its customer id is used`);
      name = customerId;
    }
    const requestorId = text(getLoose(item, ['Requestor_ID']));
    const notes = text(getLoose(item, ['Notes']));
    members.push({
      customerId,
      ...(requestorId ? { requestorId } : {}),
      name,
      ...(notes ? { notes } : {}),
      institutionIds: institutionIdsOf(getLoose(item, ['Institution_ID'])),
    });
  });
  if (members.length === 0 && exceptions.length > 0) {
    throw new MembersError(
      'MEMBERS_EXCEPTION',
      `The provider answered the members list with exception ${describe(exceptions, secrets)}`,
      exceptions,
    );
  }
  for (const e of exceptions) warnings.push(`exception ${describe([e], secrets)} next to the members`);
  return { members, warnings };
}

export interface MembersRequest {
  /** The request URL; it contains credentials: never log it unredacted. */
  url: string;
  /** The credential values in it, for redaction. */
  secrets: string[];
}

/**
 * The `/members` request of a cs50 or cs51 provider (decrypted credentials): the implementation's base
 * URL plus `/members`, with `customer_id` and, when set, `requestor_id`, `api_key` and `platform`.
 */
export function membersRequest(provider: UsageDataProvider): MembersRequest {
  const type = provider.harvestingConfig?.sushiConfig?.serviceType;
  if (type !== 'cs50' && type !== 'cs51') {
    throw new MembersError(
      'MEMBERS_UNSUPPORTED',
      `Only COUNTER 5 providers (cs50, cs51) have a members list; ${provider.label} is ${type ?? 'without a service type'}`,
    );
  }
  const url = parseServiceUrl(provider.harvestingConfig?.sushiConfig?.serviceUrl);
  if (url instanceof EndpointInitError) throw new MembersError('MEMBERS_UNSUPPORTED', url.message);
  const c = provider.sushiCredentials ?? {};
  const params: Array<[string, string]> = [['customer_id', c.customerId ?? '']];
  if (c.requestorId) params.push(['requestor_id', c.requestorId]);
  if (c.apiKey) params.push(['api_key', c.apiKey]);
  if (c.platform) params.push(['platform', c.platform]);
  const base = type === 'cs51' ? r51Base(url) : r50Base(url);
  return {
    url: withQuery(`${base}/members`, queryString(params)),
    secrets: [c.apiKey, c.requestorId].filter((v): v is string => typeof v === 'string' && v !== ''),
  };
}
