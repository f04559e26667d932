import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { startDistributed, startEmbedded } from '../../harness/cluster.ts';
import type { Cluster } from '../../harness/cluster.ts';
import { startTs } from '../../harness/processes.ts';

/**
 * Benchmarks send far more requests per connection than a person (the limiter would answer RATE_LIMITED) and
 * open every connection from one address (the per-address cap would close them with 4429).
 */
export const BENCH_ENV = {
  RATE_LIMIT_PER_SECOND: '1000000',
  RATE_LIMIT_BURST: '1000000',
  MAX_CONNECTIONS_PER_IP: '100000',
  ROOM_MAX_PARTICIPANTS: '500',
};

/** Something a participant can join: its signaling base URL and whether it wants an access token. */
export interface Target {
  name: string;
  url: string;
  /** The processes whose mediasoup-worker children forward its media. */
  pids: number[];
  needsToken: boolean;
  /** Media on two workers (the pipe scenario): the publishers' (`a`) and the subscribers' (`b`) mediasoup worker. */
  sides?: { a: number; b: number };
  stop(): Promise<void>;
}

/** The regions a two-sided target's peers join (`join.region`): publishers in `a`, subscribers in `b`. */
export const SIDES = ['a', 'b'] as const;

/** `pipe`: two workers, the second one's peers consuming the first one's producers through pipeToRouter. */
export async function startBaseline({ pipe = false } = {}): Promise<Target> {
  const ready = /baseline listening on (\d+) \(worker pids a=(\d+) b=(\d+)\)/;
  const running = await startTs('bench/baseline/server.ts', { name: 'baseline', ready }, pipe ? ['--pipe'] : []);
  const [, port, a, b] = ready.exec(running.output()) ?? [];
  return {
    name: 'bare mediasoup',
    url: `http://127.0.0.1:${port}`,
    pids: [running.child.pid ?? 0],
    needsToken: false,
    sides: pipe ? { a: Number(a), b: Number(b) } : undefined,
    stop: () => running.stop(),
  };
}

/**
 * `pipe` (distributed): two media-worker instances in regions `a` and `b`, so the room is cascaded between them and
 * each producer consumed in `b` crosses once, as between two regions.
 */
export async function startParley(
  mode: 'embedded' | 'distributed',
  env: NodeJS.ProcessEnv = {},
  { mediaWorkers = 1, pipe = false } = {},
): Promise<Target & { cluster: Cluster }> {
  const cluster =
    mode === 'embedded'
      ? await startEmbedded({ env: { ...BENCH_ENV, ...env } })
      : await startDistributed({
          env: { ...BENCH_ENV, ...env },
          mediaWorkers: pipe ? SIDES.length : mediaWorkers,
          mediaWorkerEnv: pipe ? (i) => ({ PARLEY_REGION: SIDES[i] }) : undefined,
        });
  // startDistributed starts the media-workers first, in order.
  const workerOf = (i: number) => workerPids([cluster.processes[i]?.child.pid ?? 0])[0] ?? 0;
  return {
    sides: pipe ? { a: workerOf(0), b: workerOf(1) } : undefined,
    name: `Parley ${mode}`,
    cluster,
    url: cluster.signaling[0]!,
    pids: cluster.processes.map((p) => p.child.pid ?? 0),
    needsToken: true,
    stop: () => cluster.stop(),
  };
}

/** mediasoup-worker processes whose parent is one of `parents` (read from /proc: Linux only). */
export function workerPids(parents: number[]): number[] {
  return childPids(parents, 'mediasoup-worke');
}

/** Processes named `comm` (as /proc has it: 15 characters at most) whose parent is one of `parents`. */
export function childPids(parents: number[], comm: string): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(Number(entry));
    if (stat && stat.comm === comm && parents.includes(stat.ppid)) found.push(Number(entry));
  }
  return found;
}

/**
 * CPU seconds a process has used so far (all its threads), 0 once it is gone. From the scheduler's own accounting
 * in nanoseconds (/proc/<pid>/task/<tid>/schedstat) where the kernel keeps it: /proc/<pid>/stat counts 10 ms clock
 * ticks, and a mediasoup worker forwarding 800 packets a second used about 4 ms in a 1 s window, which read as 0.
 * (A thread that exits takes its time out of the sum; the processes measured keep theirs.)
 */
export function cpuSeconds(pid: number): number {
  const ns = scheduledNs(pid);
  if (ns !== undefined) return ns / 1e9;
  const stat = procStat(pid);
  return stat ? (stat.utime + stat.stime) / CLOCK_TICKS : 0;
}

function scheduledNs(pid: number): number | undefined {
  let threads: string[];
  try {
    threads = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  let ns: number | undefined;
  for (const tid of threads) {
    try {
      ns = (ns ?? 0) + Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // The thread ended between the listing and the read (or the kernel keeps no schedstat: none is read).
    }
  }
  return ns;
}

/** Resident memory of a process, in bytes (0 once it is gone). */
export function rssBytes(pid: number): number {
  try {
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return Number(kb ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/** Sets a process's (and its threads') CPU affinity; `cores` as taskset reads it ("1", "0-2"). */
export function pin(pid: number, cores: string): void {
  execFileSync('taskset', ['--all-tasks', '--cpu-list', '--pid', cores, String(pid)], { stdio: 'ignore' });
}

/**
 * The machine's cores, not this process's: os.availableParallelism() counts only the cores a process may use, so
 * once the tester had pinned itself to the "rest" it read 1 and every later target (and this "all") was put on
 * core 0 with the tester and the control plane (Parley's worker "failed" at 400 video consumers that way).
 */
const machineCores = (): number => os.cpus().length;

/** The cores a process may run on, as the kernel has them ("1", "0-1"). */
export function affinity(pid: number): string {
  try {
    return /^Cpus_allowed_list:\s*(\S+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '';
  } catch {
    return '';
  }
}

export const allCores = (): string => `0-${machineCores() - 1}`;

/** The last core, for the one process measured, and the others, for everything else ("0" on one core). */
export function splitCores(): { measured: string; rest: string } {
  const last = machineCores() - 1;
  return { measured: String(last), rest: last > 0 ? `0-${last - 1}` : '0' };
}

const CLOCK_TICKS = 100; // USER_HZ on every Linux architecture Node supports

function procStat(pid: number): { comm: string; ppid: number; utime: number; stime: number } | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // comm is in parentheses and may contain spaces; the numeric fields follow the last ')'.
  const close = text.lastIndexOf(')');
  const comm = text.slice(text.indexOf('(') + 1, close);
  const fields = text.slice(close + 2).split(' ');
  return { comm, ppid: Number(fields[1]), utime: Number(fields[11]), stime: Number(fields[12]) };
}
