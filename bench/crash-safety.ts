/**
 * Crash safety as a figure (docs/hardening.md, "Crash safety"): a harvest of providers × months (TR,
 * one request per month, the mock COUNTER server) by real service processes (`serve`) that are killed
 * with SIGKILL at random points and restarted on the same database, until the harvest is done. Among
 * the kill points: one while a large counter report is being uploaded (a streamed POST of a chunked
 * month) and one while a tenant upgrade (`POST /_/tenant` with module_from) runs. Then it counts months
 * lost, months stored twice and jobs left running, all of which must be zero, and checks that the
 * uploaded month is whole or absent (never half) and the upgrade completes when sent again.
 *
 *   node --import tsx bench/crash-safety.ts [--setups pglite,postgres,postgres-2] [--providers 10] \
 *     [--months 24] [--kills 6] [--upload-mb 20] [--latency 20] [--seed 1] [--stall-s 120] [--spacing-ms 0]
 *
 * Setups: `pglite` (one process, data directory), `postgres` (one process), `postgres-2` (two
 * processes sharing the database; each kill hits one of them at random). The default is short (a few
 * minutes per setup); the figures in docs/hardening.md come from
 * `--providers 20 --months 50 --kills 20` (1,000 harvested months, 20 kills per setup).
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startMockCounterServer } from '../mock/counter-server.ts';
import { hugeReportSize } from '../mock/huge.ts';
import {
  killAllChildren,
  monthsBetween,
  providerRecord,
  request,
  startChild,
  type ChildService,
} from '../test/helpers/child-service.ts';
import { startPgServer, type PgServer } from '../test/helpers/pg-server.ts';
import { loadAverage, postHugeReport } from './service-process.ts';

/** Crash timings: heartbeats every 300 ms, an item is dead 1.5 s after its last heartbeat. */
const CRASH_ENV = { STALE_HEARTBEAT_MS: '1500', HEARTBEAT_INTERVAL_MS: '300', LOG_LEVEL: 'warn' };
const UPLOAD_MONTH = '1999-01';

type Setup = 'pglite' | 'postgres' | 'postgres-2';

interface Options {
  providers: number;
  months: string[];
  kills: number;
  uploadMb: number;
  settleMs: number;
  /** ENDPOINT_MIN_INTERVAL_MS of the processes: spaces each provider's requests, so the harvest lasts. */
  spacingMs: number;
  random: () => number;
}

interface SetupResult {
  setup: Setup;
  months: number;
  kills: number;
  /** Kills that fell before every harvested month was stored. */
  killsDuringHarvest: number;
  killPoints: string[];
  /** Jobs and requests of killed processes handed back by a live process. */
  handedBack: { jobs: number; requests: number };
  lost: number;
  duplicated: number;
  failedMonths: number;
  jobsLeftRunning: number;
  failedJobs: number;
  upload: string;
  upgrade: string;
  seconds: number;
}

/** A small deterministic generator (mulberry32), so that a seed repeats a run's kill points. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until `done(stored)` for the number of stored months; false when the number has not grown
 * for `stallMs` (the harvest stalled: the figures then show what is missing).
 */
async function waitForMonths(
  cluster: Cluster,
  done: (stored: number) => boolean | Promise<boolean>,
  stallMs: number,
): Promise<boolean> {
  let last = -1;
  let since = Date.now();
  for (;;) {
    const n = await storedCount(cluster.any());
    if (n !== undefined && (await done(n))) return true;
    if (n !== undefined && n > last) {
      last = n;
      since = Date.now();
    }
    if (Date.now() - since > stallMs) return false;
    await sleep(200);
  }
}

async function storedCount(svc: ChildService): Promise<number | undefined> {
  try {
    const res = await request(svc.url, 'GET', '/counter-reports?limit=0');
    return res.status === 200 ? (res.json.totalRecords as number) : undefined;
  } catch {
    return undefined;
  }
}

/** A streamed POST of the large month; resolves with the status, or -1 when the connection broke. */
function upload(base: string, providerId: string, bytes: number, onProgress: (sent: number) => void) {
  return postHugeReport(base, providerId, UPLOAD_MONTH, bytes, onProgress).catch(() => -1);
}

class Cluster {
  procs: ChildService[] = [];
  private n = 0;
  constructor(
    private readonly setup: Setup,
    private readonly env: Record<string, string>,
  ) {}

  async start(count: number): Promise<void> {
    for (let i = 0; i < count; i++) this.procs.push(await this.spawn());
  }

  private spawn(): Promise<ChildService> {
    return startChild(`${this.setup}-${++this.n}`, this.env, 300_000);
  }

  pick(random: () => number): number {
    return Math.floor(random() * this.procs.length);
  }

