/**
 * Decoders for every ring-buffer record declared in bpf/hotspan.h. Every number here — layouts,
 * enum values, limits — comes from abi.generated.ts, which the build generates from the header
 * and the compiled objects (bpf/gen-abi.mjs); this module only gives them TypeScript names.
 * test/unit/events/abi.test.ts checks that the names cover every enum constant of the header.
 */
import * as abi from './abi.generated.js';

export { BPF_OBJECTS, NET_REQUEST_STARTS } from './abi.generated.js';

/** enum hotspan_event_kind */
export const EventKind = {
  CpuSample: abi.HOTSPAN_EVENT_CPU_SAMPLE,
} as const;

/** enum hotspan_sampler_counter */
export const SamplerCounter = {
  Emitted: abi.HOTSPAN_SAMPLER_EMITTED,
  Lost: abi.HOTSPAN_SAMPLER_LOST,
  Idle: abi.HOTSPAN_SAMPLER_IDLE,
  Filtered: abi.HOTSPAN_SAMPLER_FILTERED,
  /** .eh_frame unwinding (bpf/unwind.bpf.h); counted only when unwinding is on. */
  UnwindDwarf: abi.HOTSPAN_SAMPLER_UNWIND_DWARF,
  UnwindNoTables: abi.HOTSPAN_SAMPLER_UNWIND_NO_TABLES,
  UnwindFpFrames: abi.HOTSPAN_SAMPLER_UNWIND_FP_FRAMES,
  UnwindComplete: abi.HOTSPAN_SAMPLER_UNWIND_COMPLETE,
  UnwindTruncated: abi.HOTSPAN_SAMPLER_UNWIND_TRUNCATED,
  UnwindNoRegs: abi.HOTSPAN_SAMPLER_UNWIND_NO_REGS,
  UnwindSignalFrames: abi.HOTSPAN_SAMPLER_UNWIND_SIGNAL_FRAMES,
  Count: abi.HOTSPAN_SAMPLER_COUNTER_MAX,
} as const;

/** Unwind-table map layouts (bpf/hotspan.h, "unwinding"); src/unwind/ encodes them. */
export const UNWIND_ROWS_PER_PAGE = abi.HOTSPAN_UNWIND_ROWS_PER_PAGE;
export const UNWIND_MAX_MAPPINGS = abi.HOTSPAN_UNWIND_MAX_MAPPINGS;
export const UNWIND_MAX_TABLES = abi.HOTSPAN_UNWIND_MAX_TABLES;
export const UNWIND_MAX_PAGES = abi.HOTSPAN_UNWIND_MAX_PAGES;
export const UNWIND_MAX_PROCS = abi.HOTSPAN_UNWIND_MAX_PROCS;
export const UNWIND_ROW_LAYOUT = abi.LAYOUTS.hotspan_unwind_row;
export const UNWIND_PAGE_LAYOUT = abi.LAYOUTS.hotspan_unwind_page;
export const UNWIND_TABLE_LAYOUT = abi.LAYOUTS.hotspan_unwind_table;
export const UNWIND_MAPPING_LAYOUT = abi.LAYOUTS.hotspan_unwind_mapping;
export const UNWIND_PROC_LAYOUT = abi.LAYOUTS.hotspan_unwind_proc;
export const MAX_STACK_DEPTH = abi.HOTSPAN_MAX_STACK_DEPTH;
const COMM_LEN = abi.HOTSPAN_COMM_LEN;

/** struct hotspan_cpu_sample */
export const CPU_SAMPLE_LAYOUT = abi.LAYOUTS.hotspan_cpu_sample;

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
  /**
   * Both stacks' raw bytes as one latin1 string (kernel depth first): equal keys mean equal
   * stacks, so caches can skip decoding and symbolizing a stack seen before.
   */
  stackKey: string;
  /** Negative errno from bpf_get_stack when a stack could not be read, else 0. */
  kernelStackError: number;
  userStackError: number;
}

function cString(buf: Buffer, off: number, len: number): string {
  const end = buf.indexOf(0, off);
  return buf.toString('utf8', off, end < 0 || end > off + len ? off + len : end);
}

