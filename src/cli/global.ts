/** Options every client command shares, the client built from them, and how errors are shown. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { HarvesterApiError, HarvesterClient, HarvesterConnectionError } from '../client/index.ts';
import { packageRoot } from '../package-root.ts';

export interface GlobalOptions {
  url: string;
  tenant: string;
  token?: string;
}

const DEFAULT_URL = 'http://127.0.0.1:8081';

type GlobalKey = keyof GlobalOptions;

const GLOBAL_OPTIONS: Record<GlobalKey, () => Option> = {
  url: () =>
    new Option('--url <url>', 'URL of the running service').env('HARVESTER_URL').default(DEFAULT_URL),
  tenant: () =>
    new Option('--tenant <id>', 'tenant to act on (X-Okapi-Tenant)').env('HARVESTER_TENANT').default('diku'),
  token: () =>
    new Option('--token <token>', 'token the service requires, if it was started with one').env(
      'HARVESTER_TOKEN',
    ),
};

/**
 * Adds `--url`, `--tenant` and `--token` to a command. They are on the program (before the command
 * name) and on every client command (after it); `omit` leaves one out where the command uses the
 * name itself (`providers add --url` is the provider's SUSHI URL).
 */
export function addGlobalOptions(cmd: Command, omit: GlobalKey[] = []): Command {
  for (const key of Object.keys(GLOBAL_OPTIONS) as GlobalKey[]) {
    if (omit.includes(key)) continue;
    const option = GLOBAL_OPTIONS[key]();
    globalOptionObjects.add(option);
    cmd.addOption(option);
  }
  return cmd;
}

/** The Option objects made by addGlobalOptions: a command's own option of the same name is not one. */
const globalOptionObjects = new WeakSet<Option>();

/** The global options in effect: given on the command line (nearest command first), else env, else default. */
function globalOptions(cmd: Command): GlobalOptions {
  const chain: Command[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) chain.push(c);
  const pick = (key: GlobalKey): string | undefined => {
    const owners = chain.filter((c) =>
      c.options.some((o) => globalOptionObjects.has(o) && o.attributeName() === key),
    );
    for (const source of ['cli', 'env', 'default'])
      for (const c of owners)
        if (c.getOptionValueSource(key) === source) return c.getOptionValue(key) as string | undefined;
    return undefined;
  };
  return { url: pick('url') ?? DEFAULT_URL, tenant: pick('tenant') ?? 'diku', token: pick('token') };
}

export function cliVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** Runs `fn` with a client for the command's global options and closes it afterwards. */
export async function withClient<T>(
  cmd: Command,
  fn: (client: HarvesterClient, opts: GlobalOptions) => Promise<T>,
  tenant?: string,
): Promise<T> {
  const opts = globalOptions(cmd);
  const client = new HarvesterClient({
    baseUrl: opts.url,
    tenant: tenant ?? opts.tenant,
    token: opts.token || undefined,
    userAgent: `erm-usage-harvester-cli/${cliVersion()}`,
  });
  try {
    return await fn(client, opts);
  } finally {
    await client.close();
  }
}

/** The one line shown for an error that ends the command. */
export function describeError(err: unknown): string {
  if (err instanceof HarvesterConnectionError) {
    if (err.code === 'ECONNREFUSED')
      return `cannot reach the service at ${err.baseUrl}: is it running? start it with \`npm start\``;
    return err.message;
  }
  if (err instanceof HarvesterApiError) {
    const hint = err.status === 401 ? ' (pass --token or set HARVESTER_TOKEN)' : '';
    return `the service answered ${err.status}: ${oneLine(err.message)}${hint}`;
  }
  return oneLine(err instanceof Error ? err.message : String(err));
}

function oneLine(s: string): string {
  return s.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

export function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : text + '\n');
}

export function printError(text: string): void {
  process.stderr.write(text.endsWith('\n') ? text : text + '\n');
}
