import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { release } from 'node:os';
import { kernelProbes } from '../bpf/index.js';

export interface CheckResult {
  name: string;
  ok: boolean;
  /** What was found. */
  detail: string;
  /** What to do when not ok, in plain language. */
  fix?: string;
  /** A failed required check stops the agent; optional ones only reduce what it sees. */
  required: boolean;
}

/** Linux capability bit numbers (linux/capability.h). */
const CAP = { SYS_ADMIN: 21, SYS_PTRACE: 19, SYS_RESOURCE: 24, DAC_READ_SEARCH: 2, PERFMON: 38, BPF: 39, CHECKPOINT_RESTORE: 40 } as const;

export function effectiveCapabilities(statusText = readFileSync('/proc/self/status', 'utf8')): bigint {
  const m = /^CapEff:\s*([0-9a-f]+)/m.exec(statusText);
  return m ? BigInt('0x' + m[1]) : 0n;
}

function hasCap(caps: bigint, bit: number): boolean {
  return (caps & (1n << BigInt(bit))) !== 0n;
}

export function kernelVersion(text = release()): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(text);
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

function atLeast(v: [number, number], major: number, minor: number): boolean {
  return v[0] > major || (v[0] === major && v[1] >= minor);
}

function readTrim(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

export interface PreflightOptions {
  /** tracefs mount point to look for tracepoints in. */
  tracefs?: string;
  /** Also check what the network probes need. */
  network?: boolean;
}

/**
 * What hotspan needs from this kernel and process, checked without loading
 * anything. Used by `hotspan doctor` and before the agent starts, so a missing
 * privilege or feature is named with its fix instead of surfacing as EPERM.
 */
export function runChecks(opts: PreflightOptions = {}): CheckResult[] {
  const tracefs = opts.tracefs ?? '/sys/kernel/tracing';
  const out: CheckResult[] = [];
  const kv = kernelVersion();
  out.push({
    name: 'kernel version',
    ok: true,
    detail: `${release()} (what it can do is probed below, not read off the version)`,
    required: false,
  });
  // The one thing every part needs. Probed by creating one; without the privilege to probe,
  // the version is the best guess (the privileges check then fails anyway).
  let ringbuf: number;
  try {
    ringbuf = kernelProbes(tracefs).ringbufMap();
  } catch {
    ringbuf = -1;
  }
  out.push({
    name: 'BPF ring buffer',
    ok: ringbuf === 1 || (ringbuf < 0 && atLeast(kv, 5, 8)),
    detail:
      ringbuf === 1
        ? 'BPF_MAP_TYPE_RINGBUF supported'
        : ringbuf === 0
          ? 'BPF_MAP_TYPE_RINGBUF not supported by this kernel'
          : `could not probe (errno ${-ringbuf}); Linux ${kv.join('.')} ${atLeast(kv, 5, 8) ? 'should' : 'does not'} have it`,
    fix: 'hotspan needs the BPF ring buffer (Linux 5.8+); upgrade the kernel',
    required: true,
  });

  const btf = existsSync('/sys/kernel/btf/vmlinux');
  out.push({
    name: 'kernel BTF',
    ok: btf,
    detail: btf ? '/sys/kernel/btf/vmlinux present' : '/sys/kernel/btf/vmlinux missing',
    fix: 'use a kernel built with CONFIG_DEBUG_INFO_BTF=y (most distributions since 2020 are)',
    required: true,
  });

  const caps = effectiveCapabilities();
  const root = process.geteuid?.() === 0;
  const bpfOk = hasCap(caps, CAP.SYS_ADMIN) || (hasCap(caps, CAP.BPF) && hasCap(caps, CAP.PERFMON));
  out.push({
    name: 'privileges',
    ok: bpfOk,
    detail: `${root ? 'root' : `uid ${process.geteuid?.()}`}, CapEff=0x${caps.toString(16)}${bpfOk ? '' : ' (no CAP_BPF+CAP_PERFMON, no CAP_SYS_ADMIN)'}`,
    fix: 'run as root (sudo), or grant CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE, CAP_SYS_RESOURCE, CAP_DAC_READ_SEARCH (CAP_SYS_ADMIN on kernels before 5.8)',
    required: true,
  });
  out.push({
    name: 'process access',
    ok: hasCap(caps, CAP.SYS_PTRACE) && hasCap(caps, CAP.DAC_READ_SEARCH),
    detail: 'CAP_SYS_PTRACE + CAP_DAC_READ_SEARCH let the symbolizer read /proc/PID/maps, map_files and binaries of every process',
    fix: 'grant CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH (or run as root); without them other users’ frames stay unnamed',
    required: false,
  });

  const paranoid = readTrim('/proc/sys/kernel/perf_event_paranoid');
  out.push({
    name: 'perf events',
    ok: existsSync('/proc/sys/kernel/perf_event_paranoid') && (hasCap(caps, CAP.PERFMON) || hasCap(caps, CAP.SYS_ADMIN) || Number(paranoid) <= -1),
    detail: `kernel.perf_event_paranoid=${paranoid ?? 'missing (no perf events in this kernel)'}`,
    fix: 'grant CAP_PERFMON (or root), or sysctl kernel.perf_event_paranoid=-1; a kernel without CONFIG_PERF_EVENTS cannot be profiled',
    required: true,
  });

  const tracefsUp = existsSync(`${tracefs}/events`);
  out.push({
    name: 'tracefs',
    ok: tracefsUp,
    detail: tracefsUp ? `mounted at ${tracefs}` : `not mounted at ${tracefs} (the agent mounts it when it has the right to)`,
    fix: `mount -t tracefs nodev ${tracefs}`,
    required: false,
  });

  const kprobes = existsSync('/sys/bus/event_source/devices/kprobe');
  out.push({
    name: 'kprobes',
    ok: true,
    detail: kprobes ? 'present (not needed)' : 'absent — fine: hotspan uses tracepoints, perf events and uprobes only',
    required: false,
  });

  const stats = readTrim('/proc/sys/kernel/bpf_stats_enabled');
  out.push({
    name: 'bpf run-time stats',
    ok: stats === '1',
    detail: `kernel.bpf_stats_enabled=${stats ?? 'missing'}`,
    fix: 'sysctl kernel.bpf_stats_enabled=1 to see the BPF programs’ own CPU cost (optional)',
    required: false,
  });

  const cpus = readdirSync('/sys/devices/system/cpu').filter((d) => /^cpu\d+$/.test(d)).length;
  out.push({ name: 'cpus', ok: cpus > 0, detail: `${cpus} CPUs, online ${readTrim('/sys/devices/system/cpu/online')}`, required: false });
  return out;
}

/** The first failed required check, as one line naming cause and fix. */
export function firstBlocker(results: CheckResult[]): string | undefined {
  const bad = results.find((r) => r.required && !r.ok);
  return bad ? `${bad.name}: ${bad.detail}; fix: ${bad.fix}` : undefined;
}
