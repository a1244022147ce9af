/**
 * The HTTP API client: every request carries the tenant (X-Okapi-Tenant) and, when set, the token
 * (X-Okapi-Token). The tenant is remembered in localStorage, the token only for this browser session.
 */

const TENANT_KEY = 'erm-usage-harvester.tenant';
const TOKEN_KEY = 'erm-usage-harvester.token';

/** The API's base: the UI lives at <base>/ui/, the API at <base>/. */
const BASE = new URL('..', window.location.href).pathname.replace(/\/$/, '');

export function getTenant() {
  return localStorage.getItem(TENANT_KEY) || 'diku';
}

export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

/**
 * @param {string} tenant
 * @param {string} token
 */
export function setSession(tenant, token) {
  localStorage.setItem(TENANT_KEY, tenant.trim() || 'diku');
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/**
 * @typedef {{ status: number, ok: boolean, json: any, text: string }} ApiResponse
 */

/**
 * Calls the API. Never throws for HTTP errors (see `status`/`ok`); network failures become status 0, an
 * aborted request status -1.
 * @param {string} method
 * @param {string} path path with query, e.g. `/usage-data-providers?limit=10`
 * @param {unknown} [body] sent as JSON
 * @param {{ signal?: AbortSignal }} [opts]
 * @returns {Promise<ApiResponse>}
 */
export async function api(method, path, body, opts = {}) {
  /** @type {Record<string, string>} */
  const headers = { 'X-Okapi-Tenant': getTenant(), Accept: 'application/json, text/plain' };
  const token = getToken();
  if (token) headers['X-Okapi-Token'] = token;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(BASE + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      signal: opts.signal,
    });
  } catch (err) {
    if (opts.signal?.aborted) return { status: -1, ok: false, json: undefined, text: 'Aborted' };
    return { status: 0, ok: false, json: undefined, text: `Network error: ${String(err)}` };
  }
  let text;
  try {
    text = await res.text();
  } catch (err) {
    if (opts.signal?.aborted) return { status: -1, ok: false, json: undefined, text: 'Aborted' };
    return { status: 0, ok: false, json: undefined, text: `Network error: ${String(err)}` };
  }
  let json;
  if (text && /json/i.test(res.headers.get('content-type') ?? '')) {
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
  }
  return { status: res.status, ok: res.ok, json, text };
}

/**
 * The text to show for a failed response: RMB `errors[0].message`, a `message`, or the raw body.
 * @param {ApiResponse} res
 */
export function errorText(res) {
  const first = res.json?.errors?.[0]?.message;
  if (typeof first === 'string') return first;
  if (typeof res.json?.message === 'string') return res.json.message;
  if (res.text) return res.text;
  return res.status ? `HTTP ${res.status}` : 'No answer from the service';
}

/**
 * The RMB errors of a 422 (`errors[]` with `parameters[].key` naming the fields), or one error holding the
 * response's text for any other failure.
 * @param {ApiResponse} res
 * @returns {{ message: string, fields: string[] }[]}
 */
export function apiErrors(res) {
  /** @type {any[]} */
  const errors = Array.isArray(res.json?.errors) ? res.json.errors : [];
  const out = errors
    .filter((e) => typeof e?.message === 'string')
    .map((e) => ({
      message: String(e.message),
      fields: Array.isArray(e.parameters)
        ? e.parameters.map((/** @type {any} */ p) => String(p?.key ?? '')).filter(Boolean)
        : [],
    }));
  return out.length ? out : [{ message: errorText(res), fields: [] }];
}

/**
 * Every record of a collection, read page by page.
 * @param {string} path collection path, e.g. `/usage-data-providers`
 * @param {string} key the member holding the records, e.g. `usageDataProviders`
 * @param {Record<string, string | number | undefined>} params query parameters (query, tiny, ...)
 * @param {number} [pageSize]
 * @returns {Promise<{ ok: true, records: any[] } | { ok: false, res: ApiResponse }>}
 */
export async function apiAll(path, key, params, pageSize = 1000) {
  /** @type {any[]} */
  const records = [];
  for (let offset = 0; ; offset += pageSize) {
    const res = await api('GET', `${path}?${qs({ ...params, limit: pageSize, offset })}`);
    if (!res.ok) return { ok: false, res };
    /** @type {any[]} */
    const page = res.json?.[key] ?? [];
    records.push(...page);
    if (page.length < pageSize || records.length >= (res.json?.totalRecords ?? 0)) break;
  }
  return { ok: true, records };
}

/**
 * The number of records matching a CQL query (`limit=0` reads only `totalRecords`), or undefined.
 * @param {string} path
 * @param {string} query
 */
export async function countOf(path, query) {
  const res = await api('GET', `${path}?${qs({ query, limit: 0 })}`);
  const n = res.ok ? res.json?.totalRecords : undefined;
  return typeof n === 'number' ? n : undefined;
}

/**
 * Quotes a CQL term: backslash, double quote, `*` and `?` become literals.
 * @param {string} text
 */
export function cqlQuote(text) {
  return '"' + text.replace(/[\\"*?]/g, (c) => '\\' + c) + '"';
}

/**
 * @param {Record<string, string | number | undefined>} params
 */
export function qs(params) {
  const out = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) out.set(k, String(v));
  return out.toString();
}

/** The request headers of the session (tenant, token). */
function sessionHeaders() {
  /** @type {Record<string, string>} */
  const headers = { 'X-Okapi-Tenant': getTenant() };
  const token = getToken();
  if (token) headers['X-Okapi-Token'] = token;
  return headers;
}

/**
 * Sends a file as multipart/form-data (field `file`), e.g. to the counter report upload.
 * @param {string} path
 * @param {File} file
 * @returns {Promise<ApiResponse>}
 */
export async function apiUpload(path, file) {
  const form = new FormData();
  form.append('file', file, file.name);
  let res;
  try {
    res = await fetch(BASE + path, { method: 'POST', headers: sessionHeaders(), body: form });
  } catch (err) {
    return { status: 0, ok: false, json: undefined, text: `Network error: ${String(err)}` };
  }
  const text = await res.text();
  let json;
  try {
    json = /json/i.test(res.headers.get('content-type') ?? '') ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, ok: res.ok, json, text };
}

/**
 * Downloads an API resource to a file: fetched with the session's headers (a plain link cannot send
 * them), saved under the name of its Content-Disposition or `fallbackName`.
 * @param {string} path
 * @param {string} fallbackName
 * @returns {Promise<{ ok: boolean, message: string }>}
 */
export async function apiDownload(path, fallbackName) {
  let res;
  try {
    res = await fetch(BASE + path, { headers: sessionHeaders(), cache: 'no-store' });
  } catch (err) {
    return { ok: false, message: `Network error: ${String(err)}` };
  }
  if (!res.ok) return { ok: false, message: (await res.text()) || `HTTP ${res.status}` };
  const disposition = res.headers.get('content-disposition') ?? '';
  const name = /filename="?([^";]+)"?/i.exec(disposition)?.[1] ?? fallbackName;
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.hidden = true;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return { ok: true, message: `Downloaded ${name}` };
}
