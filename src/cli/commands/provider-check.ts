/** `providers check <id>`: what the provider answers right now (its /status and /reports). */
import type { Command } from 'commander';
import type { ProviderCheck } from '../../client/index.ts';
import { addGlobalOptions, print, withClient } from '../global.ts';

const yesNo = (v: boolean | undefined): string => (v === undefined ? 'unknown' : v ? 'yes' : 'no');

/** The check as lines for people. */
export function formatCheck(c: ProviderCheck): string {
  const lines = [
    `provider:             ${c.label ?? ''} (${c.providerId})`,
    `reachable:            ${c.checked ? yesNo(c.reachable) : 'not checked'}`,
    `credentials accepted: ${yesNo(c.credentialsAccepted)}`,
    `service active:       ${yesNo(c.serviceActive)}`,
    `reports offered:      ${c.reportsOffered ? c.reportsOffered.join(', ') || 'none' : 'unknown'}`,
    `release detected:     ${c.releaseDetected ?? 'unknown'} (configured: ${c.releaseConfigured ?? '-'})`,
  ];
  if (c.reportsNotOffered && c.reportsNotOffered.length > 0)
    lines.push(`not offered:          ${c.reportsNotOffered.join(', ')} (a harvest skips them)`);
  return [...lines, ...c.messages.map((m) => `- ${m}`)].join('\n');
}

export function registerCheck(providers: Command): void {
  addGlobalOptions(providers.command('check <id>'))
    .description('ask the provider now: reachable, credentials accepted, reports offered, release')
    .option('--json', 'print the answer as JSON')
    .addHelpText(
      'after',
      `
Asks the provider's COUNTER 5 /status and /reports with its credentials; stores nothing. Exits 1
when the provider is not reachable or rejects the credentials. Messages never contain credentials.

Example:
  $ erm-usage-harvester providers check 0b1a54c4-2f5e-4b6e-9d55-0c2c0f5b2a11`,
    )
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      await withClient(cmd, async (client) => {
        const check = await client.checkProvider(id);
        print(opts.json ? JSON.stringify(check, null, 2) : formatCheck(check));
        if (check.checked && (!check.reachable || check.credentialsAccepted === false)) process.exitCode = 1;
      });
    });
}
