/**
 * L4 flow records: one per TCP connection, built from the kernel's connection lifecycle records
 * and finished when the socket reaches TCP_CLOSE. Pure: kernel records in, FlowRecords out.
 */
import type { RawNetConn } from '../../events/decode.js';
import type { ConnRole, Endpoint } from '../types.js';

/** How a connection ended; 'open' until it does. */
export type FlowOutcome = 'open' | 'closed' | 'reset' | 'refused' | 'timed_out' | 'error';

export interface FlowRecord {
  /** Kernel conn_id: unique per socket, never reused. */
  connId: bigint;
  pid: number;
  /** Process (thread) name as the kernel saw it. */
  process: string;
  fd: number;
  family: 4 | 6;
  role: ConnRole;
  local: Endpoint;
  remote: Endpoint;
  /** CLOCK_MONOTONIC ns: when the agent first saw the socket, and when it reached TCP_CLOSE. */
  openMonoNs: bigint;
  closeMonoNs?: bigint;
  /** Payload bytes the process wrote/read through the traced syscalls. */
  bytesSent: bigint;
  bytesReceived: bigint;
  /** The kernel's own TCP counters at close (bytes_sent includes retransmitted bytes). */
  tcpBytesSent?: bigint;
  tcpBytesReceived?: bigint;
  retransmits: number;
  outcome: FlowOutcome;
  /** The socket error behind the outcome (ECONNREFUSED = 111, …), when there was one. */
  errno?: number;
  /** The connection predates the agent (its start was not seen). */
  preexisting: boolean;
}

const ECONNREFUSED = 111;
const ETIMEDOUT = 110;
const ECONNRESET = 104;
const EPIPE = 32;

/** The outcome a socket error implies (sk->sk_err when the socket reached TCP_CLOSE). */
export function outcomeOf(skErr: number): FlowOutcome {
  switch (skErr) {
    case 0:
      return 'closed';
    case ECONNREFUSED:
      return 'refused';
    case ETIMEDOUT:
      return 'timed_out';
    case ECONNRESET:
    case EPIPE:
      return 'reset';
    default:
      return 'error';
  }
}

export interface FlowTableOptions {
  /** Most open flows kept; beyond it the oldest is dropped (counted). Default 65536. */
  maxOpenFlows?: number;
  /** Decides role and pre-existence for sockets the kernel first met mid-stream. */
  classifyDiscovered?: (c: RawNetConn) => { role: ConnRole; preexisting: boolean };
}

export class FlowTable {
  private readonly open = new Map<bigint, FlowRecord>();
  private readonly maxOpenFlows: number;
  evicted = 0;

  constructor(private readonly opts: FlowTableOptions = {}) {
    this.maxOpenFlows = opts.maxOpenFlows ?? 65_536;
  }

  /** Feeds one lifecycle record; returns the finished flow when the connection closed. */
  onConn(c: RawNetConn): FlowRecord | undefined {
    let f = this.open.get(c.connId);
    if (!f) {
      if (c.phase === 'fd_close') return undefined; // close of a socket whose start was lost
      f = this.create(c);
    }
    if (c.pid && (!f.pid || c.phase === 'accept')) {
      f.pid = c.pid;
      f.process = c.comm;
    }
    if (c.fd >= 0 && (f.fd < 0 || c.phase === 'accept')) f.fd = c.fd;
    if (c.role !== 'unknown' && f.role === 'unknown') f.role = c.role;
    f.bytesSent = c.bytesSent > f.bytesSent ? c.bytesSent : f.bytesSent;
    f.bytesReceived = c.bytesReceived > f.bytesReceived ? c.bytesReceived : f.bytesReceived;
    f.retransmits = Math.max(f.retransmits, c.retransmits);
    if (c.phase !== 'closed') return undefined;
    this.open.delete(c.connId);
    f.closeMonoNs = c.timeMonoNs;
    f.tcpBytesSent = c.tcpBytesSent;
    f.tcpBytesReceived = c.tcpBytesReceived;
    f.outcome = outcomeOf(c.skErr);
    if (c.skErr) f.errno = c.skErr;
    // Local/remote from the final state change: a connect() to a closed port has its tuple only here.
    f.local = c.local;
    f.remote = c.remote;
    return f;
  }

  /** Flows not closed yet. */
  openFlows(): FlowRecord[] {
    return [...this.open.values()];
  }

  private create(c: RawNetConn): FlowRecord {
    if (this.open.size >= this.maxOpenFlows) {
      const oldest = this.open.keys().next().value as bigint;
      this.open.delete(oldest);
      this.evicted++;
    }
    const discovered = c.phase === 'discovered' ? this.opts.classifyDiscovered?.(c) : undefined;
    const f: FlowRecord = {
      connId: c.connId,
      pid: c.pid,
      process: c.comm,
      fd: c.fd,
      family: c.family,
      role: discovered?.role ?? c.role,
      local: c.local,
      remote: c.remote,
      openMonoNs: c.openTimeMonoNs,
      bytesSent: 0n,
      bytesReceived: 0n,
      retransmits: 0,
      outcome: 'open',
      preexisting: discovered?.preexisting ?? c.phase === 'discovered',
    };
    this.open.set(c.connId, f);
    return f;
  }
}