/** Frames in a stack of `bytes` (negative: bpf_get_stack failed, no frames). */
function stackDepth(bytes: number): number {
  return Math.min(Math.max(bytes, 0) >> 3, MAX_STACK_DEPTH);
}

function stack(buf: Buffer, off: number, n: number): bigint[] {
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
  const kDepth = stackDepth(kBytes);
  const uDepth = stackDepth(uBytes);
  return {
    cpu: buf.readUInt32LE(f.cpu),
    timeMonoNs: buf.readBigUInt64LE(f.time_ns),
    pid: buf.readUInt32LE(f.pid),
    tid: buf.readUInt32LE(f.tid),
    threadName: cString(buf, f.comm, COMM_LEN),
    processName: cString(buf, f.process_comm, COMM_LEN),
    kernelStack: stack(buf, f.kstack, kDepth),
    userStack: stack(buf, f.ustack, uDepth),
    stackKey: String.fromCharCode(kDepth) + buf.toString('latin1', f.kstack, f.kstack + kDepth * 8) + buf.toString('latin1', f.ustack, f.ustack + uDepth * 8),
    kernelStackError: kBytes < 0 ? kBytes : 0,
    userStackError: uBytes < 0 ? uBytes : 0,
  };
}

/** Reads the `kind` field every record starts with. */
export function recordKind(buf: Buffer): number {
  return buf.readUInt32LE(0);
}

// ---- network ---- (mirrors the network section of bpf/hotspan.h; owned by src/network/kernel)

/** enum hotspan_net_event_kind */
export const NetEventKind = {
  Conn: abi.HOTSPAN_EVENT_NET_CONN,
  Data: abi.HOTSPAN_EVENT_NET_DATA,
} as const;

/** Names of `enum C` in value order (value = first + index); throws if the values are not dense. */
function enumNames<const N extends readonly string[]>(c: Record<string, number>, first: number, names: N): N {
  const values = Object.values(c).sort((a, b) => a - b);
  if (values.length !== names.length || values.some((v, i) => v !== first + i)) {
    throw new Error(`ABI enum ${names.join('/')} does not match bpf/hotspan.h (${JSON.stringify(c)})`);
  }
  return names;
}

/** enum hotspan_net_phase, by name (index = value - 1). */
export const NET_PHASES = enumNames(abi.ENUMS.hotspan_net_phase, abi.HOTSPAN_NET_PHASE_CONNECT, [
  'connect',
  'established',
  'accept',
  'discovered',
  'fd_close',
  'closed',
]);
export type NetPhase = (typeof NET_PHASES)[number];

/** enum hotspan_net_syscall, by name (index = value - 1). */
export const NET_SYSCALLS = enumNames(abi.ENUMS.hotspan_net_syscall, abi.HOTSPAN_NET_SYS_READ, [
  'read',
  'write',
  'readv',
  'writev',
  'recvfrom',
  'sendto',
  'recvmsg',
  'sendmsg',
]);
export type NetSyscall = (typeof NET_SYSCALLS)[number];

/** enum hotspan_net_counter */
export const NetCounter = {
  DataEmitted: abi.HOTSPAN_NET_DATA_EMITTED,
  DataDropped: abi.HOTSPAN_NET_DATA_DROPPED,
  DataTruncated: abi.HOTSPAN_NET_DATA_TRUNCATED,
  ConnEmitted: abi.HOTSPAN_NET_CONN_EMITTED,
  ConnDropped: abi.HOTSPAN_NET_CONN_DROPPED,
  SelfSkipped: abi.HOTSPAN_NET_SELF_SKIPPED,
  Discovered: abi.HOTSPAN_NET_DISCOVERED,
  CopyFailed: abi.HOTSPAN_NET_COPY_FAILED,
  ConnTableFull: abi.HOTSPAN_NET_CONN_TABLE_FULL,
  Retransmits: abi.HOTSPAN_NET_RETRANSMITS,
  OpaqueSkipped: abi.HOTSPAN_NET_OPAQUE_SKIPPED,
  Count: abi.HOTSPAN_NET_COUNTER_MAX,
} as const;

