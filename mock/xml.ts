/** COUNTER 4 answers of the mock server: SOAP `POST .../sushi4` and NSS `GET .../nss`. */
import {
  bareXml,
  counter4Months,
  nssFailureXml,
  nssRequest,
  parseCounter4Request,
  reportResponseXml,
  soapEnvelope,
  soapFault,
  type Counter4Request,
  type SushiException,
} from './counter4.ts';
import { messageFor } from './exceptions.ts';
import type { Month } from './months.ts';
import { sendWhole } from './respond.ts';
import { deliver, replacedBody } from './rest.ts';
import { numberParam, type Ctx } from './scenarios.ts';

export const XML_TYPE = 'text/xml; charset=utf-8';

const MAX_REQUEST_BYTES = 1024 * 1024;

/** Reads the request body as text (at most 1 MiB; undefined when longer). */
export async function readBody(ctx: Ctx): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_REQUEST_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function sushiException(code: number, data?: string): SushiException {
  return { number: code, severity: 'Error', message: messageFor(code), data };
}

function faultAnswer(ctx: Ctx, status: number, code: string, reason: string): void {
  sendWhole(ctx.res, status, XML_TYPE, soapFault(code, reason));
}

/** `POST .../sushi4`: scenarios `ok`, `r4error[:code]`, `r4fault` and the transport scenarios. */
export async function handleSoap(ctx: Ctx): Promise<void> {
  if (ctx.req.method !== 'POST') return faultAnswer(ctx, 400, 'Client', 'SOAP requests must be POSTed');
  const text = await readBody(ctx);
  if (text === undefined) return faultAnswer(ctx, 400, 'Client', 'Request too large');
  ctx.record.body = text;
  let request: Counter4Request;
  try {
    request = parseCounter4Request(text);
  } catch (error) {
    return faultAnswer(ctx, 400, 'Client', `Invalid SOAP request: ${(error as Error).message}`);
  }
  ctx.record.reportId = request.reportName;
  if (ctx.endpoint.name === 'r4fault') {
    return sendWhole(ctx.res, 500, XML_TYPE, soapFault('Server', 'Mock SOAP fault'), {
      testheaderkey: 'TestHeaderValue',
    });
  }
  if (replacedBody(ctx)) return;
  const body = responseFor(ctx, request, 'r4error');
  await deliver(ctx, 200, XML_TYPE, soapEnvelope(body));
}

function responseFor(ctx: Ctx, request: Counter4Request, errorScenario: string): string {
  const months: Month[] | undefined = counter4Months(request);
  if (!months)
    return reportResponseXml(
      request,
      [],
      [sushiException(3020, `Begin=${request.begin}, End=${request.end}`)],
    );
  if (!request.reportName)
    return reportResponseXml(request, [], [sushiException(1030, 'ReportDefinition Name missing')]);
  if (ctx.endpoint.name === 'echo') {
    const data = `Requestor ${request.requestorId} / customer ${request.customerId} not authorized`;
    return reportResponseXml(request, [], [sushiException(2010, data)]);
  }
  if (ctx.endpoint.name === errorScenario) {
    const code = numberParam(ctx.endpoint, 0, 3030);
    return reportResponseXml(request, [], [sushiException(code, `Mock ${errorScenario}`)]);
  }
  return reportResponseXml(request, months);
}

/** `GET .../nss?APIKey=...`: scenarios `ok`, `nssfail` (and `r4error`), and the transport scenarios. */
export async function handleNss(ctx: Ctx): Promise<void> {
  const request = nssRequest(ctx.query);
  ctx.record.reportId = request.reportName;
  const apiKey = ctx.state.options.apiKey;
  if (apiKey !== undefined && ctx.query.APIKey !== apiKey) {
    return sendWhole(
      ctx.res,
      200,
      XML_TYPE,
      bareXml(reportResponseXml(request, [], [sushiException(2020, 'APIKey')])),
    );
  }
  if (ctx.endpoint.name === 'nssfail') return sendWhole(ctx.res, 200, XML_TYPE, nssFailureXml(request));
  if (replacedBody(ctx)) return;
  await deliver(ctx, 200, XML_TYPE, bareXml(responseFor(ctx, request, 'r4error')));
}
