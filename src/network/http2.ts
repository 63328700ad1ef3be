/**
 * HTTP/2 (RFC 9113) connection parser: client preface, frame reassembly, HEADERS + CONTINUATION
 * decoded through HPACK, stream multiplexing, DATA sizes, RST_STREAM, GOAWAY, SETTINGS header
 * table size. Bodies are counted, never kept.
 *
 * Loss: a gap inside a DATA payload of known length is skipped exactly. Any other gap loses frame
 * sync: the direction resyncs at the next syscall that starts with a plausible frame header and its
 * HPACK table is marked partly unknown; streams whose headers cannot be decoded for certain are
 * marked unknown and dropped (counted) instead of producing wrong headers.
 */
import { HpackDecoder, HpackError } from './hpack.js';
import { ByteBuf } from './byte-buf.js';
import { MAX_CONTINUATION_FRAMES, MAX_STREAM_HEADER_BYTES, STREAM_OVERHEAD_BYTES, StreamSlots } from './bounds.js';
import { announceStart, buildRecord, keepHeader, SECRET_HEADERS } from './exchange.js';
import type { ConnContext, KeptHeaders } from './exchange.js';
import type { ChunkMeta } from './stream.js';
import type { Direction, L7Counters, RequestErrorType, RequestRecord } from './types.js';

export const H2_PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';
const PREFACE_BYTES = Uint8Array.from(H2_PREFACE, (c) => c.charCodeAt(0));

const FRAME = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;
const FLAG_END_STREAM = 0x1;
const FLAG_ACK = 0x1;
const FLAG_END_HEADERS = 0x4;
const FLAG_PADDED = 0x8;
const FLAG_PRIORITY = 0x20;
const SETTINGS_HEADER_TABLE_SIZE = 0x1;

export interface Http2Options {
  /** Largest header block (HEADERS + CONTINUATIONs) kept for decoding; bigger = error. */
  maxHeaderBlockBytes?: number;
  /** Most concurrent streams tracked per connection; more are dropped (counted). */
  maxStreams?: number;
  /** Most HPACK table bytes held per direction, whatever the peer announces (bounds.ts). */
  maxHpackTableBytes?: number;
  /** Stream slots shared with the engine's other connections (the total cap). */
  slots?: StreamSlots;
}

/** Largest non-header, non-DATA frame payload kept (SETTINGS, GOAWAY, ...). */
const MAX_CONTROL_PAYLOAD_BYTES = 64 * 1024;

interface FrameHeader {
  length: number;
  type: number;
  flags: number;
  streamId: number;
}

interface H2Stream {
  id: number;
  unknown: boolean;
  method?: string;
  path?: string;
  authority?: string;
  requestHeaders: KeptHeaders;
  responseHeaders: KeptHeaders;
  start: ChunkMeta;
  status?: number;
  responseTid?: number;
  requestBodyBytes: number;
  responseBodyBytes: number;
  /** Kept string characters this stream holds (accounted in the connection's bufferedBytes). */
  stringBytes: number;
}

/** A header block in progress: HEADERS / PUSH_PROMISE waiting for its CONTINUATIONs. */
interface HeaderBlock {
  streamId: number;
  kind: 'headers' | 'push';
  bytes: ByteBuf;
  /** Frames so far (HEADERS + CONTINUATIONs), bounded by MAX_CONTINUATION_FRAMES. */
  frames: number;
  endStream: boolean;
}

/** One direction's framing state. */
class FrameReader {
  prefaceLeft: number;
  /** 'lost' = waiting for a syscall that starts with a plausible frame header. */
  mode: 'frames' | 'lost' = 'frames';
  header = new Uint8Array(9);
  headerFill = 0;
  frame: FrameHeader | undefined;
  payloadLeft = 0;
  /** Payload bytes kept for non-DATA frames (bounded); DATA payload is only counted. */
  payload = new ByteBuf();
  dataPadLength = -1;
  /** A header block in progress: waiting for CONTINUATION on this stream. */
  block: HeaderBlock | undefined;
  hpack: HpackDecoder;

  constructor(expectPreface: boolean, capTableBytes: number | undefined, onCap: () => void) {
    this.prefaceLeft = expectPreface ? PREFACE_BYTES.length : 0;
    this.hpack = new HpackDecoder({
      redactNames: SECRET_HEADERS,
      onCap,
      ...(capTableBytes !== undefined && { capTableBytes }),
    });
  }

