/**
 * Before a provider run is planned, the provider's `/reports` list (COUNTER 5) says which of the
 * configured reports it offers: the others are not requested (one note on the job names them) instead
 * of collecting a 3000 per month. No list (not offered, failed, empty, COUNTER 4): planned as before.
 */
import type { Logger } from '../log.ts';
import type { WorkItem } from '../store/sql/work-items.ts';
import type { ProviderBinding } from './binding.ts';
import { scrub } from './binding.ts';

export async function withoutUnofferedReports(
  binding: ProviderBinding,
  items: WorkItem[],
  log: Logger,
  note: (text: string) => Promise<void>,
): Promise<WorkItem[]> {
  const probe = binding.endpoint.probe?.bind(binding.endpoint);
  if (!probe || items.length === 0) return items;
  let offered: Set<string>;
  try {
    const offer = await probe({ status: false });
    if (!offer.reportsOffered || offer.reportsOffered.length === 0) {
      log.info({ event: 'report-list', messages: offer.messages }, 'no report list: planning every report');
      return items;
    }
    offered = new Set(offer.reportsOffered);
  } catch (err) {
    log.warn({ event: 'report-list' }, `report list failed: ${scrub(binding, (err as Error).message)}`);
    return items;
  }
  const skipped = [...new Set(items.map((i) => i.reportName.toUpperCase()).filter((r) => !offered.has(r)))];
  if (skipped.length === 0) return items;
  const text = `Not requested, the provider does not offer them (its /reports list): ${skipped.join(', ')}`;
  log.warn({ event: 'reports-not-offered', reports: skipped }, text);
  await note(text);
  return items.filter((i) => offered.has(i.reportName.toUpperCase()));
}
