/**
 * Asking a consortium's COUNTER server for its members list over the harvester's transport (host
 * policy, timeouts, proxy as for reports). Messages never contain the request URL's credentials.
 */
import type { UsageDataProvider } from '../model/records.ts';
import { redactSecrets } from '../redact.ts';
import { httpRequest, isTransportFailure } from '../sushi/transport.ts';
import type { TransportOptions } from '../sushi/types.ts';
import { membersRequest, MembersError, parseMembers, type MembersAnswer } from './members.ts';

const MAX_MEMBERS_CHARS = 32 * 1024 * 1024;

/** The members of a cs50/cs51 provider (credentials decrypted). Throws MembersError. */
export async function fetchMembers(
  provider: UsageDataProvider,
  transport: TransportOptions,
): Promise<MembersAnswer> {
  const req = membersRequest(provider);
  const unreachable = (reason: string) =>
    new MembersError(
      'MEMBERS_UNREACHABLE',
      `The members list of ${provider.label} could not be read: ${redactSecrets(reason, req.secrets)}`,
    );
  const res = await httpRequest(
    { method: 'GET', url: req.url, headers: { accept: 'application/json' } },
    transport,
  );
  if (isTransportFailure(res)) throw unreachable(res.reason);
  const body = await res.body.text(MAX_MEMBERS_CHARS);
  if (isTransportFailure(body)) throw unreachable(body.reason);
  try {
    return parseMembers(body, { secrets: req.secrets });
  } catch (err) {
    // A failed status without a COUNTER exception in its body says only the status.
    if (err instanceof MembersError && err.code === 'MEMBERS_INVALID' && res.status >= 300)
      throw unreachable(`HTTP ${res.status} ${res.statusText}`);
    throw err;
  }
}
