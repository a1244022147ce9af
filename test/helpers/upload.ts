/** POST /counter-reports/multipartupload/provider/{id}: one file as multipart/form-data, the answer read. */
import type { RunningService } from '../../src/server.ts';
import { create, udp } from './store.ts';

export async function upload(
  svc: RunningService,
  providerId: string,
  fileName: string,
  content: string | Uint8Array,
  overwrite?: boolean,
): Promise<{ status: number; text: string; json: any }> {
  const form = new FormData();
  form.append('file', new Blob([typeof content === 'string' ? content : Buffer.from(content)]), fileName);
  const qs = overwrite === undefined ? '' : `?overwrite=${overwrite}`;
  const res = await fetch(`${svc.url}/counter-reports/multipartupload/provider/${providerId}${qs}`, {
    method: 'POST',
    headers: { 'x-okapi-tenant': 'diku' },
    body: form,
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json };
}

/** A COUNTER tsv as the same rows in csv (RFC 4180 quotes where needed, CRLF line ends). */
export function tsvAsCsv(tsv: string): string {
  return tsv
    .split('\n')
    .map((line) =>
      line
        .split('\t')
        .map((c) => (/[",\r]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c))
        .join(','),
    )
    .join('\r\n');
}

/** A COUNTER tsv as an xlsx workbook of one sheet (short whole numbers as number cells). */
export async function tsvAsXlsx(tsv: string): Promise<Uint8Array> {
  const ExcelJS = (await import('exceljs')).default;
  const wb = new ExcelJS.Workbook();
  const sheet = wb.addWorksheet('TR');
  for (const line of tsv
    .replace(/^\uFEFF/, '')
    .split('\n')
    .slice(0, -1))
    sheet.addRow(line.split('\t').map((c) => (/^\d+$/.test(c) && c.length < 10 ? Number(c) : c)));
  return new Uint8Array(await wb.xlsx.writeBuffer());
}

/** A new active SUSHI provider of `release` to upload files for; its id. */
export async function uploadProvider(
  svc: RunningService,
  label: string,
  release: string,
  requestedReports = [release === '4' ? 'JR1' : 'TR'],
): Promise<string> {
  const created = await create(
    svc,
    '/usage-data-providers',
    udp(label, {
      harvestingConfig: {
        harvestingStatus: 'active',
        harvestVia: 'sushi',
        reportRelease: release,
        requestedReports,
      },
    }),
  );
  return created.id as string;
}

/** How many months (counter-reports) the provider has stored. */
export async function storedMonths(svc: RunningService, providerId: string): Promise<number> {
  const res = await svc.ctx.db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM diku_mod_erm_usage_harvester.counter_reports WHERE jsonb->>'providerId' = $1`,
    [providerId],
  );
  return res.rows[0].n;
}
