import { Command } from 'commander';
import { loadConfig } from '../config.ts';
import { startService } from '../server.ts';

const program = new Command();
program
  .name('erm-usage-harvester')
  .description('COUNTER usage harvester (FOLIO mod-erm-usage-harvester compatible)');

program
  .command('serve')
  .description('start the service (embedded database in ./data unless DATABASE_URL is set)')
  .option('-p, --port <port>', 'port to listen on (PORT, default 8081)')
  .option('-H, --host <host>', 'address to listen on (HOST, default 127.0.0.1)')
  .option('-d, --data-dir <dir>', 'embedded database directory (HARVESTER_DATA_DIR, default ./data)')
  .option('--database-url <url>', 'PostgreSQL connection string (DATABASE_URL)')
  .action(async (opts: { port?: string; host?: string; dataDir?: string; databaseUrl?: string }) => {
    const env = { ...process.env };
    if (opts.port) env.PORT = opts.port;
    if (opts.host) env.HOST = opts.host;
    if (opts.dataDir) env.HARVESTER_DATA_DIR = opts.dataDir;
    if (opts.databaseUrl) env.DATABASE_URL = opts.databaseUrl;
    const config = loadConfig(env);
    const svc = await startService(config);
    const where = config.databaseUrl ? 'PostgreSQL (DATABASE_URL)' : `embedded database in ${config.dataDir}`;
    process.stdout.write(
      `erm-usage-harvester listening on ${svc.url} (${where}); API docs at ${svc.url}/docs\n`,
    );
    const stop = () => {
      void svc.close().then(() => process.exit(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.stderr.write(`erm-usage-harvester: ${(err as Error).message}\n`);
  process.exit(1);
}
