/**
 * Scenarios of the mock server about what the data says rather than how it travels (issue "harvest
 * truth"): a provider that answers with a stored file whatever was asked, one that answers in the other
 * release's layout, one that ignores begin/end, and one that restates its usage.
 *
 * | endpoint key            | answer                                                                        |
 * |-------------------------|-------------------------------------------------------------------------------|
 * | `file:<dir>:<name>`     | the file `test/fixtures/<dir>/<name>` as it is (`~` in the key stands for `-`) |
 * | `layout:<release>[:camel]` | the `ok` report in the layout of `<release>` (`5`, `5.1`) on any path; `camel`: keys in camelCase |
 * | `layout:none`           | a report whose items carry their counts in neither layout (`Usage` lists)      |
 * | `outside[:<b>[:<a>]]`   | the `ok` report for `<b>` months before begin to `<a>` months after end (1, 1) |
 * | `restate[:<n>]`         | `ok` for the first `<n>` requests of a range (1), then every count plus one    |
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MockRelease } from './exceptions.ts';
import { monthFromIndex, monthIndex, type Month } from './months.ts';
import { JSON_TYPE, sendJson, sendWhole } from './respond.ts';
import { okReport, type MockReportId } from './samples.ts';
import { nextAttempt, numberParam, type Ctx } from './scenarios.ts';

interface TruthRequest {
  release: MockRelease;
  id: MockReportId;
  begin: Month;
  end: Month;
}

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures');
const FIXTURE_DIRS = new Set(['celus', 'counter']);

/** `file:<dir>:<name>`: the fixture as stored; 404 when the key names no fixture. */
function serveFile(ctx: Ctx): void {
  const [dir = '', ...rest] = ctx.endpoint.params;
  const name = rest.join(':').replaceAll('~', '-');
  if (!FIXTURE_DIRS.has(dir) || name === '' || name.includes('..') || name.includes('/')) {
    sendJson(ctx.res, 404, { Code: 1030, Severity: 'Error', Message: `No fixture ${dir}/${name}` });
    return;
  }
  let body: string;
  try {
    body = readFileSync(join(FIXTURES, dir, name), 'utf8');
  } catch {
    sendJson(ctx.res, 404, { Code: 1030, Severity: 'Error', Message: `No fixture ${dir}/${name}` });
    return;
  }
  sendWhole(ctx.res, 200, JSON_TYPE, body);
}

/** `Report_Header` → `reportHeader`, at every depth (month keys of 5.1 `Performance` stay). */
function camelKeys(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(camelKeys);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    const name = /^\d{4}-\d{2}$/.test(key)
      ? key
      : key.replace(/_(.)/g, (_m, c: string) => c.toUpperCase()).replace(/^./, (c) => c.toLowerCase());
    out[name] = camelKeys(value);
  }
  return out;
}

function layout(ctx: Ctx, request: TruthRequest): void {
  if (ctx.endpoint.params[0] === 'none') {
    const report = okReport(request.release, request.id, request.begin, request.end) as {
      Report_Header: unknown;
      Report_Items: Array<Record<string, unknown>>;
    };
    const items = report.Report_Items.map(({ Performance: _p, Attribute_Performance: _a, ...rest }) => ({
      ...rest,
      Usage: [{ Month: request.begin, Requests: 12 }],
    }));
    return sendJson(ctx.res, 200, { ...report, Report_Items: items });
  }
  const release: MockRelease = ctx.endpoint.params[0] === '5' ? '5' : '5.1';
  const report = okReport(release, request.id, request.begin, request.end);
  sendJson(ctx.res, 200, ctx.endpoint.params[1] === 'camel' ? camelKeys(report) : report);
}

function shift(month: Month, by: number): Month {
  return monthFromIndex(monthIndex(month) + by);
}

function outside(ctx: Ctx, request: TruthRequest): void {
  const before = numberParam(ctx.endpoint, 0, 1);
  const after = numberParam(ctx.endpoint, 1, 1);
  const begin = shift(request.begin, -before);
  const end = shift(request.end, after);
  sendJson(ctx.res, 200, okReport(request.release, request.id, begin, end));
}

/** Adds one to every count (5.0 `Count`, 5.1 month keys) of a report's items. */
function plusOne(node: unknown, key = ''): unknown {
  if (typeof node === 'number') return key === 'Count' || /^\d{4}-\d{2}$/.test(key) ? node + 1 : node;
  if (Array.isArray(node)) return node.map((v) => plusOne(v, key));
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) out[k] = plusOne(v, k);
  return out;
}

function restate(ctx: Ctx, request: TruthRequest): void {
  const same = numberParam(ctx.endpoint, 0, 1);
  const scope = `${ctx.endpoint.key}|restate|${request.release}|${request.id}|${request.begin}|${request.end}`;
  const attempt = nextAttempt(ctx.state, scope);
  const report = okReport(request.release, request.id, request.begin, request.end) as {
    Report_Header: unknown;
    Report_Items: unknown;
  };
  if (attempt <= same) return sendJson(ctx.res, 200, report);
  sendJson(ctx.res, 200, { ...report, Report_Items: plusOne(report.Report_Items) });
}

/** The handlers by scenario name; their names are listed in scenarios.ts. */
export const TRUTH_HANDLERS: Record<string, (ctx: Ctx, r: TruthRequest) => void> = {
  file: serveFile,
  layout,
  outside,
  restate,
};
