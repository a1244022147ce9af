/** POST /counter-reports/multipartupload/provider/{id}: one file as multipart/form-data, the answer read. */
import type { RunningService } from '../../src/server.ts';

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
