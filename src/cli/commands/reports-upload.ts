/**
 * `reports upload <providerId> <file> [--overwrite]`: one COUNTER file (R5 JSON; R5 or R4 tsv, csv, xlsx) stored
 * as the provider's months through `POST /counter-reports/multipartupload/provider/{id}`. The file is
 * streamed from disk, never read whole.
 */
import { openAsBlob } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { HarvesterApiError, type ReportUploadError } from '../../client/index.ts';
import { addGlobalOptions, print, withClient } from '../global.ts';

/** The refused upload's code and details as one line, when the answer is mod-erm-usage's error shape. */
function uploadRefusal(err: HarvesterApiError): string | undefined {
  try {
    const body = JSON.parse(err.body) as Partial<ReportUploadError>;
    if (typeof body.code !== 'string') return undefined;
    return `upload refused (${body.code}): ${body.message ?? ''}${body.details ? ` ${body.details}` : ''}`;
  } catch {
    return undefined;
  }
}

export function addReportsUpload(reports: Command): void {
  addGlobalOptions(reports.command('upload'))
    .description(
      'upload a COUNTER file (R5.0/R5.1 JSON, R5 or R4 tabular tsv, csv or xlsx) as a provider’s months',
    )
    .argument('<providerId>', 'the usage data provider the usage belongs to')
    .argument('<file>', 'the file; its extension (.json, .tsv, .csv, .xlsx) says its format')
    .option('--overwrite', 'replace months already stored (default: refuse and name them)')
    .addHelpText(
      'after',
      `
All months of the file are stored, or none: a file with a fault anywhere is refused with the row
and column (or report item) at fault.

Examples:
  $ erm-usage-harvester reports upload 0b3a…  TR_2024.tsv
  $ erm-usage-harvester reports upload 0b3a…  tr-2024.json --overwrite`,
    )
    .action(async (providerId: string, file: string, opts: { overwrite?: boolean }, cmd: Command) => {
      const info = await stat(file).catch(() => undefined);
      if (!info?.isFile()) throw new Error(`${file}: no such file`);
      const blob = await openAsBlob(file);
      await withClient(cmd, async (client) => {
        try {
          const result = await client.uploadCounterReport(providerId, blob, basename(file), {
            overwrite: opts.overwrite === true,
          });
          print(
            `stored ${result.ids.length} month${result.ids.length === 1 ? '' : 's'} from ${basename(file)}`,
          );
        } catch (err) {
          const refusal = err instanceof HarvesterApiError ? uploadRefusal(err) : undefined;
          if (refusal) throw new Error(refusal);
          throw err;
        }
      });
    });
}
