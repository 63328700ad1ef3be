/**
 * Loads bpf/net.bpf.o, attaches its tracepoints, drains the `net_events` ring buffer and turns
 * kernel records into what the L7 engine consumes (ConnOpen/DataChunk/ConnClose) and into L4
 * FlowRecords. Needs root (or CAP_BPF + CAP_PERFMON), Linux 6.1+ with BTF as written
 * (sock:sock_{send,recv}_length are referenced by the object), ring buffer 5.8+.
 */
import { existsSync } from 'node:fs';
import { BpfObject, bpfObjectPath, ensureTracefs, TRACEFS } from '../../bpf/index.js';
import {
  decodeNetConn,
  decodeNetData,
  NET_DEFAULT_CAPTURE_BYTES,
  NET_MAX_CAPTURE_BYTES,
  NetCounter,
  NetEventKind,
  recordKind,
  type RawNetConn,
  type RawNetData,
} from '../../events/decode.js';
import { MonotonicClock } from '../../profiling/index.js';
import type { ConnClose, ConnOpen, ConnRole, DataChunk } from '../types.js';
import { discoverConnections, type PreexistingConn } from './discovery.js';
import { FlowTable, type FlowRecord } from './flows.js';

/** What the capture feeds; the L7 engine (createL7Engine) satisfies the first three. */
export interface NetEventSink {
  onConnOpen?(open: ConnOpen): void;
  onConnClose?(close: ConnClose): void;
  onChunk?(chunk: DataChunk): void;
  /** An L4 flow that finished (socket reached TCP_CLOSE). */
  onFlow?(flow: FlowRecord): void;
  /** Every decoded lifecycle record, for diagnostics and tests. */
  onRawConn?(conn: RawNetConn): void;
}

export interface NetCaptureOptions {
  /** Payload head copied per syscall, 0..8192 bytes (default 4096). */
  captureBytes?: number;
  /** Process whose traffic is never captured; default this process (the agent's own export). */
  selfPid?: number;
  /** How often the native reader hands a batch to JS (default 20 ms). */
  flushIntervalMs?: number;
  /** Scan /proc for connections that predate the agent (default true). */
  discoverPreexisting?: boolean;
  /**
   * Stop copying payload for a connection whose first request bytes are no protocol the L7
   * engine parses (TLS, databases, …); flows keep its byte counts. Default true; false captures
   * every connection's payload heads (raw L4 capture).
   */
  skipOpaqueConnections?: boolean;
}

export interface NetCaptureCounters {
  dataEmitted: bigint;
  /** Data records lost because the ring buffer was full. */
  dataDropped: bigint;
  dataTruncated: bigint;
  connEmitted: bigint;
  connDropped: bigint;
  selfSkipped: bigint;
  discovered: bigint;
  copyFailed: bigint;
  connTableFull: bigint;
  retransmits: bigint;
  /**
   * Data syscalls not emitted because their connection's first bytes matched no protocol the
   * L7 engine parses (TLS, databases, …): byte counts still kept for flows.
   */
  opaqueSkipped: bigint;
  /** Records that reached user space but did not decode: counted and skipped. */
  decodeErrors: number;
  /** Exceptions thrown by a sink: counted, never allowed to stop the reader. */
  sinkErrors: number;
}

/** [program, tracepoint category, tracepoint name] */
type Attachment = readonly [string, string, string];

const SYSCALL_PROGRAMS: Attachment[] = [
  'connect',
  'accept',
  'accept4',
  'read',
  'write',
  'readv',
  'writev',
  'recvfrom',
  'sendto',
  'recvmsg',
  'sendmsg',
].flatMap((s): Attachment[] => [
  [`handle_enter_${s}`, 'syscalls', `sys_enter_${s}`],
  [`handle_exit_${s}`, 'syscalls', `sys_exit_${s}`],
]);

const REQUIRED: Attachment[] = [
  ['handle_inet_sock_set_state', 'sock', 'inet_sock_set_state'],
  ['handle_enter_close', 'syscalls', 'sys_enter_close'],
  ...SYSCALL_PROGRAMS,
];

/** Attached when the kernel has them: counts only, capture works without. */
const OPTIONAL: Attachment[] = [
  ['handle_tcp_retransmit_skb', 'tcp', 'tcp_retransmit_skb'],
  ['handle_sock_send_length', 'sock', 'sock_send_length'],
  ['handle_sock_recv_length', 'sock', 'sock_recv_length'],
];

