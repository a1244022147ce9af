/** The SUSHI 4.1 `ReportRequest` SOAP 1.1 envelope (folio-contract §7.10.3); every value XML-escaped. */

export interface R4Request {
  requestorId: string;
  requestorName: string;
  requestorEmail: string;
  customerId: string;
  reportName: string;
  release: string;
  begin: string;
  end: string;
}

export function escapeXml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

export function soapEnvelope(req: R4Request): string {
  const e = escapeXml;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">',
    '<soap:Body>',
    '<sc:ReportRequest xmlns:sc="http://www.niso.org/schemas/sushi/counter" xmlns="http://www.niso.org/schemas/sushi">',
    `<Requestor><ID>${e(req.requestorId)}</ID><Name>${e(req.requestorName)}</Name><Email>${e(req.requestorEmail)}</Email></Requestor>`,
    `<CustomerReference><ID>${e(req.customerId)}</ID></CustomerReference>`,
    `<ReportDefinition Name="${e(req.reportName)}" Release="${e(req.release)}">`,
    `<Filters><UsageDateRange><Begin>${e(req.begin)}</Begin><End>${e(req.end)}</End></UsageDateRange></Filters>`,
    '</ReportDefinition>',
    '</sc:ReportRequest>',
    '</soap:Body>',
    '</soap:Envelope>',
  ].join('');
}
