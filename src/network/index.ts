/**
 * The user-side L7 engine: feed it the kernel side's connection events and data chunks, get
 * RequestRecords back. Pure TypeScript, no I/O.
 */
import { hostClock } from '../clock/index.js';
import { Connection, connKeyString } from './connection.js';
import { resolveNetworkBounds, StreamSlots, type NetworkBounds } from './bounds.js';
import { routeCacheStats } from './route.js';
import type { ChunkMeta } from './stream.js';
import type { ConnClose, ConnKey, ConnOpen, DataChunk, L7Counters, RequestRecord, RequestStart } from './types.js';

export type * from './types.js';
export { parseTraceparent, parseTracestate } from './traceparent.js';
export { routeOf, recordPath, routeCacheStats, type RouteCacheStats } from './route.js';
export { DEFAULT_NETWORK_BOUNDS, resolveNetworkBounds, type NetworkBounds } from './bounds.js';
export { parseGrpcPath, parseGrpcStatus } from './grpc.js';
export { detectProtocol } from './connection.js';

export interface L7EngineOptions {
  onRequest: (record: RequestRecord) => void;
  /** Called when a request head is parsed (before the response): lets spans be in progress. */
  onRequestStart?: (start: RequestStart) => void;
  /** Keep query strings in `path` (default false: dropped, they often carry tokens). */
  keepQuery?: boolean;
  /** Most connections tracked at once; the least recently used is evicted beyond it. */
  maxConnections?: number;
  /** Largest HTTP/1 header section accepted (default 32 KiB). */
  maxHeadBytes?: number;
  /**
   * Wall clock for chunks without `timeUnixNs`: Unix ns = mono ns + this offset. Default: the
   * agent's clock (src/clock), so a fallback time agrees with the capture's and the profiler's.
   */
  monoToUnixOffsetNs?: bigint;
  /** Memory bounds for all connections together (bounds.ts; defaults DEFAULT_NETWORK_BOUNDS). */
  bounds?: Partial<NetworkBounds>;
}

export interface L7Engine {
  onConnOpen(open: ConnOpen): void;
  onConnClose(close: ConnClose): void;
  onChunk(chunk: DataChunk): void;
  readonly counters: Readonly<L7Counters>;
  /** Connections currently tracked. */
  readonly connections: number;
  /**
   * Everything the engine retains, by its accounting: every tracked connection (fixed objects,
   * parser buffers, header blocks being assembled, HPACK tables, streams, queued requests) plus
   * the route cache. Kept incrementally: O(1).
   */
  bufferedBytes(): number;
  /** The same sum recomputed from every connection (O(connections)); tests check the two agree. */
  recountBytes(): number;
  /** Streams and queued requests tracked across all connections. */
  readonly trackedStreams: number;
  readonly bounds: Readonly<NetworkBounds>;
}

