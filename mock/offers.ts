/**
 * What a provider says it offers (`/reports`, `/status`), for the harvest's look before planning and the
 * provider check:
 *
 * | scenario               | answer                                                                     |
 * |------------------------|----------------------------------------------------------------------------|
 * | `offers:<id>[:<id>…]`  | `/reports` lists only these report ids (any case); a report request for    |
 * |                        | another id → 404 + 3000; everything else as `ok`                           |
 * | `nolist`               | `/reports` and `/status` → 404 + 3000 (not implemented); reports as `ok`   |
 */
import { counterException, type MockRelease } from './exceptions.ts';
import { sendJson } from './respond.ts';
import type { Ctx } from './scenarios.ts';

/** The report ids an `offers` endpoint lists, lower case; undefined for every other scenario. */
function offeredIds(ctx: Ctx): string[] | undefined {
  return ctx.endpoint.name === 'offers' ? ctx.endpoint.params.map((p) => p.toLowerCase()) : undefined;
}

/** Whether the endpoint's report list names `id` (every id when it does not restrict its list). */
export function isOffered(ctx: Ctx, id: string): boolean {
  return offeredIds(ctx)?.includes(id.toLowerCase()) ?? true;
}

/**
 * Answers `/status` and `/reports` (no `reportId`) or a report request as the endpoint's scenario
 * says; false when the request is to be answered as usual.
 */
export function offersAnswer(ctx: Ctx, release: MockRelease, reportId?: string): boolean {
  if (reportId === undefined && ctx.endpoint.name === 'nolist') {
    sendJson(ctx.res, 404, counterException(3000, release, `Not implemented: ${ctx.record.path}`));
    return true;
  }
  if (reportId !== undefined && !isOffered(ctx, reportId)) {
    sendJson(ctx.res, 404, counterException(3000, release, `Report not offered: ${reportId}`));
    return true;
  }
  return false;
}
