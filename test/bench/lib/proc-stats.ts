// What a measured tool costs, read from the kernel's own accounting: CPU and RSS of the
// tool's whole process tree from /proc, and the run time of the BPF programs it holds open
// from /proc/PID/fdinfo (kernel.bpf_stats_enabled=1). Programs are found by the file
// descriptors the tool holds, not by name: other hotspan agents on a shared host load
// programs with the same names.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

const CLK_TCK = 100;

interface Stat {
  ppid: number;
  /** utime + stime of all the process's threads, plus cutime + cstime of its reaped children. */
  cpuTicks: number;
}

function readStat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // After "pid (comm) ": state is field 3; ppid 4; utime..cstime 14..17 (1-based).
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { ppid: Number(f[1]), cpuTicks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) };
}

/** `root` and every live descendant of it. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const s = readStat(pid);
    if (!s) continue;
    const list = children.get(s.ppid) ?? [];
    list.push(pid);
    children.set(s.ppid, list);
  }
  const out: number[] = [];
  const todo = [root];
  while (todo.length) {
    const pid = todo.pop()!;
    out.push(pid);
    todo.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** user+sys CPU seconds of a process tree (threads included; reaped children via cutime/cstime). */
export function treeCpuSeconds(root: number): number {
  let ticks = 0;
  for (const pid of processTree(root)) ticks += readStat(pid)?.cpuTicks ?? 0;
  return ticks / CLK_TCK;
}

function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Resident memory of a process tree now, and the sum of each process's peak (VmHWM), in MB. */
export function treeRssMb(root: number): { rssMb: number; peakMb: number } {
  let rss = 0;
  let peak = 0;
  for (const pid of processTree(root)) {
    rss += statusKb(pid, 'VmRSS');
    peak += statusKb(pid, 'VmHWM');
  }
  return { rssMb: rss / 1024, peakMb: peak / 1024 };
}

export interface BpfProgTime {
  id: number;
  runTimeNs: bigint;
  runCount: bigint;
}

/** Every BPF program a process tree holds a descriptor of, with the kernel's run-time counters. */
export function treeBpfPrograms(root: number): Map<number, BpfProgTime> {
  const out = new Map<number, BpfProgTime>();
  for (const pid of processTree(root)) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) !== 'anon_inode:bpf-prog') continue;
        const info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
        const id = Number(/prog_id:\s+(\d+)/.exec(info)?.[1]);
        out.set(id, {
          id,
          runTimeNs: BigInt(/run_time_ns:\s+(\d+)/.exec(info)?.[1] ?? 0),
          runCount: BigInt(/run_cnt:\s+(\d+)/.exec(info)?.[1] ?? 0),
        });
      } catch {
        // The fd closed between the listing and the read.
      }
    }
  }
  return out;
}

/** BPF run time spent between two readings, in seconds (programs loaded in between count from 0). */
export function bpfSecondsBetween(before: Map<number, BpfProgTime>, after: Map<number, BpfProgTime>): number {
  let ns = 0n;
  for (const [id, p] of after) ns += p.runTimeNs - (before.get(id)?.runTimeNs ?? 0n);
  return Number(ns) / 1e9;
}

/** Program names by id (bpftool asks the kernel; /proc has no name for a program's fd). */
export function bpfProgramNames(): Map<number, string> {
  const progs = JSON.parse(execFileSync('bpftool', ['prog', 'show', '-j'], { encoding: 'utf8', maxBuffer: 64 << 20 })) as { id: number; name?: string }[];
  return new Map(progs.map((p) => [p.id, p.name ?? '']));
}
