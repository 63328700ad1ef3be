/**
 * Memory bounds of the L7 engine, for all connections together. Every byte a peer sends is
 * untrusted: per-connection limits alone let many connections (or many streams, or a large HPACK
 * table announced by a peer) add up without limit. Each bound here is named, counted when hit
 * (L7Counters) and listed in README.md ("Network engine bounds").
 *
 * Accounting is an honest estimate of what the engine retains: buffered bytes plus a fixed
 * overhead per retained object (connection, stream, queued request, HPACK entry), with the
 * overheads measured on V8 (test/fuzz/network-engine.test.ts checks the heap against them).
 */

export interface NetworkBounds {
  /** Everything the engine retains across all connections; over it the biggest holders are shed. */
  maxEngineBytes: number;
  /** One HPACK dynamic table (per direction of a connection), whatever size the peer announces. */
  maxHpackTableBytes: number;
  /** HTTP/2 streams (and queued HTTP/1 requests) tracked on one connection. */
  maxStreamsPerConnection: number;
  /** HTTP/2 streams and queued HTTP/1 requests tracked across all connections. */
  maxStreamsTotal: number;
  /** Largest HTTP/2 header block (HEADERS + CONTINUATIONs) reassembled. */
  maxHeaderBlockBytes: number;
}

export const DEFAULT_NETWORK_BOUNDS: NetworkBounds = {
  maxEngineBytes: 64 * 1024 * 1024,
  maxHpackTableBytes: 64 * 1024,
  maxStreamsPerConnection: 256,
  maxStreamsTotal: 32_768,
  maxHeaderBlockBytes: 64 * 1024,
};

/** Most CONTINUATION frames one header block may have (real encoders use a handful). */
export const MAX_CONTINUATION_FRAMES = 64;
/** Kept strings (path, authority, kept header values) of one HTTP/2 stream; more = stream unknown. */
export const MAX_STREAM_HEADER_BYTES = 16 * 1024;

/** Retained bytes per tracked connection with no buffered data (objects, closures, maps). */
export const CONNECTION_OVERHEAD_BYTES = 2_048;
/** Retained bytes per tracked HTTP/2 stream or queued HTTP/1 request, besides its strings. */
export const STREAM_OVERHEAD_BYTES = 512;
/** Retained bytes per HPACK dynamic-table entry besides its octets (RFC 7541 counts 32). */
export const HPACK_ENTRY_OVERHEAD_BYTES = 96;

/**
 * State shared by every connection of one engine: the stream count across connections. Parsers
 * take a slot before tracking a stream and give it back when the stream ends.
 */
export class StreamSlots {
  used = 0;
  constructor(readonly max: number) {}

  take(): boolean {
    if (this.used >= this.max) return false;
    this.used++;
    return true;
  }

  give(n = 1): void {
    this.used = Math.max(0, this.used - n);
  }
}

/** Resolve user-supplied bounds over the defaults; a non-positive or non-finite value is refused. */
export function resolveNetworkBounds(over: Partial<NetworkBounds> = {}): NetworkBounds {
  const out: NetworkBounds = { ...DEFAULT_NETWORK_BOUNDS };
  for (const [k, v] of Object.entries(over) as Array<[keyof NetworkBounds, number | undefined]>) {
    if (v === undefined) continue;
    if (!Number.isFinite(v) || v <= 0) throw new Error(`network bound ${k} must be a positive number (got ${v})`);
    out[k] = Math.floor(v);
  }
  return out;
}
