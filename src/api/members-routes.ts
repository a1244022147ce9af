/**
 * `POST /usage-data-providers/{id}/members/sync`: a consortium provider's COUNTER members list turned
 * into one provider per member and kept in step with it (docs/registry.md, "Consortia"): new members
 * added, changed ones updated, gone ones deactivated, none deleted. Body `{ "apply": false }` only
 * reports what would be done. Standalone mode.
 */
import { Type } from 'typebox';
import type { ServiceContext } from '../context.ts';
import { fetchMembers, keepMembersInStep, MembersError } from '../consortia/index.ts';
import type { LocalRecords } from '../erm/local-records.ts';
import { transportOptions } from '../harvest/binding.ts';
import type { JsonRecord, UsageDataProvider } from '../model/records.ts';
import { isFolioUuid } from '../model/schemas.ts';
import { cqlQuote } from '../cql/quote.ts';
import type { App, Routes } from './app.ts';
import { answer } from './erm-routes.ts';
import { HttpError } from './http-errors.ts';

const PROVIDERS = 'usage-data-providers';

function applyOf(body: unknown): boolean {
  if (body === undefined || body === null || body === '') return true;
  if (typeof body !== 'object' || Array.isArray(body))
    throw new HttpError(400, 'Request body must be a JSON object');
  const apply = (body as JsonRecord).apply;
  if (apply === undefined) return true;
  if (typeof apply !== 'boolean') throw new HttpError(400, 'apply must be true or false');
  return apply;
}

const brief = (p: { id?: string; label?: string; sushiCredentials?: { customerId?: string } }) => ({
  id: p.id,
  label: p.label,
  customerId: p.sushiCredentials?.customerId,
});

export function memberRoutes(ctx: ServiceContext, store: LocalRecords): Routes {
  return {
    access: 'tenant',
    register: async (app: App) => {
      app.post(
        '/usage-data-providers/:id/members/sync',
        {
          schema: {
            tags: ['usage data providers'],
            summary:
              "One provider per member of the provider's COUNTER members list, kept in step: new members " +
              'added, gone members deactivated (never deleted); {"apply": false} only reports',
            params: Type.Object({ id: Type.String() }),
          },
        },
        async (req) => {
          const { id } = req.params;
          if (!isFolioUuid(id)) throw new HttpError(404, `No provider ${String(id)}`);
          const apply = applyOf(req.body);
          const parent = store.unseal(
            PROVIDERS,
            await answer(() => store.read(req.tenant, PROVIDERS, id)),
          ) as UsageDataProvider;
          let listed;
          try {
            listed = await fetchMembers(parent, transportOptions(ctx.config.harvest));
          } catch (err) {
            if (!(err instanceof MembersError)) throw err;
            throw new HttpError(err.code === 'MEMBERS_UNSUPPORTED' ? 422 : 502, err.message);
          }
          const page = await answer(() =>
            store.list(req.tenant, PROVIDERS, {
              cql: `harvestingConfig.consortium.parentId==${cqlQuote(id)}`,
              offset: 0,
              limit: 100_000,
            }),
          );
          const current = page.records.map((r) => store.unseal(PROVIDERS, r) as UsageDataProvider);
          const plan = keepMembersInStep(parent, listed.members, current);
          const created: JsonRecord[] = [];
          if (apply) {
            for (const p of plan.create)
              created.push(await answer(() => store.create(req.tenant, PROVIDERS, p as JsonRecord)));
            for (const u of [...plan.update, ...plan.deactivate])
              await answer(() =>
                store.replace(req.tenant, PROVIDERS, u.provider.id, u.provider as JsonRecord),
              );
          }
          return {
            applied: apply,
            members: listed.members.length,
            created: apply ? created.map((p) => brief(p as UsageDataProvider)) : plan.create.map(brief),
            updated: plan.update.map((u) => ({ ...brief(u.provider), changes: u.changes })),
            deactivated: plan.deactivate.map((u) => brief(u.provider)),
            unchanged: plan.unchanged.length,
            warnings: [...listed.warnings, ...plan.warnings],
          };
        },
      );
    },
  };
}