  async killAndRestart(i: number): Promise<void> {
    await this.procs[i].kill();
    this.count(this.procs[i]);
    this.procs[i] = await this.spawn();
  }

  /** Hand-backs logged by processes that were killed. */
  private readonly killedCounts = { jobs: 0, requests: 0 };

  private count(proc: ChildService, into = this.killedCounts): void {
    for (const r of proc.logRecords()) {
      if (r.msg === 'jobs of a stopped process put back in the queue')
        into.jobs += (r.jobs as unknown[]).length;
      if (r.msg === 'requests of a stopped process put back in the queue') into.requests += r.items as number;
    }
  }

  /** Jobs and requests of stopped processes that a live process handed back (from all processes' logs). */
  handedBack(): { jobs: number; requests: number } {
    const counts = { ...this.killedCounts };
    for (const p of this.procs) this.count(p, counts);
    return counts;
  }

  any(): ChildService {
    return this.procs[0];
  }

  async stop(): Promise<void> {
    await Promise.all(this.procs.map((p) => p.stop()));
  }
}

/** Kill point: while a large month is uploaded to the victim (at a random share of its bytes). */
async function killDuringUpload(
  cluster: Cluster,
  victim: number,
  uploadPid: string,
  opts: Options,
): Promise<{ status: number; bytes: number }> {
  const bytes = opts.uploadMb * 1024 * 1024;
  const at = (0.2 + 0.9 * opts.random()) * bytes;
  let sentNow = 0;
  const done = upload(cluster.procs[victim].url, uploadPid, bytes, (s) => (sentNow = s));
  // Past the last byte (at > bytes) the kill falls while the service stores the chunks.
  const deadline = Date.now() + 600_000;
  let status: number | undefined;
  void done.then((s) => (status = s));
  while (sentNow < Math.min(at, bytes) && status === undefined && Date.now() < deadline) await sleep(5);
  if (at > bytes) await sleep(Math.floor(opts.random() * 2_000));
  await cluster.killAndRestart(victim);
  return { status: await done, bytes };
}

/** Kill point: while a tenant upgrade runs on the victim; then the upgrade sent again must complete. */
async function killDuringUpgrade(cluster: Cluster, victim: number, opts: Options): Promise<string> {
  const body = { module_from: 'mod-erm-usage-harvester-1.0.0', module_to: 'mod-erm-usage-harvester-1.0.1' };
  const first = await request(cluster.procs[victim].url, 'POST', '/_/tenant', body);
  await sleep(Math.floor(opts.random() * 300));
  await cluster.killAndRestart(victim);
  const again = await request(cluster.procs[victim].url, 'POST', '/_/tenant', body);
  if (again.status !== 201) return `re-sent upgrade answered ${again.status} ${again.text}`;
  const op = await request(cluster.procs[victim].url, 'GET', `/_/tenant/${again.json.id}?wait=60000`);
  const ok = op.json?.complete === true && op.json?.error === undefined;
  return `${first.status === 201 ? 'killed during the upgrade' : `first answer ${first.status}`}; re-sent upgrade ${ok ? 'completed' : `did not complete: ${op.text}`}`;
}

