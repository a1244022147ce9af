/** Naming providers in the CLI: an id or a label in, the record out; labels for ids in tables. */
import {
  cqlString,
  HarvesterApiError,
  type AggregatorSetting,
  type HarvesterClient,
  type UsageDataProvider,
} from '../client/index.ts';
import { UsageError } from './provider-record.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The provider an id or an exact label names; a clear error when none or several match. */
export async function resolveProvider(client: HarvesterClient, ref: string): Promise<UsageDataProvider> {
  if (UUID.test(ref)) {
    try {
      return await client.getProvider(ref);
    } catch (err) {
      if (err instanceof HarvesterApiError && err.status === 404)
        throw new UsageError(`no provider with id ${ref}`);
      throw err;
    }
  }
  const page = await client.listProviders({ query: `label==${cqlString(ref)}`, limit: 10 });
  const found = page.usageDataProviders;
  if (found.length === 0)
    throw new UsageError(`no provider labelled "${ref}" (see \`erm-usage-harvester providers list\`)`);
  if (found.length > 1)
    throw new UsageError(
      `${found.length} providers are labelled "${ref}"; give an id: ${found.map((p) => p.id).join(', ')}`,
    );
  return found[0];
}

/** A provider id as given, or the id of the provider an exact label names (jobs of deleted providers stay reachable). */
export async function providerIdOf(client: HarvesterClient, ref: string): Promise<string> {
  return UUID.test(ref) ? ref : ((await resolveProvider(client, ref)).id ?? '');
}

/** Labels of the given provider ids (ids of deleted providers map to themselves). */
export async function providerLabels(
  client: HarvesterClient,
  ids: readonly (string | undefined)[],
): Promise<Map<string, string>> {
  const labels = new Map<string, string>();
  for (const id of new Set(ids)) {
    if (!id || labels.has(id)) continue;
    try {
      labels.set(id, (await client.getProvider(id)).label || id);
    } catch (err) {
      if (!(err instanceof HarvesterApiError) || err.status !== 404) throw err;
      labels.set(id, id);
    }
  }
  return labels;
}

/** The aggregator setting an id or an exact label names. */
export async function resolveAggregator(client: HarvesterClient, ref: string): Promise<AggregatorSetting> {
  const found = UUID.test(ref)
    ? (await client.listAggregators({ query: `id==${cqlString(ref)}`, limit: 1 })).aggregatorSettings
    : (await client.listAggregators({ query: `label==${cqlString(ref)}`, limit: 10 })).aggregatorSettings;
  if (found.length === 0)
    throw new UsageError(`no aggregator setting "${ref}" (see \`erm-usage-harvester aggregators list\`)`);
  if (found.length > 1)
    throw new UsageError(
      `${found.length} aggregator settings are labelled "${ref}"; give an id: ${found.map((a) => a.id).join(', ')}`,
    );
  return found[0];
}