  get retainedBytes(): number {
    return this.payload.retainedBytes + (this.block?.bytes.retainedBytes ?? 0) + this.hpack.retainedBytes;
  }
}

export class Http2Connection {
  private readonly readers: Record<Direction, FrameReader>;
  private readonly streams = new Map<number, H2Stream>();
  private readonly maxHeaderBlockBytes: number;
  private readonly maxStreams: number;
  private readonly responseDirection: Direction;
  private readonly slots: StreamSlots;
  /** Strings the tracked streams hold (path, authority, kept headers), for the budget. */
  private streamStringBytes = 0;

  constructor(
    private readonly ctx: ConnContext,
    /** Direction carrying requests (client → server): 'ingress' for a server, 'egress' for a client. */
    readonly requestDirection: Direction,
    private readonly emit: (r: RequestRecord) => void,
    private readonly counters: L7Counters,
    opts: Http2Options = {},
  ) {
    this.responseDirection = requestDirection === 'ingress' ? 'egress' : 'ingress';
    const onCap = (): void => {
      this.counters.hpackTableCapped++;
    };
    this.readers = {
      [requestDirection]: new FrameReader(true, opts.maxHpackTableBytes, onCap),
      [this.responseDirection]: new FrameReader(false, opts.maxHpackTableBytes, onCap),
    } as Record<Direction, FrameReader>;
    this.maxHeaderBlockBytes = opts.maxHeaderBlockBytes ?? 64 * 1024;
    this.maxStreams = opts.maxStreams ?? 256;
    this.slots = opts.slots ?? new StreamSlots(Number.POSITIVE_INFINITY);
  }

  get openStreams(): number {
    return this.streams.size;
  }

  /**
   * Everything this connection retains beyond its fixed objects: reassembly buffers, header
   * blocks in progress, both HPACK tables, and the tracked streams. O(1): the engine reads it after
   * every chunk.
   */
  get bufferedBytes(): number {
    return this.readers.ingress.retainedBytes + this.readers.egress.retainedBytes + this.streams.size * STREAM_OVERHEAD_BYTES + this.streamStringBytes;
  }

  /** Drop all state without reporting (the engine's budget shed it); tracked streams are counted dropped. */
  discard(): void {
    this.counters.droppedRequests += this.streams.size;
    this.slots.give(this.streams.size);
    this.streams.clear();
    this.streamStringBytes = 0;
    for (const r of Object.values(this.readers)) {
      this.loseSync(r);
      r.hpack.markUnknown();
    }
  }

  data(dir: Direction, bytes: Uint8Array, meta: ChunkMeta): void {
    const r = this.readers[dir];
    let pos = 0;
    if (r.mode === 'lost') {
      if (!plausibleFrameHeader(bytes)) return;
      r.mode = 'frames';
    }
    while (r.prefaceLeft > 0 && pos < bytes.length) {
      const at = PREFACE_BYTES.length - r.prefaceLeft;
      if (bytes[pos] !== PREFACE_BYTES[at]) {
        this.protocolError(r, 'bad client preface');
        return;
      }
      r.prefaceLeft--;
      pos++;
    }
    while (pos < bytes.length && r.mode === 'frames') {
      if (!r.frame) {
        const take = Math.min(9 - r.headerFill, bytes.length - pos);
        r.header.set(bytes.subarray(pos, pos + take), r.headerFill);
        r.headerFill += take;
        pos += take;
        if (r.headerFill < 9) return;
        r.headerFill = 0;
        const h = r.header;
        r.frame = {
          length: (h[0]! << 16) | (h[1]! << 8) | h[2]!,
          type: h[3]!,
          flags: h[4]!,
          streamId: ((h[5]! & 0x7f) << 24) | (h[6]! << 16) | (h[7]! << 8) | h[8]!,
        };
        r.payloadLeft = r.frame.length;
        r.payload.reset();
        r.dataPadLength = -1;
        if (r.block && r.frame.type !== FRAME.CONTINUATION) {
          this.protocolError(r, 'expected CONTINUATION');
          return;
        }
        if (r.frame.type !== FRAME.DATA && r.frame.length > this.payloadLimit(r.frame.type)) {
          // Refused at the header: a frame announced too large is never buffered at all.
          if (isHeaderFrame(r.frame.type)) this.counters.headerBlocksCapped++;
          this.protocolError(r, `frame type ${r.frame.type} payload over ${this.payloadLimit(r.frame.type)} bytes`);
          return;
        }
        if (r.payloadLeft === 0) this.frameDone(dir, r, meta);
        continue;
      }
      const take = Math.min(r.payloadLeft, bytes.length - pos);
      const piece = bytes.subarray(pos, pos + take);
      if (r.frame.type === FRAME.DATA) {
        if (r.dataPadLength < 0 && r.frame.flags & FLAG_PADDED && take > 0 && r.payloadLeft === r.frame.length) {
          r.dataPadLength = piece[0]!;
        }
      } else {
        r.payload.append(piece);
      }
      r.payloadLeft -= take;
      pos += take;
      if (r.payloadLeft === 0) this.frameDone(dir, r, meta);
    }
  }

