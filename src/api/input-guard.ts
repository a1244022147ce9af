/**
 * The one place where every request's strings are checked before any route code or SQL sees them
 * (docs/hardening.md, "Client input"): path parameters, query parameters and the parsed JSON body must
 * hold no NUL character and no lone UTF-16 surrogate, and the body must not nest deeper than
 * MAX_JSON_DEPTH. A problem is answered in FOLIO's formats: 422 with RMB's `errors` body on routes that
 * document a 422 answer (the store's writes, the periodic configuration), 400 `text/plain` elsewhere,
 * always naming the parameter or the JSON path and what is wrong.
 */
import type { FastifyRequest } from 'fastify';
import { jsonProblem, MAX_JSON_DEPTH, paramsProblem, type InputProblem } from '../model/input-checks.ts';
import type { App } from './app.ts';
import { HttpError, unprocessable } from './http-errors.ts';

const PARAM_RULE = 'no parameter may hold a NUL character or a lone UTF-16 surrogate';
const BODY_RULE = `no JSON string may hold a NUL character or a lone UTF-16 surrogate, and JSON may nest at most ${MAX_JSON_DEPTH} levels`;

function documents422(req: FastifyRequest): boolean {
  const response = (req.routeOptions.schema as { response?: Record<string, unknown> } | undefined)?.response;
  return response !== undefined && (422 in response || '422' in response);
}

function bodyError(req: FastifyRequest, problem: InputProblem): HttpError {
  const where = problem.where === '' ? 'the request body' : problem.where;
  if (documents422(req))
    return unprocessable([
      {
        message: `${where} ${problem.what}`,
        code: 'invalid.input',
        parameters: [{ key: problem.where === '' ? 'body' : problem.where, value: problem.what }],
      },
    ]);
  return new HttpError(400, `Invalid request body: ${where} ${problem.what} (${BODY_RULE})`);
}

/** Adds the check as a `preValidation` hook: it runs after the body is parsed, before every handler. */
export function guardInput(app: App): void {
  app.addHook('preValidation', async (req) => {
    const param =
      paramsProblem(req.params as Record<string, unknown>, 'path parameter') ??
      paramsProblem(req.query as Record<string, unknown>, 'query parameter');
    if (param) throw new HttpError(400, `Invalid ${param.where}: it ${param.what} (${PARAM_RULE})`);
    const body = jsonProblem(req.body);
    if (body) throw bodyError(req, body);
  });
}