export class NetCapture {
  private readonly flows: FlowTable;
  private readonly clock = new MonotonicClock();
  /** Connections announced to the engine and not closed yet: connId -> key parts. */
  private readonly announced = new Map<bigint, { pid: number; fd: number }>();
  private readonly preexisting = new Map<string, PreexistingConn>();
  private stopReading: (() => void) | undefined;
  private decodeErrors = 0;
  private sinkErrors = 0;
  readonly attached: string[] = [];
  readonly missingOptional: string[] = [];

  private constructor(
    private readonly obj: BpfObject,
    private readonly sink: NetEventSink,
    readonly captureBytes: number,
    /** The agent's own process: the kernel drops its traffic; this is the same rule in user space. */
    private readonly selfPid: number,
  ) {
    this.flows = new FlowTable({ classifyDiscovered: (c) => this.classifyDiscovered(c) });
  }

  static start(sink: NetEventSink, opts: NetCaptureOptions = {}): NetCapture {
    const captureBytes = opts.captureBytes ?? NET_DEFAULT_CAPTURE_BYTES;
    if (!Number.isInteger(captureBytes) || captureBytes < 0 || captureBytes > NET_MAX_CAPTURE_BYTES) {
      throw new Error(
        `network capture bytes must be an integer between 0 and ${NET_MAX_CAPTURE_BYTES} (got ${captureBytes}); ` +
          'the ceiling is HOTSPAN_NET_MAX_CAPTURE_BYTES in bpf/hotspan.h',
      );
    }
    ensureTracefs();
    const selfPid = opts.selfPid ?? process.pid;
    const obj = BpfObject.load(bpfObjectPath('net'), {
      self_tgid: selfPid,
      capture_bytes: captureBytes,
      skip_opaque: opts.skipOpaqueConnections === false ? 0 : 1,
    });
    const cap = new NetCapture(obj, sink, captureBytes, selfPid);
    try {
      // Reader first, then probes: nothing emitted between the two is lost.
      cap.stopReading = obj.readRingBuffer('net_events', (records) => cap.onBatch(records), opts.flushIntervalMs ?? 20);
      for (const [prog, category, name] of REQUIRED) {
        obj.attachTracepoint(prog, category, name);
        cap.attached.push(`${category}:${name}`);
      }
      for (const [prog, category, name] of OPTIONAL) {
        if (!existsSync(`${TRACEFS}/events/${category}/${name}`)) {
          cap.missingOptional.push(`${category}:${name}`);
          continue;
        }
        obj.attachTracepoint(prog, category, name);
        cap.attached.push(`${category}:${name}`);
      }
      // After attaching: a socket opened during the scan is tracked by the kernel from its start.
      if (opts.discoverPreexisting ?? true) {
        for (const c of discoverConnections({ excludePid: opts.selfPid ?? process.pid }).connections) {
          cap.preexisting.set(`${c.pid}:${c.fd}`, c);
        }
      }
    } catch (err) {
      cap.close();
      throw err;
    }
    return cap;
  }

  /** Connections found by the startup scan (pid, fd, tuple, role). */
  preexistingConnections(): PreexistingConn[] {
    return [...this.preexisting.values()];
  }

  openFlows(): FlowRecord[] {
    return this.flows.openFlows();
  }

  counters(): NetCaptureCounters {
    const c = this.obj.readPerCpuCounters('net_counters', NetCounter.Count);
    return {
      dataEmitted: c[NetCounter.DataEmitted],
      dataDropped: c[NetCounter.DataDropped],
      dataTruncated: c[NetCounter.DataTruncated],
      connEmitted: c[NetCounter.ConnEmitted],
      connDropped: c[NetCounter.ConnDropped],
      selfSkipped: c[NetCounter.SelfSkipped],
      discovered: c[NetCounter.Discovered],
      copyFailed: c[NetCounter.CopyFailed],
      connTableFull: c[NetCounter.ConnTableFull],
      retransmits: c[NetCounter.Retransmits],
      opaqueSkipped: c[NetCounter.OpaqueSkipped],
      decodeErrors: this.decodeErrors,
      sinkErrors: this.sinkErrors,
    };
  }

  /** Kernel-measured run time of every attached program (needs kernel.bpf_stats_enabled=1). */
  bpfRunTimeNs(): bigint {
    let total = 0n;
    for (const prog of this.obj.programs()) total += this.obj.programStats(prog).runTimeNs;
    return total;
  }

