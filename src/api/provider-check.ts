/**
 * `GET /erm-usage-harvester/providers/{id}/check` (not FOLIO's): what the provider answers right now —
 * reachable, credentials accepted, reports offered, release detected — with messages free of secrets
 * (src/harvest/check.ts). 404 text when the provider does not exist.
 */
import { Type } from 'typebox';
import type { ServiceContext } from '../context.ts';
import { ErmError, type ErmStore } from '../erm/port.ts';
import { checkProvider } from '../harvest/check.ts';
import type { App, RoutePlugin } from './app.ts';
import { docsOnly } from './app.ts';
import { HttpError } from './http-errors.ts';

const Strings = Type.Array(Type.String());

export const ProviderCheckSchema = Type.Object(
  {
    providerId: Type.String(),
    label: Type.Optional(Type.String()),
    serviceType: Type.Optional(Type.String()),
    releaseConfigured: Type.Optional(Type.String()),
    checked: Type.Boolean({ description: 'false: the implementation cannot be checked, or not bound' }),
    reachable: Type.Boolean(),
    credentialsAccepted: Type.Optional(Type.Boolean()),
    serviceActive: Type.Optional(Type.Boolean()),
    reportsOffered: Type.Optional(Strings),
    reportsRequested: Strings,
    reportsNotOffered: Type.Optional(Strings),
    releaseDetected: Type.Optional(Type.String()),
    messages: Strings,
  },
  { additionalProperties: false },
);

export function providerCheckRoutes(ctx: ServiceContext, erm: ErmStore): RoutePlugin {
  return async (app: App) => {
    app.get(
      '/providers/:id/check',
      {
        ...docsOnly,
        schema: {
          tags: ['harvester'],
          summary:
            'Check a provider: reachable, credentials accepted, reports offered, release (asks its /status and /reports)',
          params: Type.Object({ id: Type.String({ description: 'UDP id' }) }),
          response: { 200: ProviderCheckSchema, 404: Type.String() },
        },
      },
      async (req, reply) => {
        const { id } = req.params;
        try {
          const check = await checkProvider(ctx, erm, req.tenant, id);
          return reply.code(200).type('application/json').send(JSON.stringify(check));
        } catch (err) {
          if (err instanceof ErmError && err.status === 404)
            throw new HttpError(404, `Usage data provider not found: ${id}`);
          throw err;
        }
      },
    );
  };
}
