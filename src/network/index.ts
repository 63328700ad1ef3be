/**
 * The user-side L7 engine: feed it the kernel side's connection events and data chunks, get
 * RequestRecords back. Pure TypeScript, no I/O.
 */
import { Connection, connKeyString } from './connection.js';
import type { ChunkMeta } from './stream.js';
import type { ConnClose, ConnOpen, DataChunk, L7Counters, RequestRecord, RequestStart } from './types.js';

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
  const table = new Map<string, Connection>();
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

  function open(o: ConnOpen): Connection {
    const key = connKeyString(o);
    const old = table.get(key);
    if (old) {
      old.close(meta(o));
      table.delete(key);
    }
    if (table.size >= maxConnections) {
      const [oldestKey, oldest] = table.entries().next().value as [string, Connection];
      oldest.close(meta(o));
      table.delete(oldestKey);
      counters.evictedConnections++;
    }
    const c = new Connection(o, connOpts, emit, counters);
    table.set(key, c);
    return c;
  }

  return {
    counters,
    get connections() {
      return table.size;
    },
    bufferedBytes() {
      let n = 0;
      for (const c of table.values()) n += c.bufferedBytes;
      return n;
    },
    onConnOpen(o) {
      open(o);
    },
    onConnClose(c) {
      const key = connKeyString(c);
      const conn = table.get(key);
      if (!conn) return;
      conn.close(meta(c));
      table.delete(key);
    },
    onChunk(chunk) {
      counters.chunks++;
      counters.bytesSeen += chunk.bytesTotal;
      const key = connKeyString(chunk);
      let conn = table.get(key);
      if (!conn) {
        // Data on a connection we never saw open: track it with the role unknown; detection
        // infers the role from which direction carries requests.
        counters.implicitConnections++;
        conn = open({ ...chunk, role: 'unknown', preexisting: chunk.seqBytes !== 0 });
      } else {
        // Keep the map in LRU order so eviction takes the least recently used.
        table.delete(key);
        table.set(key, conn);
      }
      conn.push(chunk, meta(chunk));
    },
  };
}
