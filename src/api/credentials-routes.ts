/**
 * `POST /admin/credentials/rotate` (service token): re-encrypts every stored credential of every tenant
 * under the current key (docs/credentials.md, "Changing the key"). Standalone mode only.
 */
import { Type } from 'typebox';
import type { ServiceContext } from '../context.ts';
import { CredentialDecryptError } from '../credentials/index.ts';
import { rotateStoredCredentials } from '../erm/credential-store.ts';
import type { App, Routes } from './app.ts';
import { HttpError } from './http-errors.ts';

const RotationSchema = Type.Object({
  keyId: Type.String({ description: 'The key every credential is now encrypted under' }),
  tenants: Type.Integer(),
  records: Type.Integer({ description: 'Providers and aggregator settings looked at' }),
  written: Type.Integer({ description: 'Records rewritten' }),
  reencrypted: Type.Integer({ description: 'Values moved from a previous key' }),
  encrypted: Type.Integer({ description: 'Values that were stored in plain text' }),
  alreadyCurrent: Type.Integer({ description: 'Values already under the current key' }),
});

export function credentialRoutes(ctx: ServiceContext): Routes {
  return {
    access: 'token',
    prefix: '/admin/credentials',
    register: async (app: App) => {
      app.post(
        '/rotate',
        {
          schema: {
            tags: ['admin'],
            summary:
              'Re-encrypt every stored credential under the current key (HARVESTER_SECRET_KEY), reading ' +
              'old values with HARVESTER_PREVIOUS_SECRET_KEY; safe to run again',
            response: { 200: RotationSchema, 409: Type.String() },
          },
        },
        async () => {
          try {
            return await rotateStoredCredentials(ctx.db, await ctx.tenants.list(), ctx.keyring);
          } catch (err) {
            if (err instanceof CredentialDecryptError) throw new HttpError(409, err.message);
            throw err;
          }
        },
      );
    },
  };
}
