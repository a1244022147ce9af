/**
 * CPU time and peak memory of processes from /proc (Linux), for benches that measure processes they
 * did not start themselves: a service child and every process of a private PostgreSQL cluster
 * (bench/scaling.ts).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** utime, stime, cutime, cstime (ms) and the parent pid of a process; undefined when it is gone. */
export function procStat(pid: number): { ppid: number; self: number; children: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The fields after the command name (which may hold spaces), from field 3 (state) on.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const tick = (i: number) => (Number(f[i]) * 1000) / CLK_TCK;
  return { ppid: Number(f[1]), self: tick(11) + tick(12), children: tick(13) + tick(14) };
}

/** CPU ms of a service process: its own time and that of any children it waited for. */
export function serviceCpuMs(pid: number): number {
  const s = procStat(pid);
  return s ? s.self + s.children : NaN;
}

/**
 * CPU ms of the whole cluster: the postmaster (own time and that of its ended children) and every
 * live child of it.
 */
export function clusterCpuMs(postmaster: number): number {
  const pm = procStat(postmaster);
  if (!pm) return NaN;
  let total = pm.self + pm.children;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = procStat(Number(name));
    if (s && s.ppid === postmaster) total += s.self;
  }
  return total;
}

export function peakRssMB(pid: number): number {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('VmHWM'));
    return Number(line?.split(/\s+/)[1] ?? NaN) / 1024;
  } catch {
    return NaN;
  }
}
