/**
 * The user-side L7 engine: feed it the kernel side's connection events and data chunks, get
 * RequestRecords back. Pure TypeScript, no I/O.
 */
import { Connection, connKeyString } from './connection.js';
import type { ChunkMeta } from './stream.js';
import type { ConnClose, ConnKey, ConnOpen, DataChunk, L7Counters, RequestRecord, RequestStart } from './types.js';

export type * from './types.js';
export { parseTraceparent, parseTracestate } from './traceparent.js';
export { routeOf, recordPath } from './route.js';
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
   * offset between Date.now() and performance.now() at creation.
   */
  monoToUnixOffsetNs?: bigint;
}

export interface L7Engine {
  onConnOpen(open: ConnOpen): void;
  onConnClose(close: ConnClose): void;
  onChunk(chunk: DataChunk): void;
  readonly counters: Readonly<L7Counters>;
  /** Connections currently tracked. */
  readonly connections: number;
  /** Bytes held in parser buffers across all connections (for memory-bound checks). */
  bufferedBytes(): number;
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
  };
  const maxConnections = opts.maxConnections ?? 65_536;
  /**
   * Connections by socket cookie, the hot-path lookup (no key string per chunk). A socket shared
   * by several processes or fds (fork, dup) has one cookie but separate streams: those extra
   * holders live in `shared`, keyed by the full pid:fd:cookie string.
   */
  const table = new Map<bigint, Connection>();
  const shared = new Map<string, Connection>();
  let tick = 0;
  const offsetNs =
    opts.monoToUnixOffsetNs ??
    BigInt(Math.round((Date.now() - performance.now()) * 1e6));
  const emit = (r: RequestRecord): void => {
    try {
      opts.onRequest(r);
    } catch {
      // A consumer's failure must not corrupt parser state mid-chunk.
    }
  };
  const connOpts = { keepQuery: opts.keepQuery ?? false, ...(opts.onRequestStart && { onStart: opts.onRequestStart }), ...(opts.maxHeadBytes !== undefined && { maxHeadBytes: opts.maxHeadBytes }) };

  function meta(t: { tid?: number; timeMonoNs: bigint; timeUnixNs?: bigint }): ChunkMeta {
    return { tid: t.tid ?? 0, timeMonoNs: t.timeMonoNs, timeUnixNs: t.timeUnixNs ?? t.timeMonoNs + offsetNs };
  }

  const owns = (c: Connection, k: ConnKey): boolean => c.ctx.pid === k.pid && c.ctx.fd === k.fd;

  function lookup(k: ConnKey): Connection | undefined {
    const c = table.get(k.connCookie);
    if (c === undefined || owns(c, k)) return c;
    return shared.size === 0 ? undefined : shared.get(connKeyString(k));
  }

  function remove(k: ConnKey): Connection | undefined {
    const c = table.get(k.connCookie);
    if (c !== undefined && owns(c, k)) {
      table.delete(k.connCookie);
      return c;
    }
    const key = connKeyString(k);
    const s = shared.get(key);
    if (s) shared.delete(key);
    return s;
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
    if (table.has(o.connCookie)) shared.set(connKeyString(o), c);
    else table.set(o.connCookie, c);
    return c;
  }

  return {
    counters,
    get connections() {
      return table.size + shared.size;
    },
    bufferedBytes() {
      let n = 0;
      for (const c of table.values()) n += c.bufferedBytes;
      for (const c of shared.values()) n += c.bufferedBytes;
      return n;
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
    },
  };
}