  gap(dir: Direction, lostBytes: number, meta: ChunkMeta): void {
    const r = this.readers[dir];
    if (r.mode === 'frames' && r.frame?.type === FRAME.DATA && lostBytes <= r.payloadLeft) {
      // Lost bytes are DATA payload: framing and HPACK state are intact.
      r.payloadLeft -= lostBytes;
      if (r.payloadLeft === 0) this.frameDone(dir, r, meta);
      return;
    }
    this.loseSync(r);
  }

  close(meta: ChunkMeta): void {
    for (const s of [...this.streams.values()]) this.finish(s, meta, 'connection_closed');
  }

  private loseSync(r: FrameReader): void {
    r.mode = 'lost';
    r.frame = undefined;
    r.headerFill = 0;
    r.payload.reset();
    r.prefaceLeft = 0;
    if (r.block) {
      const s = this.streams.get(r.block.streamId);
      if (s) s.unknown = true;
      r.block = undefined;
    }
    r.hpack.markUnknown();
  }

  private payloadLimit(type: number): number {
    return isHeaderFrame(type) ? this.maxHeaderBlockBytes : MAX_CONTROL_PAYLOAD_BYTES;
  }

  private protocolError(r: FrameReader, _reason: string): void {
    this.counters.parseErrors++;
    this.loseSync(r);
  }

