/**
 * What the benchmarks that drive real service processes (`serve` children, test/helpers/child-service.ts)
 * share: a streamed POST of a large counter report generated while it is sent (mock/huge.ts), the
 * resident set size of a process read from /proc, and the machine's load average for the record.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { hugeReportChunks, hugeReportSize } from '../mock/huge.ts';

const ROOT = new URL('..', import.meta.url);

/**
 * `npm start`'s command line after `node` (package.json's `start` script: Node flags, the compiled CLI,
 * `serve`), once its `prestart` (the incremental build) has run, so that a bench measures the service
 * exactly as it starts by default.
 */
export function serviceStartArgs(): string[] {
  const pkg = JSON.parse(readFileSync(new URL('package.json', ROOT), 'utf8')) as {
    scripts: { start: string; prestart?: string };
  };
  if (pkg.scripts.prestart)
    execFileSync('npm', ['run', '--silent', 'prestart'], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  const words = pkg.scripts.start.split(/\s+/);
  if (words[0] !== 'node') throw new Error(`the start script does not run node: ${pkg.scripts.start}`);
  return words.slice(1);
}

/**
 * The Node flags the service starts with by default: those before the script in package.json's `start`
 * script (e.g. its heap limits), for bench children that stand for the service.
 */
export function serviceNodeFlags(): string[] {
  const args = serviceStartArgs();
  const script = args.findIndex((a) => !a.startsWith('--'));
  return script < 0 ? args : args.slice(0, script);
}

/**
 * A bench script compiled to JavaScript with what it imports (bench/tsconfig.compiled.json, into
 * bench/out/compiled/, incremental), for children that must run as the service does, without tsx: tsx
 * runs its module hooks in a thread of their own, about 50 MB of RSS that `npm start` does not have.
 * (It also compiles the embedded database's initdb script, which is started by path, not imported.)
 * Returns the path of the compiled `bench/<name>.js`.
 */
export function compiledBenchScript(name: string): string {
  execFileSync('npx', ['tsc', '-p', 'bench/tsconfig.compiled.json'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return fileURLToPath(new URL(`bench/out/compiled/bench/${name}.js`, ROOT));
}

/** The 1-, 5- and 15-minute load averages, two decimals each. */
export function loadAverage(): string {
  return loadavg()
    .map((v) => v.toFixed(2))
    .join(' ');
}

/** Resident set size of `pid` in MiB (0 when the process is gone). */
export async function rssMb(pid: number): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return kb / 1024;
  } catch {
    return 0;
  }
}

/** Samples the RSS of `pid` every 50 ms; `peak()` gives the largest since the last `reset()`. */
export function rssSampler(pid: number): { peak(): number; reset(): void; stop(): void } {
  let peak = 0;
  let running = true;
  void (async () => {
    while (running) {
      peak = Math.max(peak, await rssMb(pid));
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    peak: () => peak,
    reset: () => {
      peak = 0;
    },
    stop: () => {
      running = false;
    },
  };
}

/**
 * POSTs one COUNTER 5 TR counter report of about `bytes` for `yearMonth` to `base`/counter-reports (tenant
 * diku), generated while it is sent. Resolves with the answer's status; rejects when the connection
 * breaks. `onProgress` gets the bytes sent so far.
 */
export function postHugeReport(
  base: string,
  providerId: string,
  yearMonth: string,
  bytes: number,
  onProgress: (sent: number) => void = () => undefined,
): Promise<number> {
  const huge = { release: '5' as const, begin: yearMonth, end: yearMonth, bytes };
  const head = Buffer.from(
    JSON.stringify({
      providerId,
      yearMonth,
      release: '5',
      reportName: 'TR',
      downloadTime: '2024-01-01T00:00:00.000+00:00',
    }).slice(0, -1) + ',"report":',
  );
  const tail = Buffer.from('}');
  const length = head.length + hugeReportSize(huge).totalBytes + tail.length;
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}/counter-reports`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-okapi-tenant': 'diku', 'content-length': length },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    void (async () => {
      let sent = 0;
      const send = async (chunk: Buffer | string): Promise<void> => {
        sent += chunk.length;
        onProgress(sent);
        if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
      };
      await send(head);
      for (const chunk of hugeReportChunks(huge)) {
        if (req.destroyed) return;
        await send(chunk);
      }
      req.end(tail);
    })().catch(reject);
  });
}
