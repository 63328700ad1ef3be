/**
 * Loads bpf/net.bpf.o, attaches its tracepoints, drains the `net_events` ring buffer and turns
 * kernel records into what the L7 engine consumes (ConnOpen/DataChunk/ConnClose) and into L4
 * FlowRecords. Needs root (or CAP_BPF + CAP_PERFMON), Linux 5.8+ with BTF (ring buffer); tested
 * from 5.10. What a kernel lacks (retransmit or sock-length tracepoints, bpf_loop) costs only that
 * feature: its programs are left out of the load, chosen from the probed feature report.
 */
import {
  BpfObject,
  bpfObjectPath,
  ensureTracefs,
  onlineCpus,
  probeFeatures,
  UnsupportedFeatureError,
  type FeatureId,
  type FeatureReport,
} from '../../bpf/index.js';
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
import { hostClock } from '../../clock/index.js';
import type { ConnClose, ConnOpen, ConnRole, DataChunk } from '../types.js';
import { discoverConnections, type PreexistingConn } from './discovery.js';
import { FlowTable, type FlowRecord } from './flows.js';
import { netRingBytes } from './ring-size.js';

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
  /** What this kernel has (probed once by the caller); probed here when not given. */
  features?: FeatureReport;
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

const IOV_SYSCALLS = new Set(['readv', 'writev', 'recvmsg', 'sendmsg']);

/**
 * Every program of net.bpf.o with its tracepoint and the feature it serves. The iovec exits
 * come twice: `handle_exit_<s>` calls bpf_loop, `handle_exit_<s>_bl` is its bounded-loop twin;
 * exactly one of each pair is loaded.
 */
interface NetProgram {
  attach: Attachment;
  feature: FeatureId;
  variant?: 'bpf-loop' | 'bounded';
}

function programTable(): NetProgram[] {
  const out: NetProgram[] = [
    { attach: ['handle_inet_sock_set_state', 'sock', 'inet_sock_set_state'], feature: 'l4-flows' },
    { attach: ['handle_enter_close', 'syscalls', 'sys_enter_close'], feature: 'l4-flows' },
  ];
  for (const s of ['connect', 'accept', 'accept4']) {
    out.push({ attach: [`handle_enter_${s}`, 'syscalls', `sys_enter_${s}`], feature: 'l4-flows' });
    out.push({ attach: [`handle_exit_${s}`, 'syscalls', `sys_exit_${s}`], feature: 'l4-flows' });
  }
  for (const s of ['read', 'write', 'readv', 'writev', 'recvfrom', 'sendto', 'recvmsg', 'sendmsg']) {
    // Required like the lifecycle programs (NetCapture.start refuses to run without them): the
    // data syscalls feed both the L7 engine and the flows' byte counts.
    out.push({ attach: [`handle_enter_${s}`, 'syscalls', `sys_enter_${s}`], feature: 'payload-capture' });
    if (IOV_SYSCALLS.has(s)) {
      out.push({ attach: [`handle_exit_${s}`, 'syscalls', `sys_exit_${s}`], feature: 'payload-capture', variant: 'bpf-loop' });
      out.push({ attach: [`handle_exit_${s}_bl`, 'syscalls', `sys_exit_${s}`], feature: 'payload-capture', variant: 'bounded' });
    } else {
      out.push({ attach: [`handle_exit_${s}`, 'syscalls', `sys_exit_${s}`], feature: 'payload-capture' });
    }
  }
  out.push({ attach: ['handle_tcp_retransmit_skb', 'tcp', 'tcp_retransmit_skb'], feature: 'retransmits' });
  out.push({ attach: ['handle_sock_send_length', 'sock', 'sock_send_length'], feature: 'sock-lengths' });
  out.push({ attach: ['handle_sock_recv_length', 'sock', 'sock_recv_length'], feature: 'sock-lengths' });
  return out;
}

/** Which programs to load and attach on a kernel with `features`; the rest are skipped. */
export function selectNetPrograms(features: FeatureReport): { load: Attachment[]; skip: string[] } {
  const useLoop = features.has('bpf-loop');
  const load: Attachment[] = [];
  const skip: string[] = [];
  for (const p of programTable()) {
    const wanted = features.has(p.feature) && (p.variant === undefined || (p.variant === 'bpf-loop') === useLoop);
    if (wanted) load.push(p.attach);
    else skip.push(p.attach[0]);
  }
  return { load, skip };
}

export class NetCapture {
  private readonly flows: FlowTable;
  private readonly clock = hostClock;
  /** Connections announced to the engine and not closed yet: connId -> key parts. */
  private readonly announced = new Map<bigint, { pid: number; fd: number }>();
  private readonly preexisting = new Map<string, PreexistingConn>();
  private stopReading: (() => Promise<void>) | undefined;
  private decodeErrors = 0;
  private sinkErrors = 0;
  readonly attached: string[] = [];
  /** Tracepoints not attached because their feature is missing here (e.g. sock:sock_send_length). */
  readonly missingOptional: string[] = [];
  /** Features this capture runs without (kernel lacks them, or disabled). */
  readonly degraded: FeatureId[] = [];

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
    const features = opts.features ?? probeFeatures();
    // Without these two there is nothing to capture; everything else degrades one feature.
    for (const id of ['l4-flows', 'payload-capture'] as const) {
      const f = features.features.find((x) => x.id === id)!;
      if (!f.available) throw new UnsupportedFeatureError(f);
    }
    const { load, skip } = selectNetPrograms(features);
    const selfPid = opts.selfPid ?? process.pid;
    const obj = BpfObject.load(
      bpfObjectPath('net'),
      {
        self_tgid: selfPid,
        capture_bytes: captureBytes,
        skip_opaque: opts.skipOpaqueConnections === false ? 0 : 1,
      },
      { skipPrograms: skip, maxEntries: { net_events: netRingBytes(onlineCpus().length) } },
    );
    const cap = new NetCapture(obj, sink, captureBytes, selfPid);
    cap.degraded.push(...(['bpf-loop', 'retransmits', 'sock-lengths'] as const).filter((id) => !features.has(id)));
    try {
      // Reader first, then probes: nothing emitted between the two is lost.
      cap.stopReading = obj.readRingBuffer('net_events', (records) => cap.onBatch(records), opts.flushIntervalMs ?? 20);
      for (const [prog, category, name] of load) {
        obj.attachTracepoint(prog, category, name);
        cap.attached.push(`${category}:${name}`);
      }
      for (const id of cap.degraded) {
        if (id === 'bpf-loop') continue; // a variant, not a hook
        for (const p of programTable()) if (p.feature === id) cap.missingOptional.push(`${p.attach[1]}:${p.attach[2]}`);
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

  /** Programs in the kernel (the skipped ones are not). */
  loadedPrograms(): string[] {
    return this.obj.loadedPrograms();
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
    for (const prog of this.obj.loadedPrograms()) total += this.obj.programStats(prog).runTimeNs;
    return total;
  }

  /** Detaches everything; resolves once the last batch has reached the sink. */
  close(): Promise<void> {
    const drained = this.stopReading?.() ?? Promise.resolve();
    this.stopReading = undefined;
    this.obj.close();
    return drained;
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