  private frameDone(dir: Direction, r: FrameReader, meta: ChunkMeta): void {
    const f = r.frame!;
    r.frame = undefined;
    const payload = r.payload.view();
    r.payload.reset(); // the view keeps the bytes alive for this call only
    switch (f.type) {
      case FRAME.DATA: {
        const s = this.streams.get(f.streamId);
        if (s) {
          const pad = r.dataPadLength >= 0 ? r.dataPadLength + 1 : 0;
          const body = Math.max(0, f.length - pad);
          if (dir === this.requestDirection) s.requestBodyBytes += body;
          else s.responseBodyBytes += body;
          if (f.flags & FLAG_END_STREAM && dir === this.responseDirection) this.finish(s, meta);
        }
        return;
      }
      case FRAME.HEADERS:
      case FRAME.PUSH_PROMISE: {
        let off = 0;
        let pad = 0;
        if (f.flags & FLAG_PADDED) {
          pad = payload[0] ?? 0;
          off = 1;
        }
        if (f.type === FRAME.HEADERS && f.flags & FLAG_PRIORITY) off += 5;
        if (f.type === FRAME.PUSH_PROMISE) off += 4;
        if (off + pad > payload.length) {
          this.protocolError(r, 'padding longer than the frame');
          return;
        }
        const fragment = payload.subarray(off, payload.length - pad);
        const block = {
          streamId: f.streamId,
          kind: f.type === FRAME.HEADERS ? ('headers' as const) : ('push' as const),
          bytes: new ByteBuf(),
          frames: 1,
          endStream: (f.flags & FLAG_END_STREAM) !== 0,
        };
        // The common case, a whole block in one frame, is decoded straight from the payload.
        if (f.flags & FLAG_END_HEADERS) this.blockDone(dir, r, meta, block, fragment);
        else {
          block.bytes.append(fragment);
          r.block = block;
        }
        return;
      }
      case FRAME.CONTINUATION: {
        if (!r.block || r.block.streamId !== f.streamId) {
          this.protocolError(r, 'CONTINUATION without HEADERS');
          return;
        }
        // Empty CONTINUATIONs cost nothing to send: they are counted as frames, never kept.
        if (++r.block.frames > MAX_CONTINUATION_FRAMES + 1 || r.block.bytes.length + payload.length > this.maxHeaderBlockBytes) {
          this.counters.headerBlocksCapped++;
          this.protocolError(r, 'header block too large or too many CONTINUATION frames');
          return;
        }
        r.block.bytes.append(payload);
        if (f.flags & FLAG_END_HEADERS) {
          const block = r.block;
          r.block = undefined;
          this.blockDone(dir, r, meta, block, block.bytes.view());
        }
        return;
      }
      case FRAME.RST_STREAM: {
        const s = this.streams.get(f.streamId);
        if (s) this.finish(s, meta, 'stream_reset');
        return;
      }
      case FRAME.SETTINGS: {
        if (f.flags & FLAG_ACK || f.streamId !== 0) return;
        for (let i = 0; i + 6 <= payload.length; i += 6) {
          const id = (payload[i]! << 8) | payload[i + 1]!;
          const value = ((payload[i + 2]! << 24) >>> 0) + ((payload[i + 3]! << 16) | (payload[i + 4]! << 8) | payload[i + 5]!);
          // The sender's SETTINGS bound the table the *other* direction's encoder may use.
          if (id === SETTINGS_HEADER_TABLE_SIZE) this.readers[other(dir)].hpack.setSettingsMaxTableBytes(value);
        }
        return;
      }
      case FRAME.GOAWAY: {
        // Last-stream-id names the highest stream *the sender* processed among those its peer
        // opened: only the server's GOAWAY can abandon requests (a client's GOAWAY, sent on a
        // normal session close, is about server-pushed streams).
        if (payload.length < 4 || dir !== this.responseDirection) return;
        const last = ((payload[0]! & 0x7f) << 24) | (payload[1]! << 16) | (payload[2]! << 8) | payload[3]!;
        for (const s of [...this.streams.values()]) {
          if (s.id > last && s.status === undefined) this.finish(s, meta, 'goaway');
        }
        return;
      }
      default:
        return; // PRIORITY, PING, WINDOW_UPDATE and unknown types carry nothing we report
    }
  }

  private blockDone(dir: Direction, r: FrameReader, meta: ChunkMeta, block: HeaderBlock, bytes: Uint8Array): void {
    let fields: Array<[string, string]> = [];
    let complete: boolean;
    try {
      const d = r.hpack.decode(bytes);
      fields = d.fields;
      complete = d.complete;
    } catch (e) {
      if (!(e instanceof HpackError)) throw e;
      this.counters.parseErrors++;
      r.hpack.markUnknown();
      complete = false;
    }
    if (block.kind === 'push') return; // server push: kept in HPACK sync, not reported
    let s = this.streams.get(block.streamId);
    if (dir === this.requestDirection) {
      if (s) return; // request trailers: nothing we report
      if (this.streams.size >= this.maxStreams || !this.slots.take()) {
        this.counters.streamsCapped++;
        this.counters.droppedRequests++;
        return;
      }
      s = {
        id: block.streamId,
        unknown: !complete,
        requestHeaders: new Map(),
        responseHeaders: new Map(),
        start: meta,
        requestBodyBytes: 0,
        responseBodyBytes: 0,
        stringBytes: 0,
      };
      for (const [name, value] of fields) {
        if (name === ':method') s.method = value;
        else if (name === ':path') s.path = value;
        else if (name === ':authority') s.authority = value;
        else keepHeader(s.requestHeaders, name, value);
      }
      if (s.method === undefined || s.path === undefined) s.unknown = true;
      s.stringBytes = stringBytesOf(s);
      if (s.stringBytes > MAX_STREAM_HEADER_BYTES) {
        // Too much to hold per stream: tracked (so its response is not mistaken) but unknown.
        this.counters.headerBlocksCapped++;
        s.unknown = true;
        s.requestHeaders.clear();
        delete s.path;
        delete s.authority;
        s.stringBytes = 0;
      }
      this.streamStringBytes += s.stringBytes;
      this.streams.set(s.id, s);
      if (!s.unknown) announceStart(this.ctx, `${this.ctx.key}#s${s.id}`, meta, s.requestHeaders);
      return;
    }
    if (!s) return; // response to a stream we never saw start (joined mid-connection)
    if (!complete) s.unknown = true;
    let status: number | undefined;
    for (const [name, value] of fields) {
      if (name === ':status') status = Number(value);
      else keepHeader(s.responseHeaders, name, value);
    }
    const grown = stringBytesOf(s) - s.stringBytes;
    this.streamStringBytes += grown;
    s.stringBytes += grown;
    if (s.stringBytes > MAX_STREAM_HEADER_BYTES) {
      this.counters.headerBlocksCapped++;
      s.unknown = true;
      s.responseHeaders.clear();
    }
    if (status !== undefined && status >= 100 && status < 200) return; // interim response
    if (s.status === undefined && status !== undefined) {
      s.status = status;
      s.responseTid = meta.tid;
    }
    if (block.endStream) this.finish(s, meta);
  }

