/**
 * Decoders for every ring-buffer record declared in bpf/hotspan.h — the one
 * TypeScript module that knows the kernel↔user layouts. Each struct's layout is
 * written once below as a table of offsets; test/unit/events checks each table
 * against the offsets the C compiler produces (bpf/.output/abi-offsets.json).
 */

/** enum hotspan_event_kind */
export const EventKind = {
  CpuSample: 1,
} as const;

/** enum hotspan_sampler_counter */
export const SamplerCounter = {
  Emitted: 0,
  Lost: 1,
  Idle: 2,
  Filtered: 3,
  Count: 4,
} as const;

export const MAX_STACK_DEPTH = 127;
const COMM_LEN = 16;

/** struct hotspan_cpu_sample */
export const CPU_SAMPLE_LAYOUT = {
  size: 2096,
  fields: {
    kind: 0,
    cpu: 4,
    time_ns: 8,
    pid: 16,
    tid: 20,
    kstack_bytes: 24,
    ustack_bytes: 28,
    comm: 32,
    process_comm: 48,
    kstack: 64,
    ustack: 64 + MAX_STACK_DEPTH * 8,
  },
} as const;

export interface RawCpuSample {
  cpu: number;
  /** CLOCK_MONOTONIC nanoseconds. */
  timeMonoNs: bigint;
  pid: number;
  tid: number;
  threadName: string;
  processName: string;
  /** Kernel return addresses, leaf first (empty when none or on error). */
  kernelStack: bigint[];
  /** User return addresses, leaf first. */
  userStack: bigint[];
  /** Negative errno from bpf_get_stack when a stack could not be read, else 0. */
  kernelStackError: number;
  userStackError: number;
}

function cString(buf: Buffer, off: number, len: number): string {
  const end = buf.indexOf(0, off);
  return buf.toString('utf8', off, end < 0 || end > off + len ? off + len : end);
}

function stack(buf: Buffer, off: number, bytes: number): bigint[] {
  const n = Math.min(Math.max(bytes, 0) >> 3, MAX_STACK_DEPTH);
  const out = new Array<bigint>(n);
  for (let i = 0; i < n; i++) out[i] = buf.readBigUInt64LE(off + i * 8);
  return out;
}

/** Decodes one struct hotspan_cpu_sample; throws on a short or mistyped record. */
export function decodeCpuSample(buf: Buffer): RawCpuSample {
  const f = CPU_SAMPLE_LAYOUT.fields;
  if (buf.length < CPU_SAMPLE_LAYOUT.size) throw new Error(`cpu sample record too short: ${buf.length} bytes`);
  const kind = buf.readUInt32LE(f.kind);
  if (kind !== EventKind.CpuSample) throw new Error(`not a cpu sample record (kind ${kind})`);
  const kBytes = buf.readInt32LE(f.kstack_bytes);
  const uBytes = buf.readInt32LE(f.ustack_bytes);
  return {
    cpu: buf.readUInt32LE(f.cpu),
    timeMonoNs: buf.readBigUInt64LE(f.time_ns),
    pid: buf.readUInt32LE(f.pid),
    tid: buf.readUInt32LE(f.tid),
    threadName: cString(buf, f.comm, COMM_LEN),
    processName: cString(buf, f.process_comm, COMM_LEN),
    kernelStack: stack(buf, f.kstack, kBytes),
    userStack: stack(buf, f.ustack, uBytes),
    kernelStackError: kBytes < 0 ? kBytes : 0,
    userStackError: uBytes < 0 ? uBytes : 0,
  };
}

/** Reads the `kind` field every record starts with. */
export function recordKind(buf: Buffer): number {
  return buf.readUInt32LE(0);
}

/** Layout tables by C struct name, for the ABI test. */
export const LAYOUTS: Record<string, { size: number; fields: Record<string, number> }> = {
  hotspan_cpu_sample: CPU_SAMPLE_LAYOUT,
  // ---- network layouts: add entries below ----
};
