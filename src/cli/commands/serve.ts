import type { Command } from 'commander';

interface ServeOptions {
  port?: string;
  host?: string;
  dataDir?: string;
  databaseUrl?: string;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('start the service (embedded database in ./data unless DATABASE_URL is set)')
    .option('-p, --port <port>', 'port to listen on (PORT, default 8081)')
    .option('-H, --host <host>', 'address to listen on (HOST, default 127.0.0.1)')
    .option('-d, --data-dir <dir>', 'embedded database directory (HARVESTER_DATA_DIR, default ./data)')
    .option('--database-url <url>', 'PostgreSQL connection string (DATABASE_URL)')
    .addHelpText(
      'after',
      `
Every other setting is an environment variable (see the README's configuration table).

Examples:
  $ erm-usage-harvester serve
  $ erm-usage-harvester serve --port 9000 --data-dir /var/lib/harvester
  $ DATABASE_URL=postgres://harvester@db/harvester erm-usage-harvester serve --host 0.0.0.0`,
    )
    .action(async (opts: ServeOptions) => {
      // Loaded here, not at the top: client commands need none of the service's modules.
      const { loadConfig } = await import('../../config.ts');
      const { startService } = await import('../../server.ts');
      const env = { ...process.env };
      if (opts.port) env.PORT = opts.port;
      if (opts.host) env.HOST = opts.host;
      if (opts.dataDir) env.HARVESTER_DATA_DIR = opts.dataDir;
      if (opts.databaseUrl) env.DATABASE_URL = opts.databaseUrl;
      const config = loadConfig(env);
      // Nothing the service writes (database, lock, spill files) is meant for other users.
      process.umask(0o077);
      const svc = await startService(config, {
        // The embedded database's thread died (logged by the service): end as a failed start does
        // (cli/main.ts), so that a supervisor starts the service again instead of keeping a process
        // whose every statement fails.
        onFatal: (err) => {
          process.stderr.write(`erm-usage-harvester: ${err.message}; the service stops\n`);
          process.exit(1);
        },
      });
      const where = config.databaseUrl
        ? 'PostgreSQL (DATABASE_URL)'
        : `embedded database in ${config.dataDir}`;
      process.stdout.write(
        `erm-usage-harvester listening on ${svc.url} (${where}); API docs at ${svc.url}/docs\n`,
      );
      const stop = () => {
        void svc.close().then(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