async function runSetup(
  setup: Setup,
  pg: PgServer | undefined,
  mockUrl: string,
  opts: Options,
): Promise<SetupResult> {
  const t0 = Date.now();
  const dir = await mkdtemp(join(tmpdir(), 'crash-safety-'));
  const env: Record<string, string> = { ...CRASH_ENV, ENDPOINT_MIN_INTERVAL_MS: String(opts.spacingMs) };
  if (setup === 'pglite') env.HARVESTER_DATA_DIR = dir;
  else env.DATABASE_URL = await pg!.createDatabase();
  const cluster = new Cluster(setup, env);
  try {
    await cluster.start(setup === 'postgres-2' ? 2 : 1);
    const base = () => cluster.any().url;
    const ids: string[] = [];
    for (let i = 0; i < opts.providers; i++) {
      const id = randomUUID();
      ids.push(id);
      const res = await request(
        base(),
        'POST',
        '/usage-data-providers',
        providerRecord(id, {
          label: `crash ${setup} ${i}`,
          serviceUrl: `${mockUrl}/ok-crash-${setup}-${i}`,
          reports: ['TR'],
          start: opts.months[0],
          end: opts.months[opts.months.length - 1],
        }),
      );
      if (res.status !== 201) throw new Error(`provider: ${res.status} ${res.text}`);
    }
    const uploadPid = randomUUID();
    const up = await request(base(), 'POST', '/usage-data-providers', {
      id: uploadPid,
      label: `crash ${setup} upload`,
      status: 'active',
      harvestingConfig: { harvestingStatus: 'inactive', harvestVia: 'sushi', reportRelease: '5' },
    });
    if (up.status !== 201) throw new Error(`upload provider: ${up.status} ${up.text}`);
    const total = opts.providers * opts.months.length;
    const started = await request(base(), 'GET', '/erm-usage-harvester/start');
    if (started.status !== 200) throw new Error(`start: ${started.status} ${started.text}`);

    // Kill points: at random numbers of stored months, spread over the harvest; two of them special.
    const thresholds = Array.from({ length: opts.kills }, () =>
      Math.floor(opts.random() * total * 0.95),
    ).sort((a, b) => a - b);
    const uploadAt = Math.floor(opts.random() * opts.kills);
    let upgradeAt = Math.floor(opts.random() * opts.kills);
    if (upgradeAt === uploadAt) upgradeAt = (upgradeAt + 1) % opts.kills;
    const killPoints: string[] = [];
    let uploadResult = 'not done';
    let uploadAcked = false;
    let upgrade = 'not done';
    let stalled = '';
    let killsDuringHarvest = 0;
    for (const [k, threshold] of thresholds.entries()) {
      if (!(await waitForMonths(cluster, (n) => n >= threshold, opts.settleMs))) {
        stalled = `harvest stalled at ${(await storedCount(cluster.any())) ?? '?'} months before kill ${k + 1}`;
        console.log(`${setup}: ${stalled}`);
        break;
      }
      await sleep(Math.floor(opts.random() * 300));
      const victim = cluster.pick(opts.random);
      const stored = (await storedCount(cluster.any())) ?? -1;
      // The uploaded month counts in the stored number once it is there: compare with the harvest's total.
      if (stored >= 0 && stored < total) killsDuringHarvest++;
      if (k === uploadAt) {
        const { status } = await killDuringUpload(cluster, victim, uploadPid, opts);
        uploadAcked = status === 201;
        killPoints.push(`${stored} months: during an upload (${opts.uploadMb} MB), answer ${status}`);
        uploadResult = `killed with answer ${status}`;
      } else if (k === upgradeAt) {
        upgrade = await killDuringUpgrade(cluster, victim, opts);
        killPoints.push(`${stored} months: during a tenant upgrade`);
      } else {
        await cluster.killAndRestart(victim);
        killPoints.push(`${stored} months`);
      }
      console.log(
        `${setup}: kill ${k + 1}/${opts.kills} at ${killPoints[killPoints.length - 1]} (process ${victim + 1})`,
      );
    }

    // The uploaded month: whole or absent after the kill, then sent again until stored.
    const uploaded = async () => {
      const res = await request(
        base(),
        'GET',
        `/counter-reports?query=${encodeURIComponent(`providerId==${uploadPid}`)}&limit=10`,
      );
      return res.json.counterReports as { report?: { Report_Items?: unknown[] } }[];
    };
    const expectedItems = hugeReportSize({
      release: '5',
      begin: UPLOAD_MONTH,
      end: UPLOAD_MONTH,
      bytes: opts.uploadMb * 1024 * 1024,
    }).itemCount;
    const afterKill = await uploaded();
    const whole = afterKill.every((r) => r.report?.Report_Items?.length === expectedItems);
    uploadResult += `; after the restart ${afterKill.length === 0 ? 'absent' : whole ? 'whole' : 'HALF-WRITTEN'}`;
    const uploadLost = uploadAcked && afterKill.length === 0 ? 1 : 0;
    if (afterKill.length === 0) {
      const again = await upload(base(), uploadPid, opts.uploadMb * 1024 * 1024, () => undefined);
      uploadResult += `; sent again: ${again}`;
    }
    const finalUpload = await uploaded();
    if (finalUpload.length !== 1 || finalUpload[0].report?.Report_Items?.length !== expectedItems)
      uploadResult += `; FINAL STATE WRONG (${finalUpload.length} records)`;
    if (!whole) uploadResult += ' (counted as lost)';

    // The harvest ends by itself: every provider job finished, no work left.
    const jobInfos = async () => {
      const res = await request(base(), 'GET', '/erm-usage-harvester/jobs?limit=10000');
      return (res.json?.jobInfos ?? []) as Record<string, any>[];
    };
    const finished = await waitForMonths(
      cluster,
      async (stored) => {
        const providerJobs = (await jobInfos()).filter((j) => j.type === 'provider');
        return (
          stored >= total + 1 &&
          providerJobs.length >= opts.providers &&
          providerJobs.every((j) => j.finishedAt)
        );
      },
      opts.settleMs,
    );
    if (!finished)
      stalled ||= `harvest stalled at ${(await storedCount(cluster.any())) ?? '?'} months after the kills`;
    const jobs = await jobInfos();
    const res = await request(base(), 'GET', '/counter-reports?limit=100000&tiny=true');
    const records = res.json.counterReports as Record<string, any>[];
    const keys = records
      .filter((r) => r.providerId !== uploadPid)
      .map((r) => `${r.providerId}|${r.reportName}|${r.yearMonth}`);
    const expected = new Set(ids.flatMap((id) => opts.months.map((m) => `${id}|TR|${m}`)));
    const seen = new Set(keys);
    const lost = [...expected].filter((k) => !seen.has(k)).length + uploadLost + (whole ? 0 : 1);
    const duplicated = keys.length - seen.size + Math.max(0, finalUpload.length - 1);
    return {
      setup,
      months: total + 1,
      kills: killPoints.length,
      killsDuringHarvest,
      killPoints,
      handedBack: cluster.handedBack(),
      lost,
      duplicated,
      failedMonths: records.filter((r) => r.failedAttempts !== undefined || r.failedReason !== undefined)
        .length,
      jobsLeftRunning: jobs.filter((j) => !j.finishedAt).length,
      failedJobs: jobs.filter((j) => j.finishedAt && j.result !== 'success').length,
      upload: uploadResult,
      upgrade: stalled ? `${upgrade}; ${stalled}` : upgrade,
      seconds: (Date.now() - t0) / 1000,
    };
  } finally {
    await cluster.stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      setups: { type: 'string', default: 'pglite,postgres,postgres-2' },
      providers: { type: 'string', default: '10' },
      months: { type: 'string', default: '24' },
      kills: { type: 'string', default: '6' },
      'upload-mb': { type: 'string', default: '20' },
      latency: { type: 'string', default: '20' },
      seed: { type: 'string', default: '1' },
      'stall-s': { type: 'string', default: '120' },
      'spacing-ms': { type: 'string', default: '0' },
    },
  });
  const monthCount = Number(values.months);
  const first = 2010 * 12;
  const monthAt = (i: number) =>
    `${Math.floor((first + i) / 12)}-${String(((first + i) % 12) + 1).padStart(2, '0')}`;
  const opts: Options = {
    providers: Number(values.providers),
    months: monthsBetween(monthAt(0), monthAt(monthCount - 1)),
    kills: Number(values.kills),
    uploadMb: Number(values['upload-mb']),
    settleMs: Number(values['stall-s']) * 1000,
    spacingMs: Number(values['spacing-ms']),
    random: seeded(Number(values.seed)),
  };
  const setups = values.setups.split(',') as Setup[];
  console.log(
    `crash-safety: ${opts.providers} providers × ${opts.months.length} months + 1 uploaded month, ${opts.kills} kills per setup, seed ${values.seed}; load average ${loadAverage()}`,
  );
  const mock = await startMockCounterServer({ latencyMs: Number(values.latency) });
  const pg = setups.some((s) => s.startsWith('postgres')) ? await startPgServer() : undefined;
  const results: SetupResult[] = [];
  try {
    for (const setup of setups) {
      const r = await runSetup(setup, pg, mock.url, opts);
      results.push(r);
      console.log(`${setup}: kill points ${r.killPoints.join(' | ')}`);
      console.log(
        `${setup}: ${r.months} months, ${r.lost} lost, ${r.duplicated} stored twice, ${r.jobsLeftRunning} jobs left running, ` +
          `${r.failedMonths} months failed, ${r.failedJobs} jobs not successful; upload ${r.upload}; upgrade ${r.upgrade}; ` +
          `${r.killsDuringHarvest} kills during the harvest, handed back ${r.handedBack.jobs} jobs and ${r.handedBack.requests} requests; ` +
          `${r.seconds.toFixed(0)} s; load ${loadAverage()}`,
      );
    }
  } finally {
    await killAllChildren();
    await pg?.stop();
    await mock.close();
  }
  console.log(
    '\n| setup | months | SIGKILLs (during the harvest) | jobs / requests handed back | months lost | months stored twice | jobs left running | months failed | jobs not successful | uploaded month | upgrade | wall s |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of results)
    console.log(
      `| ${r.setup} | ${r.months} | ${r.kills} (${r.killsDuringHarvest}) | ${r.handedBack.jobs} / ${r.handedBack.requests} | ${r.lost} | ${r.duplicated} | ${r.jobsLeftRunning} | ${r.failedMonths} | ${r.failedJobs} | ${r.upload} | ${r.upgrade} | ${r.seconds.toFixed(0)} |`,
    );
  console.log(`load average at end: ${loadAverage()}`);
  const bad = results.some((r) => r.lost + r.duplicated + r.jobsLeftRunning > 0);
  process.exitCode = bad ? 1 : 0;
}

await main();
