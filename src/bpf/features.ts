/**
 * What hotspan can do on this kernel, decided by probing the kernel (a tracepoint's tracefs
 * directory, a map type or helper libbpf can actually load), never by the version number: a
 * distribution kernel backports and configures away features. The one list of features: doctor
 * prints it, the agent logs and exports it, and the loaders (net capture, CPU sampler) choose
 * their programs from it.
 */
import { existsSync } from 'node:fs';
import { release } from 'node:os';
import { loadAddon } from './addon.js';
import { BpfObject } from './object.js';
import { bpfObjectPath } from './paths.js';
import { TRACEFS } from './tracefs.js';

export type FeatureId = 'cpu-sampling' | 'l4-flows' | 'payload-capture' | 'bpf-loop' | 'retransmits' | 'sock-lengths' | 'uprobes' | 'eh-frame-unwind';

export interface FeatureSpec {
  id: FeatureId;
  title: string;
  /** The oldest mainline kernel that has it (distributions may differ: the probe decides). */
  minKernel: string;
  /** What the kernel must provide. */
  needs: string;
  /** What is lost when it is missing. */
  without: string;
}

/** A tracepoint as `category/name` under tracefs events/. */
type Tracepoint = `${string}/${string}`;

const NET_BASE_TRACEPOINTS: Tracepoint[] = ['sock/inet_sock_set_state', 'syscalls/sys_enter_connect', 'syscalls/sys_enter_accept4', 'syscalls/sys_enter_close'];
const DATA_TRACEPOINTS: Tracepoint[] = ['read', 'write', 'readv', 'writev', 'recvfrom', 'sendto', 'recvmsg', 'sendmsg'].flatMap((s): Tracepoint[] => [
  `syscalls/sys_enter_${s}`,
  `syscalls/sys_exit_${s}`,
]);
const RETRANSMIT_TRACEPOINTS: Tracepoint[] = ['tcp/tcp_retransmit_skb'];
const SOCK_LENGTH_TRACEPOINTS: Tracepoint[] = ['sock/sock_send_length', 'sock/sock_recv_length'];

export const FEATURES: readonly FeatureSpec[] = [
  {
    id: 'cpu-sampling',
    title: 'CPU sampling',
    minKernel: '5.8',
    needs: 'BPF ring buffer map, perf_event programs, kernel BTF',
    without: 'no profiles (the agent cannot run)',
  },
  {
    id: 'l4-flows',
    title: 'L4 TCP flows',
    minKernel: '5.8',
    needs: 'BPF ring buffer, kernel BTF, sock:inet_sock_set_state and syscall tracepoints',
    without: 'no network capture at all: no flows, requests or spans',
  },
  {
    id: 'payload-capture',
    title: 'payload capture (HTTP/gRPC requests)',
    minKernel: '5.8',
    needs: 'data syscall tracepoints (read/write/…/sendmsg), bpf_probe_read_user',
    without: 'flows only: no requests, spans or span ↔ profile join',
  },
  {
    id: 'bpf-loop',
    title: 'iovec copy fast path (bpf_loop)',
    minKernel: '5.17',
    needs: 'the bpf_loop helper',
    without: 'readv/writev/sendmsg/recvmsg payloads are copied by a bounded loop over at most the first 128 iovecs',
  },
  {
    id: 'retransmits',
    title: 'TCP retransmit counts',
    minKernel: '4.16',
    needs: 'tcp:tcp_retransmit_skb tracepoint',
    without: 'flows report 0 retransmits',
  },
  {
    id: 'sock-lengths',
    title: 'socket-layer send/recv lengths',
    minKernel: '6.3',
    needs: 'sock:sock_send_length and sock:sock_recv_length tracepoints',
    without: 'flows cannot tell bytes moved by untraced paths (sendfile, io_uring): sock byte counts stay 0',
  },
  {
    id: 'uprobes',
    title: 'uprobes',
    minKernel: '4.17',
    needs: 'the uprobe perf PMU (CONFIG_UPROBE_EVENTS)',
    without: 'no user-space function probes (TLS libraries, runtimes)',
  },
  {
    id: 'eh-frame-unwind',
    title: '.eh_frame stack unwinding',
    // Tail calls from a program with BPF-to-BPF calls: x86-64 JIT, 5.10 (commit e411901c0b77).
    minKernel: '5.10',
    needs: 'the unwinder object (profile_unwind.bpf.o) loading: tail calls mixed with BPF-to-BPF calls, bounded loops, bpf_probe_read_user',
    without: 'user stacks walked by frame pointers only: binaries built without them show 1–3 frames',
  },
];

export interface FeatureStatus extends FeatureSpec {
  available: boolean;
  /** What the probe found: the evidence, or why it is missing. */
  detail: string;
}

export interface FeatureReport {
  kernel: string;
  features: FeatureStatus[];
  has(id: FeatureId): boolean;
  /** The features this kernel lacks (or that are disabled), in list order. */
  degraded(): FeatureStatus[];
}

