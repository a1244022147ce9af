/**
 * Base URL normalisation (folio-contract §7.10.1/§7.10.2, counter-notes §6.3) and RFC 3986 query encoding.
 */
import { EndpointInitError } from './types.ts';

/** The service URL as an absolute http(s) URL, or an EndpointInitError `Invalid Service URL: <url>`. */
export function parseServiceUrl(serviceUrl: string | undefined): URL | EndpointInitError {
  const raw = serviceUrl ?? '';
  try {
    const url = new URL(raw.trim());
    if (url.protocol === 'http:' || url.protocol === 'https:') return url;
  } catch {
    // fall through
  }
  return new EndpointInitError(`Invalid Service URL: ${raw}`);
}

function stripTrailingSlashes(text: string): string {
  return text.replace(/\/+$/, '');
}

/** Strips trailing `/` and then a trailing `/reports` (any case), repeatedly. */
function stripReportsSuffix(text: string): string {
  let out = stripTrailingSlashes(text);
  while (/\/reports$/i.test(out)) out = stripTrailingSlashes(out.slice(0, -'/reports'.length));
  return out;
}

/** The base of a URL without query, fragment and credentials. */
function baseOf(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/** cs50: `{serviceUrl without trailing "/" and "/reports"}`; reports are `{base}/reports/{id}`. */
export function r50Base(url: URL): string {
  return stripReportsSuffix(baseOf(url));
}

/** cs51: trailing `/` and `/reports` removed, then `/r51` appended unless present (any case). */
export function r51Base(url: URL): string {
  const base = stripReportsSuffix(baseOf(url));
  return /\/r51$/i.test(base) ? base : `${base}/r51`;
}

/** Identifies the remote service for politeness limits: the base URL without query or credentials. */
export function endpointKeyOf(url: URL | string): string {
  try {
    return stripTrailingSlashes(baseOf(typeof url === 'string' ? new URL(url) : url));
  } catch {
    return String(url);
  }
}

/** Percent-encoding per RFC 3986: only unreserved characters stay (`|` → `%7C`, space → `%20`). */
export function encodeRfc3986(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** `name=value&...` in the given order, RFC 3986 encoded. */
export function queryString(params: ReadonlyArray<readonly [string, string]>): string {
  return params.map(([name, value]) => `${encodeRfc3986(name)}=${encodeRfc3986(value)}`).join('&');
}

/** Appends a query to a URL that may already carry one. */
export function withQuery(base: string, query: string): string {
  if (query === '') return base;
  return `${base}${base.includes('?') ? '&' : '?'}${query}`;
}