export function createL7Engine(opts: L7EngineOptions): L7Engine {
  const counters: L7Counters = {
    chunks: 0,
    bytesSeen: 0,
    gaps: 0,
    parseErrors: 0,
    droppedRequests: 0,
    implicitConnections: 0,
    evictedConnections: 0,
    unknownProtocolConnections: 0,
    records: 0,
    budgetShedConnections: 0,
    hpackTableCapped: 0,
    streamsCapped: 0,
    headerBlocksCapped: 0,
  };
  const maxConnections = opts.maxConnections ?? 65_536;
  const bounds = resolveNetworkBounds(opts.bounds);
  const slots = new StreamSlots(bounds.maxStreamsTotal);
  /** Sum of every tracked connection's accountedBytes. */
  let heldBytes = 0;
  /**
   * Connections by socket cookie, the hot-path lookup (no key string per chunk). A socket shared
   * by several processes or fds (fork, dup) has one cookie but separate streams: those extra
   * holders live in `shared`, keyed by the full pid:fd:cookie string.
   */
  const table = new Map<bigint, Connection>();
  const shared = new Map<string, Connection>();
  let tick = 0;
  const fixedOffsetNs = opts.monoToUnixOffsetNs;
  const emit = (r: RequestRecord): void => {
    try {
      opts.onRequest(r);
    } catch {
      // A consumer's failure must not corrupt parser state mid-chunk.
    }
  };
  const connOpts = {
    keepQuery: opts.keepQuery ?? false,
    bounds,
    slots,
    ...(opts.onRequestStart && { onStart: opts.onRequestStart }),
    ...(opts.maxHeadBytes !== undefined && { maxHeadBytes: opts.maxHeadBytes }),
  };

  function meta(t: { tid?: number; timeMonoNs: bigint; timeUnixNs?: bigint }): ChunkMeta {
    return { tid: t.tid ?? 0, timeMonoNs: t.timeMonoNs, timeUnixNs: t.timeUnixNs ?? t.timeMonoNs + (fixedOffsetNs ?? hostClock.offsetNs) };
  }

  const owns = (c: Connection, k: ConnKey): boolean => c.ctx.pid === k.pid && c.ctx.fd === k.fd;

  function lookup(k: ConnKey): Connection | undefined {
    const c = table.get(k.connCookie);
    if (c === undefined || owns(c, k)) return c;
    return shared.size === 0 ? undefined : shared.get(connKeyString(k));
  }

  function remove(k: ConnKey): Connection | undefined {
    let c = table.get(k.connCookie);
    if (c !== undefined && owns(c, k)) table.delete(k.connCookie);
    else {
      const key = connKeyString(k);
      c = shared.get(key);
      if (c) shared.delete(key);
    }
    if (c) heldBytes -= c.accountedBytes;
    return c;
  }

  function reaccount(c: Connection): void {
    const now = c.bufferedBytes;
    heldBytes += now - c.accountedBytes;
    c.accountedBytes = now;
  }

  /**
   * Over maxEngineBytes: drop the L7 state of the biggest holders (a hostile peer's connection is
   * usually the biggest) until the engine is back under 7/8 of the budget. If fixed per-connection
   * costs alone exceed it, the least recently used connections go too. Nothing is reported for
   * what is dropped: its requests are counted as dropped, never given a guessed outcome.
   */
  function shed(): void {
    const target = bounds.maxEngineBytes - (bounds.maxEngineBytes >> 3);
    const all = [...table.values(), ...shared.values()];
    all.sort((a, b) => b.accountedBytes - a.accountedBytes);
    for (const c of all) {
      if (heldBytes <= target) return;
      const before = c.accountedBytes;
      c.discard();
      reaccount(c);
      if (c.accountedBytes < before) counters.budgetShedConnections++;
    }
    all.sort((a, b) => a.lastUsed - b.lastUsed);
    for (const c of all) {
      if (heldBytes <= target) return;
      c.discard(); // already done above; kept so no stream slot can leak with the connection
      remove(c.ctx);
      counters.evictedConnections++;
    }
  }

  /** Table full: close and drop the least recently used 1/64th at once (amortises the scan). */
  function evict(at: ChunkMeta): void {
    const all = [...table.values(), ...shared.values()].sort((a, b) => a.lastUsed - b.lastUsed);
    for (const c of all.slice(0, Math.max(1, all.length >> 6))) {
      c.close(at);
      remove(c.ctx);
      counters.evictedConnections++;
    }
  }

  function open(o: ConnOpen): Connection {
    const old = remove(o);
    if (old) old.close(meta(o));
    if (table.size + shared.size >= maxConnections) evict(meta(o));
    const c = new Connection(o, connOpts, emit, counters);
    c.lastUsed = ++tick;
    reaccount(c);
    if (table.has(o.connCookie)) shared.set(connKeyString(o), c);
    else table.set(o.connCookie, c);
    return c;
  }

  return {
    counters,
    get connections() {
      return table.size + shared.size;
    },
    get trackedStreams() {
      return slots.used;
    },
    bounds,
    bufferedBytes() {
      return heldBytes + routeCacheStats().bytes;
    },
    recountBytes() {
      let n = 0;
      for (const c of table.values()) n += c.bufferedBytes;
      for (const c of shared.values()) n += c.bufferedBytes;
      return n + routeCacheStats().bytes;
    },
    onConnOpen(o) {
      open(o);
    },
    onConnClose(c) {
      remove(c)?.close(meta(c));
    },
    onChunk(chunk) {
      counters.chunks++;
      counters.bytesSeen += chunk.bytesTotal;
      let conn = lookup(chunk);
      if (!conn) {
        // Data on a connection we never saw open: track it with the role unknown; detection
        // infers the role from which direction carries requests.
        counters.implicitConnections++;
        conn = open({ ...chunk, role: 'unknown', preexisting: chunk.seqBytes !== 0 });
      }
      conn.lastUsed = ++tick;
      conn.push(chunk, meta(chunk));
      reaccount(conn);
      if (heldBytes > bounds.maxEngineBytes) shed();
    },
  };
}
