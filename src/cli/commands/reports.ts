/**
 * `reports`: the stored counter reports (standalone store). This branch holds only `upload`
 * (reports-upload.ts); list, export and delete join it from their own module.
 */
import type { Command } from 'commander';
import { addReportsUpload } from './reports-upload.ts';

export function registerReports(program: Command): void {
  const reports = program
    .command('reports')
    .description('stored counter reports: upload COUNTER files (standalone store)');
  addReportsUpload(reports);
}