/** The kernel questions the report is built from; tests may answer some of them differently. */
export interface KernelProbes {
  tracepoint(tp: Tracepoint): boolean;
  /** 1 supported, 0 not, negative errno: could not tell. */
  ringbufMap(): number;
  perfEventProgs(): number;
  bpfLoopHelper(): number;
  probeReadUserHelper(): number;
  btf(): boolean;
  uprobePmu(): boolean;
  /** Loads (then closes) the sampler with the .eh_frame walker: the verifier is the only sure probe. */
  unwinderLoads(): { ok: boolean; detail: string };
}

export function kernelProbes(tracefs = TRACEFS): KernelProbes {
  const addon = () => loadAddon();
  return {
    tracepoint: (tp) => existsSync(`${tracefs}/events/${tp}`),
    ringbufMap: () => addon().probeMapType(addon().uapi.BPF_MAP_TYPE_RINGBUF),
    perfEventProgs: () => addon().probeProgType(addon().uapi.BPF_PROG_TYPE_PERF_EVENT),
    bpfLoopHelper: () => addon().probeHelper(addon().uapi.BPF_PROG_TYPE_TRACEPOINT, addon().uapi.BPF_FUNC_loop),
    probeReadUserHelper: () => addon().probeHelper(addon().uapi.BPF_PROG_TYPE_TRACEPOINT, addon().uapi.BPF_FUNC_probe_read_user),
    btf: () => existsSync('/sys/kernel/btf/vmlinux'),
    uprobePmu: () => existsSync('/sys/bus/event_source/devices/uprobe'),
    unwinderLoads: probeUnwinderLoad,
  };
}

let unwinderVerdict: { ok: boolean; detail: string } | undefined;
/** Real load of profile_unwind.bpf.o (~100 ms more than the plain sampler here), once per process. */
function probeUnwinderLoad(): { ok: boolean; detail: string } {
  if (unwinderVerdict) return unwinderVerdict;
  const t0 = performance.now();
  try {
    BpfObject.load(bpfObjectPath('profile_unwind'), { target_tgid: 0x7fffffff }).close();
    unwinderVerdict = { ok: true, detail: `unwinder loads (verified in ${Math.round(performance.now() - t0)} ms)` };
  } catch (err) {
    const e = err as Error & { errno?: number };
    const first = e.message.split('\n')[0]!.slice(0, 300);
    // Not cached when it could not tell (no privilege): a later probe as root may still succeed.
    if (e.errno === 1 || /\bEPERM\b/.test(first)) return { ok: false, detail: `could not probe the unwinder (${first}; run as root)` };
    unwinderVerdict = { ok: false, detail: `unwinder does not load: ${first}` };
  }
  return unwinderVerdict;
}

export interface FeatureProbeOptions {
  probes?: Partial<KernelProbes>;
  tracefs?: string;
  /**
   * Features turned off on purpose (HOTSPAN_DISABLE_FEATURES): reported unavailable with that
   * reason, and their programs are not loaded — e.g. to force the bounded-loop copy.
   */
  disabled?: Iterable<FeatureId>;
  /** Probe only these (a loader that needs one answer); default all. */
  only?: readonly FeatureId[];
}

/** Parses a comma-separated feature list (HOTSPAN_DISABLE_FEATURES); unknown names are an error. */
export function parseFeatureList(text: string | undefined, source = 'HOTSPAN_DISABLE_FEATURES'): FeatureId[] {
  if (!text?.trim()) return [];
  const ids = new Set<string>(FEATURES.map((f) => f.id));
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      if (!ids.has(s)) throw new Error(`${source}: unknown feature "${s}"; known: ${[...ids].join(', ')}`);
      return s as FeatureId;
    });
}

function helperVerdict(result: number, what: string): { ok: boolean; detail: string } {
  if (result === 1) return { ok: true, detail: `${what} supported` };
  if (result === 0) return { ok: false, detail: `${what} not supported by this kernel` };
  return { ok: false, detail: `could not probe ${what} (errno ${-result}; run as root)` };
}

function tracepointVerdict(p: KernelProbes, tps: Tracepoint[], tracefs: string): { ok: boolean; detail: string } {
  if (!existsSync(`${tracefs}/events`)) return { ok: false, detail: `tracefs not mounted at ${tracefs}: cannot tell` };
  const missing = tps.filter((t) => !p.tracepoint(t));
  return missing.length
    ? { ok: false, detail: `missing tracepoint${missing.length > 1 ? 's' : ''} ${missing.map((t) => t.replace('/', ':')).join(', ')}` }
    : { ok: true, detail: tps.length > 3 ? `${tps.length} tracepoints present` : `${tps.map((t) => t.replace('/', ':')).join(', ')} present` };
}

/** All of `vs`; a passing result names only the last one's evidence (the feature's own), a
 * failing one every reason it fails. */