  private finish(s: H2Stream, meta: ChunkMeta, error?: RequestErrorType): void {
    if (this.streams.delete(s.id)) {
      this.slots.give();
      this.streamStringBytes -= s.stringBytes;
    }
    if (s.unknown || s.method === undefined || s.path === undefined) {
      this.counters.droppedRequests++;
      return;
    }
    const rec = buildRecord(this.ctx, {
      protocol: 'http2',
      httpVersion: '2',
      method: s.method,
      target: s.path,
      requestHeaders: s.requestHeaders,
      responseHeaders: s.responseHeaders,
      start: s.start,
      end: meta,
      requestBodyBytes: s.requestBodyBytes,
      responseBodyBytes: s.responseBodyBytes,
      streamId: s.id,
      requestId: `${this.ctx.key}#s${s.id}`,
      ...(s.authority !== undefined && { authority: s.authority }),
      ...(s.status !== undefined && { status: s.status }),
      ...(s.responseTid !== undefined && { responseTid: s.responseTid }),
      ...(error !== undefined && { errorType: error }),
    });
    this.counters.records++;
    this.emit(rec);
  }
}

function other(dir: Direction): Direction {
  return dir === 'ingress' ? 'egress' : 'ingress';
}

function isHeaderFrame(type: number): boolean {
  return type === FRAME.HEADERS || type === FRAME.CONTINUATION || type === FRAME.PUSH_PROMISE;
}

/** Characters a stream's kept strings hold (one byte each: header bytes are decoded as latin1). */
function stringBytesOf(s: H2Stream): number {
  let n = (s.method?.length ?? 0) + (s.path?.length ?? 0) + (s.authority?.length ?? 0);
  for (const [k, v] of s.requestHeaders) n += k.length + v.length;
  for (const [k, v] of s.responseHeaders) n += k.length + v.length;
  return n;
}

/**
 * Does a syscall's data start with something that looks like a frame header? Used to resync after
 * lost bytes: writers usually emit whole frames per syscall.
 */
export function plausibleFrameHeader(b: Uint8Array): boolean {
  if (b.length < 9) return false;
  const length = (b[0]! << 16) | (b[1]! << 8) | b[2]!;
  const type = b[3]!;
  const streamId = ((b[5]! & 0x7f) << 24) | (b[6]! << 16) | (b[7]! << 8) | b[8]!;
  if (b[5]! & 0x80 || type > FRAME.CONTINUATION || length > 1 << 24) return false;
  const connectionLevel = type === FRAME.SETTINGS || type === FRAME.PING || type === FRAME.GOAWAY;
  if (connectionLevel !== (streamId === 0) && type !== FRAME.WINDOW_UPDATE) return false;
  // A CONTINUATION cannot start a resync: the HEADERS it belongs to was lost.
  return type !== FRAME.CONTINUATION;
}

/** True when `bytes` is (a prefix of) the client preface: used for protocol detection. */
export function matchesPrefacePrefix(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.length, PREFACE_BYTES.length);
  for (let i = 0; i < n; i++) if (bytes[i] !== PREFACE_BYTES[i]) return false;
  return true;
}