/** HOTSPAN_NET_MAX_CAPTURE_BYTES / HOTSPAN_NET_DEFAULT_CAPTURE_BYTES */
export const NET_MAX_CAPTURE_BYTES = abi.HOTSPAN_NET_MAX_CAPTURE_BYTES;
export const NET_DEFAULT_CAPTURE_BYTES = abi.HOTSPAN_NET_DEFAULT_CAPTURE_BYTES;
/** How the net_events ring buffer is sized to the host (bpf/hotspan.h says why). */
export const NET_RING_BOUNDS = {
  bytesPerCpu: abi.HOTSPAN_NET_RING_BYTES_PER_CPU,
  minBytes: abi.HOTSPAN_NET_RING_MIN_BYTES,
  maxBytes: abi.HOTSPAN_NET_RING_MAX_BYTES,
} as const;

/** struct hotspan_net_conn */
export const NET_CONN_LAYOUT = abi.LAYOUTS.hotspan_net_conn;

/** struct hotspan_net_data; the payload follows the header. */
export const NET_DATA_LAYOUT = abi.LAYOUTS.hotspan_net_data;

export interface RawEndpoint {
  /** "127.0.0.1", "::1", or "::ffff:127.0.0.1" for IPv4 on a dual-stack IPv6 socket. */
  address: string;
  port: number;
}

export interface RawNetConn {
  phase: NetPhase;
  /** Unique per socket for the life of the host. */
  connId: bigint;
  /** Kernel struct sock address (diagnostics: reused after the socket is freed). */
  sockAddr: bigint;
  /** CLOCK_MONOTONIC ns of the event and of the first sighting of the socket. */
  timeMonoNs: bigint;
  openTimeMonoNs: bigint;
  /** 0 while the owner is unknown (server side before accept). */
  pid: number;
  /** 0 in softirq context. */
  tid: number;
  /** -1 when not known. */
  fd: number;
  family: 4 | 6;
  role: 'client' | 'server' | 'unknown';
  /** TCP_* state numbers (1 = ESTABLISHED … 7 = CLOSE …). */
  oldState: number;
  newState: number;
  local: RawEndpoint;
  remote: RawEndpoint;
  /** sk->sk_err at close (positive errno, e.g. 111 ECONNREFUSED), else 0. */
  skErr: number;
  /** Payload bytes through the traced syscalls. */
  bytesSent: bigint;
  bytesReceived: bigint;
  /** Bytes through every sock_sendmsg/sock_recvmsg (0 on kernels without sock:sock_*_length). */
  sockBytesSent: bigint;
  sockBytesReceived: bigint;
  /** tcp_sock counters at close (bytes_sent includes retransmitted bytes); 0 before close. */
  tcpBytesSent: bigint;
  tcpBytesReceived: bigint;
  retransmits: number;
  comm: string;
}

export interface RawNetData {
  syscall: NetSyscall;
  connId: bigint;
  /** CLOCK_MONOTONIC ns at syscall exit. */
  timeMonoNs: bigint;
  /** Offset of the first byte in this direction of the connection. */
  seqBytes: bigint;
  pid: number;
  tid: number;
  fd: number;
  direction: 'ingress' | 'egress';
  /** The syscall's return value: bytes it really moved. */
  totalBytes: number;
  /** The captured head (a view into the record buffer: copy it to keep it past the batch). */
  payload: Buffer;
  comm: string;
}

function ipv4(buf: Buffer, off: number): string {
  return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
}

/** RFC 5952 text form: lowercase, longest run (≥2) of zero groups as "::", IPv4-mapped as ::ffff:a.b.c.d. */
export function formatIpv6(buf: Buffer, off: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(buf.readUInt16BE(off + i * 2));
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) return `::ffff:${ipv4(buf, off + 12)}`;
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [bestStart, bestLen] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** enum hotspan_net_role, by name (index = value). */
const NET_ROLES = enumNames(abi.ENUMS.hotspan_net_role, abi.HOTSPAN_NET_ROLE_UNKNOWN, ['unknown', 'client', 'server']);

