/**
 * Connection table and per-connection L7 protocol detection. Keyed by pid + fd + connCookie so a
 * reused fd can never mix two connections; bounded (oldest evicted, counted).
 */
import { Http1Connection, HTTP1_METHODS } from './http1.js';
import { Http2Connection, matchesPrefacePrefix, H2_PREFACE } from './http2.js';
import { DirectionStream } from './stream.js';
import { CONNECTION_OVERHEAD_BYTES } from './bounds.js';
import type { NetworkBounds, StreamSlots } from './bounds.js';
import type { ChunkMeta, StreamConsumer } from './stream.js';
import type { ConnContext } from './exchange.js';
import type { RequestStart, ConnKey, ConnOpen, ConnRole, Direction, L7Counters, L7Protocol, RequestRecord } from './types.js';

export function connKeyString(k: ConnKey): string {
  return `${k.pid}:${k.fd}:${k.connCookie}`;
}

const METHOD_PREFIXES = HTTP1_METHODS.map((m) => `${m} `);
const METHOD_PREFIX_BYTES = METHOD_PREFIXES.map((p) => Uint8Array.from(p, (c) => c.charCodeAt(0)));

function startsWithBytes(b: Uint8Array, prefix: Uint8Array): boolean {
  for (let i = 0; i < prefix.length; i++) if (b[i] !== prefix[i]) return false;
  return true;
}
/** Bytes buffered while deciding the protocol (the preface is 24; "OPTIONS " is 8). */
const DETECT_BYTES = H2_PREFACE.length;

export type Detection = 'http1' | 'http2' | 'unknown' | 'undecided';

/** Decide from the first bytes of the request direction. */
export function detectProtocol(head: Uint8Array): Detection {
  if (head.length === 0) return 'undecided';
  if (matchesPrefacePrefix(head)) return head.length >= DETECT_BYTES ? 'http2' : 'undecided';
  // Fast path: a complete method prefix is the common case; no string is built for it.
  for (const p of METHOD_PREFIX_BYTES) {
    if (head.length >= p.length && startsWithBytes(head, p)) return 'http1';
  }
  let text = '';
  for (let i = 0; i < Math.min(head.length, 8); i++) text += String.fromCharCode(head[i]!);
  let maybe = false;
  for (const p of METHOD_PREFIXES) {
    if (text.startsWith(p)) return 'http1';
    if (p.startsWith(text)) maybe = true;
  }
  return maybe ? 'undecided' : 'unknown';
}

export interface ConnectionOptions {
  keepQuery: boolean;
  onStart?: (s: RequestStart) => void;
  maxHeadBytes?: number;
  bounds: NetworkBounds;
  /** Stream slots shared by all connections of the engine. */
  slots: StreamSlots;
}

/** One connection: continuity per direction, detection, then the protocol's parser. */
export class Connection {
  readonly key: string;
  readonly ctx: ConnContext;
  protocol: L7Protocol | 'undecided' = 'undecided';
  /** Which direction carries requests, once known. */
  private requestDirection: Direction | undefined;
  private readonly streams: Record<Direction, DirectionStream> = {
    ingress: new DirectionStream(),
    egress: new DirectionStream(),
  };
  private detectBuf: Record<Direction, Uint8Array> = { ingress: new Uint8Array(0), egress: new Uint8Array(0) };
  private parser: Http1Connection | Http2Connection | undefined;

  constructor(
    open: ConnOpen,
    private readonly opts: ConnectionOptions,
    private readonly emit: (r: RequestRecord) => void,
    private readonly counters: L7Counters,
  ) {
    this.key = connKeyString(open);
    this.ctx = {
      pid: open.pid,
      fd: open.fd,
      connCookie: open.connCookie,
      role: open.role,
      keepQuery: opts.keepQuery,
      key: connKeyString(open),
      ...(opts.onStart && { onStart: opts.onStart }),
      ...(open.local && { local: open.local }),
      ...(open.remote && { remote: open.remote }),
    };
    if (open.role === 'server') this.requestDirection = 'ingress';
    else if (open.role === 'client') this.requestDirection = 'egress';
    // A connection already open when we started is mid-stream: detection would guess.
    if (open.preexisting) this.protocol = 'unknown';
  }