function all(...vs: { ok: boolean; detail: string }[]): { ok: boolean; detail: string } {
  const bad = vs.filter((v) => !v.ok);
  return bad.length ? { ok: false, detail: bad.map((v) => v.detail).join('; ') } : { ok: true, detail: vs[vs.length - 1].detail };
}

/** Probes every feature. Needs root for the BPF probes (otherwise they say they could not tell). */
export function probeFeatures(opts: FeatureProbeOptions = {}): FeatureReport {
  const tracefs = opts.tracefs ?? TRACEFS;
  const p: KernelProbes = { ...kernelProbes(tracefs), ...opts.probes };
  const disabled = new Set(opts.disabled ?? []);
  const memo = new Map<string, { ok: boolean; detail: string }>();
  const once = (key: string, fn: () => { ok: boolean; detail: string }) => {
    let v = memo.get(key);
    if (!v) memo.set(key, (v = fn()));
    return v;
  };
  const btf = () =>
    once('btf', () => (p.btf() ? { ok: true, detail: 'kernel BTF present' } : { ok: false, detail: 'no kernel BTF (/sys/kernel/btf/vmlinux)' }));
  const ringbuf = () => once('ringbuf', () => helperVerdict(p.ringbufMap(), 'BPF ring buffer map'));
  const base = () => all(btf(), ringbuf());
  const netBase = () => once('net', () => all(base(), tracepointVerdict(p, NET_BASE_TRACEPOINTS, tracefs)));
  const cpu = () => all(base(), helperVerdict(p.perfEventProgs(), 'perf_event programs'));

  const verdicts: Record<FeatureId, () => { ok: boolean; detail: string }> = {
    'cpu-sampling': () => {
      const v = cpu();
      return v.ok ? { ok: true, detail: 'ring buffer, perf_event programs, BTF' } : v;
    },
    'l4-flows': () => {
      const v = netBase();
      return v.ok ? { ok: true, detail: `ring buffer, BTF, ${NET_BASE_TRACEPOINTS.map((t) => t.replace('/', ':')).join(', ')}` } : v;
    },
    'payload-capture': () => {
      const own = all(tracepointVerdict(p, DATA_TRACEPOINTS, tracefs), helperVerdict(p.probeReadUserHelper(), 'bpf_probe_read_user'));
      return all(netBase(), { ok: own.ok, detail: own.ok ? `${DATA_TRACEPOINTS.length} data syscall tracepoints, bpf_probe_read_user` : own.detail });
    },
    'bpf-loop': () => helperVerdict(p.bpfLoopHelper(), 'bpf_loop helper'),
    retransmits: () => tracepointVerdict(p, RETRANSMIT_TRACEPOINTS, tracefs),
    'sock-lengths': () => tracepointVerdict(p, SOCK_LENGTH_TRACEPOINTS, tracefs),
    'eh-frame-unwind': () => {
      const c = cpu(); // the walker is part of the sampler: without sampling it cannot load
      return c.ok ? p.unwinderLoads() : c;
    },
    uprobes: () => (p.uprobePmu() ? { ok: true, detail: 'uprobe PMU present' } : { ok: false, detail: 'no uprobe PMU (CONFIG_UPROBE_EVENTS off)' }),
  };

  const features = FEATURES.filter((f) => !opts.only || opts.only.includes(f.id)).map((spec): FeatureStatus => {
    if (disabled.has(spec.id)) return { ...spec, available: false, detail: 'disabled by HOTSPAN_DISABLE_FEATURES' };
    const v = verdicts[spec.id]();
    return { ...spec, available: v.ok, detail: v.detail };
  });
  const byId = new Map(features.map((f) => [f.id, f]));
  return {
    kernel: release(),
    features,
    has: (id) => byId.get(id)?.available ?? false,
    degraded: () => features.filter((f) => !f.available),
  };
}

/** A feature this kernel lacks, named with the kernel it needs; thrown before anything is loaded. */
export class UnsupportedFeatureError extends Error {
  readonly code = 'EKERNELFEATURE';
  constructor(readonly feature: FeatureStatus) {
    super(`${feature.title} is not available on this kernel (Linux ${release()}): ${feature.detail}; it needs Linux ${feature.minKernel}+ (${feature.needs})`);
    this.name = 'UnsupportedFeatureError';
  }
}

/** Throws UnsupportedFeatureError unless the kernel has `id`; probes only that feature. */
export function requireFeature(id: FeatureId, opts: FeatureProbeOptions = {}): void {
  const f = probeFeatures({ ...opts, only: [id] }).features[0];
  if (!f.available) throw new UnsupportedFeatureError(f);
}

/** One log line per degraded feature, or undefined when nothing is. */
export function describeDegraded(report: FeatureReport): string | undefined {
  const d = report.degraded();
  if (!d.length) return undefined;
  return `features degraded on Linux ${report.kernel}: ${d.map((f) => `${f.id} (${f.detail}; needs ${f.minKernel}+; without it: ${f.without})`).join('; ')}`;
}
