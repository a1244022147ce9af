/**
 * Removes secrets from text before it reaches a log line, a job message, a failedReason or an error body
 * (spec §8.6): credential query parameters, credential headers and known secret values.
 */
const SECRET_PARAMS = [
  'api_key',
  'apikey',
  'requestor_id',
  'requestorid',
  'customer_id_secret',
  'token',
  'password',
];
const PARAM_RE = new RegExp(`([?&;](?:${SECRET_PARAMS.join('|')})=)([^&#\\s"'<>]*)`, 'gi');
const HEADER_RE = /\b(authorization|cookie|set-cookie|x-okapi-token)(\s*[:=]\s*)("?)([^"\r\n,}]*)/gi;

export function redactSecrets(text: string, secrets: Iterable<string | undefined | null> = []): string {
  let out = text.replace(PARAM_RE, '$1***').replace(HEADER_RE, '$1$2$3***');
  const values = [...secrets]
    .filter((s): s is string => typeof s === 'string' && s.length >= 4)
    .sort((a, b) => b.length - a.length);
  for (const v of values) out = out.split(v).join('***');
  return out;
}