  close(): void {
    this.stopReading?.();
    this.stopReading = undefined;
    this.obj.close();
  }

  private onBatch(records: Buffer[]): void {
    for (const r of records) {
      try {
        const kind = r.length >= 4 ? recordKind(r) : -1;
        if (kind === NetEventKind.Data) this.onData(decodeNetData(r));
        else if (kind === NetEventKind.Conn) this.onConn(decodeNetConn(r));
        else throw new Error(`unknown net record kind ${kind} (${r.length} bytes)`);
      } catch (err) {
        if (err instanceof SinkError) this.sinkErrors++;
        else this.decodeErrors++;
      }
    }
  }

  private call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      throw new SinkError(err);
    }
  }

  private onData(d: RawNetData): void {
    // A socket first seen without its owner (e.g. a state change in softirq) is not marked as
    // the agent's in the kernel; its records must still never reach the sinks.
    if (!this.sink.onChunk || d.pid === this.selfPid) return;
    const chunk = toDataChunk(d, this.clock.toUnixNs(d.timeMonoNs));
    // The per-record hot path: no closure (unlike call()), same error accounting.
    try {
      this.sink.onChunk(chunk);
    } catch (err) {
      throw new SinkError(err);
    }
  }

  private onConn(c: RawNetConn): void {
    if (this.sink.onRawConn) this.call(() => this.sink.onRawConn!(c));
    const flow = this.flows.onConn(c);
    // The engine keys connections by pid+fd+connId: announce once both are known.
    if ((c.phase === 'connect' || c.phase === 'accept' || c.phase === 'discovered') && c.pid && c.fd >= 0) {
      this.announce(c);
    } else if (c.phase === 'fd_close' || c.phase === 'closed') {
      this.retire(c);
    }
    if (flow && this.sink.onFlow) this.call(() => this.sink.onFlow!(flow));
  }

  private announce(c: RawNetConn): void {
    if (c.pid === this.selfPid) return;
    this.announced.set(c.connId, { pid: c.pid, fd: c.fd });
    if (!this.sink.onConnOpen) return;
    const discovered = c.phase === 'discovered' ? this.classifyDiscovered(c) : undefined;
    const open: ConnOpen = {
      pid: c.pid,
      fd: c.fd,
      connCookie: c.connId,
      tid: c.tid,
      role: discovered?.role ?? c.role,
      local: c.local,
      remote: c.remote,
      timeMonoNs: c.timeMonoNs,
      timeUnixNs: this.clock.toUnixNs(c.timeMonoNs),
      ...(discovered && { preexisting: true }),
    };
    this.call(() => this.sink.onConnOpen!(open));
  }

  private retire(c: RawNetConn): void {
    const key = this.announced.get(c.connId);
    if (!key) return;
    this.announced.delete(c.connId);
    if (!this.sink.onConnClose) return;
    const close: ConnClose = {
      ...key,
      connCookie: c.connId,
      timeMonoNs: c.timeMonoNs,
      timeUnixNs: this.clock.toUnixNs(c.timeMonoNs),
    };
    this.call(() => this.sink.onConnClose!(close));
  }

  /** A socket first met mid-stream: the startup scan says its role, else it is unknown. */
  private classifyDiscovered(c: RawNetConn): { role: ConnRole; preexisting: boolean } {
    const known = this.preexisting.get(`${c.pid}:${c.fd}`);
    if (known && known.local.port === c.local.port && known.remote.port === c.remote.port) {
      return { role: known.role, preexisting: true };
    }
    return { role: 'unknown', preexisting: true };
  }
}

class SinkError extends Error {
  constructor(readonly inner: unknown) {
    super(inner instanceof Error ? inner.message : String(inner));
  }
}

/** Kernel data record -> the engine's chunk. No copy: the addon hands each record its own Buffer
 * (ring_reader.cc copies out of the ring), so the payload view stays valid. */
export function toDataChunk(d: RawNetData, timeUnixNs?: bigint): DataChunk {
  return {
    pid: d.pid,
    fd: d.fd,
    connCookie: d.connId,
    tid: d.tid,
    direction: d.direction,
    seqBytes: Number(d.seqBytes),
    bytesTotal: d.totalBytes,
    data: d.payload,
    timeMonoNs: d.timeMonoNs,
    ...(timeUnixNs !== undefined && { timeUnixNs }),
  };
}