  get role(): ConnRole {
    return this.ctx.role;
  }

  /** Everything this connection retains, its fixed objects included (O(1)). */
  get bufferedBytes(): number {
    return CONNECTION_OVERHEAD_BYTES + (this.parser?.bufferedBytes ?? 0) + this.detectBuf.ingress.length + this.detectBuf.egress.length;
  }

  /** The engine's accounting: what bufferedBytes was when the engine last read it. */
  accountedBytes = 0;

  /**
   * Give up on this connection's L7 state to free memory (the engine's budget): requests in
   * progress are dropped and counted, never reported with a guessed outcome; later bytes are
   * ignored (only L4 is reported for it from now on).
   */
  discard(): void {
    this.parser?.discard();
    this.parser = undefined;
    this.protocol = 'unknown';
    this.detectBuf = { ingress: new Uint8Array(0), egress: new Uint8Array(0) };
  }

  /** One consumer per direction, made once: a closure per chunk was a measurable share of the hot path. */
  private readonly consumers: Record<Direction, StreamConsumer> = {
    ingress: { data: (bytes, m) => this.data('ingress', bytes, m), gap: (lost, m) => this.gap('ingress', lost, m) },
    egress: { data: (bytes, m) => this.data('egress', bytes, m), gap: (lost, m) => this.gap('egress', lost, m) },
  };

  /** Engine bookkeeping: when this connection last saw a chunk (chunk counter), for eviction. */
  lastUsed = 0;

  push(chunk: import('./types.js').DataChunk, meta: ChunkMeta): number {
    return this.streams[chunk.direction].push(chunk, meta, this.consumers[chunk.direction]);
  }

  close(meta: ChunkMeta): void {
    this.parser?.close(meta);
  }

  private data(dir: Direction, bytes: Uint8Array, meta: ChunkMeta): void {
    if (this.protocol === 'unknown') return;
    if (this.parser) {
      this.parser.data(dir, bytes, meta);
      return;
    }
    // Detection looks at the request direction; with the role unknown, whichever direction
    // shows a request start is the request direction.
    if (this.requestDirection !== undefined && dir !== this.requestDirection) return;
    const prev = this.detectBuf[dir];
    let joined = bytes;
    if (prev.length > 0) {
      joined = new Uint8Array(prev.length + bytes.length);
      joined.set(prev);
      joined.set(bytes, prev.length);
    }
    const d = detectProtocol(joined.subarray(0, Math.min(joined.length, DETECT_BYTES)));
    if (d === 'undecided') {
      // Copy: `bytes` may be a view the caller reuses.
      this.detectBuf[dir] = joined === bytes ? bytes.slice() : joined;
      return;
    }
    this.detectBuf = { ingress: new Uint8Array(0), egress: new Uint8Array(0) };
    if (d === 'unknown') {
      this.protocol = 'unknown';
      this.counters.unknownProtocolConnections++;
      return;
    }
    if (this.requestDirection === undefined) {
      this.requestDirection = dir;
      this.ctx.role = dir === 'ingress' ? 'server' : 'client';
    }
    this.protocol = d;
    const b = this.opts.bounds;
    this.parser =
      d === 'http1'
        ? new Http1Connection(this.ctx, dir, this.emit, this.counters, {
            maxPending: b.maxStreamsPerConnection,
            slots: this.opts.slots,
            ...(this.opts.maxHeadBytes !== undefined && { maxHeadBytes: this.opts.maxHeadBytes }),
          })
        : new Http2Connection(this.ctx, dir, this.emit, this.counters, {
            maxStreams: b.maxStreamsPerConnection,
            maxHeaderBlockBytes: b.maxHeaderBlockBytes,
            maxHpackTableBytes: b.maxHpackTableBytes,
            slots: this.opts.slots,
          });
    this.parser.data(dir, joined, meta);
  }

  private gap(dir: Direction, lost: number, meta: ChunkMeta): void {
    this.counters.gaps++;
    if (this.parser) this.parser.gap(dir, lost, meta);
    else if (this.protocol === 'undecided') {
      // Lost bytes before the protocol was known: the stream start is gone, so is detection.
      this.protocol = 'unknown';
      this.detectBuf = { ingress: new Uint8Array(0), egress: new Uint8Array(0) };
    }
  }
}