/** Decodes one struct hotspan_net_conn; throws on a short or mistyped record. */
export function decodeNetConn(buf: Buffer): RawNetConn {
  const f = NET_CONN_LAYOUT.fields;
  if (buf.length < NET_CONN_LAYOUT.size) throw new Error(`net conn record too short: ${buf.length} bytes`);
  const kind = buf.readUInt32LE(f.kind);
  if (kind !== NetEventKind.Conn) throw new Error(`not a net conn record (kind ${kind})`);
  const phase = NET_PHASES[buf.readUInt32LE(f.phase) - 1];
  if (!phase) throw new Error(`net conn record with unknown phase ${buf.readUInt32LE(f.phase)}`);
  const familyRaw = buf.readUInt16LE(f.family);
  if (familyRaw !== 2 && familyRaw !== 10) throw new Error(`net conn record with unknown family ${familyRaw}`);
  const family = familyRaw === 2 ? 4 : 6;
  const addr = (off: number) => (family === 4 ? ipv4(buf, off) : formatIpv6(buf, off));
  return {
    phase,
    connId: buf.readBigUInt64LE(f.conn_id),
    sockAddr: buf.readBigUInt64LE(f.sock_addr),
    timeMonoNs: buf.readBigUInt64LE(f.time_ns),
    openTimeMonoNs: buf.readBigUInt64LE(f.open_time_ns),
    pid: buf.readUInt32LE(f.pid),
    tid: buf.readUInt32LE(f.tid),
    fd: buf.readInt32LE(f.fd),
    family,
    role: NET_ROLES[buf.readUInt8(f.role)] ?? 'unknown',
    oldState: buf.readUInt8(f.old_state),
    newState: buf.readUInt8(f.new_state),
    local: { address: addr(f.local_addr), port: buf.readUInt16LE(f.local_port) },
    remote: { address: addr(f.remote_addr), port: buf.readUInt16LE(f.remote_port) },
    skErr: buf.readInt32LE(f.sk_err),
    bytesSent: buf.readBigUInt64LE(f.bytes_sent),
    bytesReceived: buf.readBigUInt64LE(f.bytes_received),
    sockBytesSent: buf.readBigUInt64LE(f.sock_bytes_sent),
    sockBytesReceived: buf.readBigUInt64LE(f.sock_bytes_received),
    tcpBytesSent: buf.readBigUInt64LE(f.tcp_bytes_sent),
    tcpBytesReceived: buf.readBigUInt64LE(f.tcp_bytes_received),
    retransmits: buf.readUInt32LE(f.retransmits),
    comm: cString(buf, f.comm, COMM_LEN),
  };
}

/** Decodes one struct hotspan_net_data and its payload; throws on a short or mistyped record. */
export function decodeNetData(buf: Buffer): RawNetData {
  const f = NET_DATA_LAYOUT.fields;
  if (buf.length < NET_DATA_LAYOUT.size) throw new Error(`net data record too short: ${buf.length} bytes`);
  const kind = buf.readUInt32LE(f.kind);
  if (kind !== NetEventKind.Data) throw new Error(`not a net data record (kind ${kind})`);
  const syscall = NET_SYSCALLS[buf.readUInt32LE(f.syscall) - 1];
  if (!syscall) throw new Error(`net data record with unknown syscall ${buf.readUInt32LE(f.syscall)}`);
  const captured = buf.readUInt32LE(f.captured_bytes);
  const total = buf.readUInt32LE(f.total_bytes);
  if (captured > NET_MAX_CAPTURE_BYTES || captured > total || NET_DATA_LAYOUT.size + captured > buf.length) {
    throw new Error(`net data record claims ${captured} captured of ${total} bytes in a ${buf.length}-byte record`);
  }
  return {
    syscall,
    connId: buf.readBigUInt64LE(f.conn_id),
    timeMonoNs: buf.readBigUInt64LE(f.time_ns),
    seqBytes: buf.readBigUInt64LE(f.seq_bytes),
    pid: buf.readUInt32LE(f.pid),
    tid: buf.readUInt32LE(f.tid),
    fd: buf.readInt32LE(f.fd),
    direction: buf.readUInt32LE(f.direction) === abi.HOTSPAN_NET_EGRESS ? 'egress' : 'ingress',
    totalBytes: total,
    payload: buf.subarray(NET_DATA_LAYOUT.size, NET_DATA_LAYOUT.size + captured),
    comm: cString(buf, f.comm, COMM_LEN),
  };
}

// ---- end network ----

/** Layout tables by C struct name (generated from bpf/abi-offsets.c). */
export const LAYOUTS: Record<string, { size: number; fields: Record<string, number> }> = abi.LAYOUTS;
