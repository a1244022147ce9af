import type { Command } from 'commander';
import { addGlobalOptions, print, withClient } from '../global.ts';

/** `secrets rotate`: the key rotation of docs/credentials.md, run by the service. */
export function registerSecrets(program: Command): void {
  const secrets = program
    .command('secrets')
    .description('credentials stored by the service (encrypted at rest, see docs/credentials.md)');
  addGlobalOptions(secrets.command('rotate'))
    .description('re-encrypt every stored credential under the key the service now runs with')
    .addHelpText(
      'after',
      `
Start the service with the new key in HARVESTER_SECRET_KEY and the old one (or the content of the old
key file) in HARVESTER_PREVIOUS_SECRET_KEY, run this command, then restart without the old key.
Running it again is safe: values already under the new key are left alone.

Example:
  $ erm-usage-harvester --token "$HARVESTER_TOKEN" secrets rotate`,
    )
    .action(async (_opts: unknown, cmd: Command) => {
      await withClient(cmd, async (client) => {
        const r = await client.rotateCredentials();
        print(
          `credentials now under key ${r.keyId}: ${r.records} records in ${r.tenants} tenants, ` +
            `${r.written} rewritten (${r.reencrypted} values re-encrypted, ${r.encrypted} plain values ` +
            `encrypted, ${r.alreadyCurrent} already current)`,
        );
      });
    });
}
