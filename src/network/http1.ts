/**
 * Incremental HTTP/1.x parser, one instance per direction, plus the pairing of a connection's
 * requests and responses (FIFO, so pipelined responses pair in order).
 *
 * Bytes arrive as syscall-sized pieces in any split (down to 1 byte) with gaps reported by
 * stream.ts. Memory is bounded: a header section over `maxHeadBytes` is a parse error, after which
 * the parser discards bytes until a plausible start line (resync). Bodies are counted, never kept.
 */
import { announceStart, keepHeader, latin1, buildRecord, KEPT_HEADERS } from './exchange.js';
import type { ConnContext, KeptHeaders } from './exchange.js';
import { STREAM_OVERHEAD_BYTES, StreamSlots } from './bounds.js';
import type { ChunkMeta } from './stream.js';
import type { Direction, L7Counters, RequestErrorType, RequestRecord } from './types.js';

export interface Http1Head {
  method?: string;
  target?: string;
  status?: number;
  version: string;
  headers: KeptHeaders;
  /**
   * Characters of the header section this head came from. Kept strings are slices of it, which V8
   * may keep alive whole, so a queued request is accounted at this size.
   */
  textBytes: number;
}

export interface Http1Events {
  head(head: Http1Head, start: ChunkMeta): void;
  /** The message after `head` completed (or was abandoned: `error`). */
  end(bodyBytes: number, end: ChunkMeta, error?: RequestErrorType): void;
  parseError(reason: string): void;
}

export interface Http1ParserOptions {
  /** Largest header section (start line + headers) accepted; a bigger one is a parse error. */
  maxHeadBytes?: number;
  /** For responses: the method of the request this response answers (HEAD/CONNECT have no body). */
  requestMethod?: () => string | undefined;
}

type State = 'seek' | 'head' | 'body-length' | 'chunk-size' | 'chunk-data' | 'chunk-crlf' | 'trailers' | 'body-eof' | 'done';

const REQUEST_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) HTTP\/(1\.[01])$/;
const STATUS_LINE = /^HTTP\/(1\.[01]) (\d{3})(?: .*)?$/;
const REQUEST_START = /(?:^|\n)[A-Z][A-Z-]{1,15} \S+ HTTP\/1\.[01]\r?\n/;
const RESPONSE_START = /(?:^|\n)HTTP\/1\.[01] \d{3}[^\r\n]*\r?\n/;
const MAX_LINE_BYTES = 8 * 1024;
const EMPTY = new Uint8Array(0);
const MAX_HEADER_COUNT = 256;

/** Known request methods: used to detect HTTP/1 on a new connection. */
export const HTTP1_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE'] as const;

export class Http1Parser {
  private state: State = 'head';
  private pending: Uint8Array = EMPTY;
  private remaining = 0;
  private bodyBytes = 0;
  private msgStart: ChunkMeta | undefined;
  private inMessage = false;
  private readonly maxHeadBytes: number;
  parseErrors = 0;

  constructor(
    private readonly kind: 'request' | 'response',
    private readonly events: Http1Events,
    private readonly opts: Http1ParserOptions = {},
  ) {
    this.maxHeadBytes = opts.maxHeadBytes ?? 32 * 1024;
  }

  /** Bytes currently held (bounded by maxHeadBytes / MAX_LINE_BYTES). */
  get bufferedBytes(): number {
    return this.pending.length;
  }

  get stopped(): boolean {
    return this.state === 'done';
  }

  /** Stop parsing this direction for good (the connection was upgraded). */
  stop(): void {
    this.state = 'done';
    this.pending = EMPTY;
  }

  /** True while between messages with nothing buffered (a gap here loses whole messages). */
  get idle(): boolean {
    return !this.inMessage && this.pending.length === 0 && this.state === 'head';
  }

  data(bytes: Uint8Array, meta: ChunkMeta): void {
    if (this.state === 'done' || bytes.length === 0) return;
    let buf = bytes;
    if (this.pending.length > 0) {
      buf = new Uint8Array(this.pending.length + bytes.length);
      buf.set(this.pending);
      buf.set(bytes, this.pending.length);
      this.pending = EMPTY;
    }
    let pos = 0;
    while (pos < buf.length) {
      switch (this.state as State) {
        case 'done':
          return;
        case 'seek': {
          const found = this.seek(buf, pos);
          if (found < 0) {
            // Keep the unfinished last line (bounded) so a start line split across reads is found.
            const nl = buf.lastIndexOf(0x0a);
            const tailStart = Math.max(nl + 1, pos, buf.length - MAX_LINE_BYTES);
            this.pending = buf.slice(tailStart);
            return;
          }
          pos = found;
          this.state = 'head';
          break;
        }
        case 'head': {
          if (!this.inMessage) {
            // RFC 9112 2.2: ignore empty lines before a start line.
            while (pos < buf.length && (buf[pos] === 0x0d || buf[pos] === 0x0a)) pos++;
            if (pos >= buf.length) return;
            this.inMessage = true;
            this.msgStart = meta;
          }
          const end = findHeadEnd(buf, pos);
          if (end < 0) {
            // Reject a bad start line as soon as it is visible: junk must not sit in the buffer
            // (up to maxHeadBytes) waiting for a blank line that never comes.
            if (!this.plausibleStart(buf, pos)) {
              this.fail('malformed start line');
              break;
            }
            if (buf.length - pos > this.maxHeadBytes) {
              this.fail(`header section longer than ${this.maxHeadBytes} bytes`);
              pos = buf.length;
              break;
            }
            this.pending = buf.slice(pos);
            return;
          }
          if (end - pos > this.maxHeadBytes) {
            this.fail(`header section longer than ${this.maxHeadBytes} bytes`);
            pos = end;
            break;
          }
          const ok = this.onHead(latin1(buf, pos, end), meta);
          pos = end;
          if (!ok) this.fail('malformed start line or header');
          break;
        }
        case 'body-length':
        case 'chunk-data': {
          const take = Math.min(this.remaining, buf.length - pos);
          this.remaining -= take;
          this.bodyBytes += take;
          pos += take;
          if (this.remaining === 0) {
            if (this.state === 'body-length') this.finishMessage(meta);
            else {
              this.state = 'chunk-crlf';
              this.remaining = 2;
            }
          }
          break;
        }
        case 'chunk-crlf': {
          const b = buf[pos]!;
          if (this.remaining === 2 && b === 0x0d) {
            this.remaining = 1;
            pos++;
          } else if (b === 0x0a) {
            pos++;
            this.state = 'chunk-size';
          } else {
            this.fail('missing CRLF after chunk data');
          }
          break;
        }
        case 'chunk-size':
        case 'trailers': {
          const nl = buf.indexOf(0x0a, pos);
          if (nl < 0) {
            if (buf.length - pos > MAX_LINE_BYTES) this.fail('chunk-size or trailer line too long');
            else this.pending = buf.slice(pos);
            return;
          }
          const line = latin1(buf, pos, nl).replace(/\r$/, '');
          pos = nl + 1;
          if (this.state === 'trailers') {
            if (line === '') this.finishMessage(meta);
            break;
          }
          const m = /^([0-9a-fA-F]{1,12})[ \t]*(?:;.*)?$/.exec(line);
          if (!m) {
            this.fail('malformed chunk size');
            break;
          }
          const size = parseInt(m[1]!, 16);
          if (size === 0) this.state = 'trailers';
          else {
            this.state = 'chunk-data';
            this.remaining = size;
          }
          break;
        }
        case 'body-eof':
          this.bodyBytes += buf.length - pos;
          pos = buf.length;
          break;
      }
    }
  }

  /**
   * `lostBytes` are missing. Body bytes of known length can be skipped exactly; anything else
   * loses message framing: the current message ends as `data_lost` and the parser resyncs.
   * Returns 'skipped' when framing survived, 'idle' when no message was in progress, else 'lost'.
   */
  gap(lostBytes: number, meta: ChunkMeta): 'skipped' | 'idle' | 'lost' {
    if (this.state === 'done') return 'skipped';
    let lost = lostBytes;
    if (this.state === 'body-eof') {
      this.bodyBytes += Number.isFinite(lost) ? lost : 0;
      return Number.isFinite(lost) ? 'skipped' : this.abandon(meta);
    }
    if (this.state === 'body-length' && lost <= this.remaining) {
      this.remaining -= lost;
      this.bodyBytes += lost;
      if (this.remaining === 0) this.finishMessage(meta);
      return 'skipped';
    }
    if (this.state === 'chunk-data' && lost <= this.remaining + 2) {
      const body = Math.min(lost, this.remaining);
      this.bodyBytes += body;
      this.remaining -= body;
      lost -= body;
      if (this.remaining > 0) return 'skipped';
      this.state = 'chunk-crlf';
      this.remaining = 2;
    }
    if (this.state === 'chunk-crlf' && lost <= this.remaining) {
      this.remaining -= lost;
      if (this.remaining === 0) this.state = 'chunk-size';
      return 'skipped';
    }
    const wasIdle = this.idle || (this.state === 'seek' && !this.inMessage);
    if (this.state === 'head' && this.inMessage && !this.msgHeadSeen) {
      // A header section cut short (capture limit or loss): it cannot be parsed.
      this.parseErrors++;
      this.events.parseError('header section cut off');
    }
    this.abandon(meta);
    return wasIdle ? 'idle' : 'lost';
  }

  /** The connection closed: a body delimited by close ends here; anything else is abandoned. */
  finish(meta: ChunkMeta): void {
    if (this.state === 'body-eof') this.finishMessage(meta);
    else if (this.inMessage && this.msgHeadSeen) this.events.end(this.bodyBytes, meta, 'connection_closed');
    this.reset();
  }

  private msgHeadSeen = false;

  private abandon(meta: ChunkMeta): 'lost' {
    if (this.msgHeadSeen) this.events.end(this.bodyBytes, meta, 'data_lost');
    this.reset();
    this.state = 'seek';
    return 'lost';
  }

  private reset(): void {
    this.pending = EMPTY;
    this.inMessage = false;
    this.msgHeadSeen = false;
    this.msgStart = undefined;
    this.bodyBytes = 0;
    this.remaining = 0;
    if (this.state !== 'done') this.state = 'head';
  }

  private fail(reason: string): void {
    this.parseErrors++;
    this.events.parseError(reason);
    if (this.msgHeadSeen) this.events.end(this.bodyBytes, this.msgStart!, 'parse_error');
    this.reset();
    this.state = 'seek';
  }

  private seek(buf: Uint8Array, pos: number): number {
    // Scan a bounded window at a time; start lines are short.
    const text = latin1(buf, pos);
    const m = (this.kind === 'request' ? REQUEST_START : RESPONSE_START).exec(text);
    if (!m) return -1;
    return pos + m.index + (m[0].startsWith('\n') ? 1 : 0);
  }

  /**
   * Can the bytes from `pos` (no complete header section yet) still begin a valid message? Checks
   * the first line once it is complete, and before that its first bytes (a method token, or
   * "HTTP/"), so binary junk fails at once instead of being buffered.
   */
  private plausibleStart(buf: Uint8Array, pos: number): boolean {
    const nl = buf.indexOf(0x0a, pos);
    if (nl >= 0) {
      const line = latin1(buf, pos, nl > pos && buf[nl - 1] === 0x0d ? nl - 1 : nl);
      return (this.kind === 'request' ? REQUEST_LINE : STATUS_LINE).test(line);
    }
    const n = Math.min(buf.length - pos, 16);
    if (this.kind === 'response') {
      for (let i = 0; i < Math.min(n, 5); i++) if (buf[pos + i] !== HTTP_SLASH[i]) return false;
      return buf.length - pos <= MAX_LINE_BYTES;
    }
    for (let i = 0; i < n; i++) {
      const b = buf[pos + i]!;
      if (b === 0x20) return i > 0 && buf.length - pos <= MAX_LINE_BYTES;
      if (!isTokenByte(b)) return false;
    }
    return n < 16; // a method longer than 15 bytes is not one
  }

  private finishMessage(meta: ChunkMeta): void {
    const body = this.bodyBytes;
    this.reset();
    this.events.end(body, meta);
  }

  /** Parse a header section; set up body state. Returns false when malformed. */
  private onHead(text: string, meta: ChunkMeta): boolean {
    // Walk lines with indexOf rather than split(): one string for the head, slices only for the
    // start line and the few headers kept (KEPT_HEADER_LENGTHS filters names before lowercasing).
    let lineEnd = text.indexOf('\n');
    if (lineEnd < 0) lineEnd = text.length;
    const startLine = text.slice(0, lineEnd > 0 && text.charCodeAt(lineEnd - 1) === 13 ? lineEnd - 1 : lineEnd);
    const head: Http1Head = { version: '1.1', headers: new Map(), textBytes: text.length };
    if (this.kind === 'request') {
      const m = REQUEST_LINE.exec(startLine);
      if (!m) return false;
      head.method = m[1]!;
      head.target = m[2]!;
      head.version = m[3]!;
    } else {
      const m = STATUS_LINE.exec(startLine);
      if (!m) return false;
      head.version = m[1]!;
      head.status = Number(m[2]);
    }
    let contentLength: number | undefined;
    let count = 0;
    for (let pos = lineEnd + 1; pos < text.length;) {
      let end = text.indexOf('\n', pos);
      if (end < 0) end = text.length;
      const next = end + 1;
      if (end > pos && text.charCodeAt(end - 1) === 13) end--;
      if (end === pos) break; // the blank line ending the section
      if (++count > MAX_HEADER_COUNT) return false;
      const colon = text.indexOf(':', pos);
      if (colon <= pos || colon > end) return false;
      for (let i = pos; i < colon; i++) if (!isTokenByte(text.charCodeAt(i))) return false;
      if (KEPT_HEADER_LENGTHS.has(colon - pos)) {
        const lower = text.slice(pos, colon).toLowerCase();
        if (KEPT_HEADERS.has(lower)) {
          const value = text.slice(colon + 1, end).trim();
          if (lower === 'content-length') {
            if (!/^\d{1,15}$/.test(value)) return false;
            const n = Number(value);
            if (contentLength !== undefined && contentLength !== n) return false;
            contentLength = n;
          }
          keepHeader(head.headers, lower, value);
        }
      }
      pos = next;
    }
    const status = head.status;
    if (status !== undefined && status >= 100 && status < 200 && status !== 101) {
      // Interim response (100 Continue, 103 Early Hints): no body, the final response follows.
      this.reset();
      return true;
    }
    this.msgHeadSeen = true;
    this.events.head(head, this.msgStart ?? meta);
    const te = head.headers.get('transfer-encoding');
    const chunked = te !== undefined && /(?:^|,)\s*chunked\s*$/i.test(te);
    if (this.kind === 'response') {
      const reqMethod = this.opts.requestMethod?.();
      if (status === 101 || (reqMethod === 'CONNECT' && status! >= 200 && status! < 300)) {
        // The connection now speaks another protocol (or is a tunnel): stop after this message.
        this.finishMessage(meta);
        this.stop();
        return true;
      }
      if (reqMethod === 'HEAD' || status === 204 || status === 304) {
        this.finishMessage(meta);
        return true;
      }
    }
    if (chunked) this.state = 'chunk-size';
    else if (contentLength !== undefined && contentLength > 0) {
      this.state = 'body-length';
      this.remaining = contentLength;
    } else if (contentLength === undefined && this.kind === 'response') this.state = 'body-eof';
    else this.finishMessage(meta);
    return true;
  }
}

const HTTP_SLASH = [0x48, 0x54, 0x54, 0x50, 0x2f];
/** Lengths of the kept header names: most headers are dropped without building their name. */
const KEPT_HEADER_LENGTHS: ReadonlySet<number> = new Set([...KEPT_HEADERS].map((h) => h.length));

/** RFC 9110 tchar. */
function isTokenByte(b: number): boolean {
  return (
    (b >= 0x30 && b <= 0x39) ||
    (b >= 0x41 && b <= 0x5a) ||
    (b >= 0x61 && b <= 0x7a) ||
    b === 0x21 ||
    (b >= 0x23 && b <= 0x27) ||
    b === 0x2a ||
    b === 0x2b ||
    b === 0x2d ||
    b === 0x2e ||
    b === 0x5e ||
    b === 0x5f ||
    b === 0x60 ||
    b === 0x7c ||
    b === 0x7e
  );
}

/** Index just past the blank line ending a header section, or -1. Accepts bare LF line ends. */
function findHeadEnd(buf: Uint8Array, from: number): number {
  for (let i = from; i < buf.length; i++) {
    if (buf[i] !== 0x0a) continue;
    if (buf[i + 1] === 0x0a) return i + 2;
    if (buf[i + 1] === 0x0d && buf[i + 2] === 0x0a) return i + 3;
  }
  return -1;
}

interface PendingRequest {
  head?: Http1Head;
  start?: ChunkMeta;
  requestBodyBytes: number;
  requestError?: RequestErrorType;
  /** Placeholder for request bytes lost in a gap: its response is discarded, never mispaired. */
  lost: boolean;
  responseHead?: Http1Head;
  responseTid?: number;
  requestId?: string;
  /** A placeholder for requests not tracked (caps): how many responses it still stands for. */
  untracked?: number;
  /** True when this entry holds a stream slot (given back when it leaves the queue). */
  slot?: boolean;
}

export interface Http1ConnectionOptions {
  maxHeadBytes?: number;
  /** Most requests waiting for a response on this connection (pipelining); more are untracked. */
  maxPending?: number;
  /** Stream slots shared with the engine's other connections (the total cap). */
  slots?: StreamSlots;
}

/** One HTTP/1.x connection: a parser per direction and FIFO pairing of requests with responses. */
export class Http1Connection {
  private readonly req: Http1Parser;
  private readonly res: Http1Parser;
  private readonly queue: PendingRequest[] = [];
  /** The request currently being read (its head seen, its body maybe not yet). */
  private reading: PendingRequest | undefined;
  private nextRequestNo = 0;
  private readonly maxPending: number;
  private readonly slots: StreamSlots;
  /** Bytes the queued requests retain (their header text and objects), for the budget. */
  private queueBytes = 0;

  constructor(
    private readonly ctx: ConnContext,
    /** Direction carrying requests: 'ingress' for a server, 'egress' for a client. */
    readonly requestDirection: Direction,
    private readonly emit: (r: RequestRecord) => void,
    private readonly counters: L7Counters,
    opts: Http1ConnectionOptions = {},
  ) {
    const maxHeadBytes = opts.maxHeadBytes;
    this.maxPending = opts.maxPending ?? 128;
    this.slots = opts.slots ?? new StreamSlots(Number.POSITIVE_INFINITY);
    const parseError = (): void => {
      this.counters.parseErrors++;
    };
    this.req = new Http1Parser(
      'request',
      {
        head: (head, start) => {
          const requestId = `${this.ctx.key}#${this.nextRequestNo++}`;
          if (this.queue.length >= this.maxPending || !this.slots.take()) {
            // Untracked, but its place in the FIFO is held: its response must not pair with another.
            this.counters.streamsCapped++;
            this.reading = undefined;
            this.holdPlace();
            return;
          }
          const p: PendingRequest = { head, start, requestBodyBytes: 0, lost: false, requestId, slot: true };
          this.reading = p;
          this.queue.push(p);
          this.queueBytes += head.textBytes + STREAM_OVERHEAD_BYTES;
          announceStart(this.ctx, requestId, start, head.headers);
        },
        end: (bodyBytes, _end, error) => {
          if (!this.reading) return;
          this.reading.requestBodyBytes = bodyBytes;
          if (error) this.reading.requestError = error;
          this.reading = undefined;
        },
        parseError,
      },
      { ...(maxHeadBytes !== undefined && { maxHeadBytes }) },
    );
    this.res = new Http1Parser(
      'response',
      {
        head: (head, start) => {
          const p = this.queue[0];
          if (!p) {
            this.counters.droppedRequests++;
            return;
          }
          p.responseHead = head;
          p.responseTid = start.tid;
          if (head.status === 101 || (p.head?.method === 'CONNECT' && head.status! < 300)) this.req.stop();
        },
        end: (bodyBytes, end, error) => {
          const p = this.queue[0];
          if (!p || !p.responseHead) return;
          if (p.untracked !== undefined && p.untracked > 1) {
            // One of several untracked requests answered: the placeholder stays for the rest.
            p.untracked--;
            delete p.responseHead;
            this.counters.droppedRequests++;
            return;
          }
          this.complete(this.dequeue()!, end, bodyBytes, error);
        },
        parseError,
      },
      {
        requestMethod: () => this.queue[0]?.head?.method,
        ...(maxHeadBytes !== undefined && { maxHeadBytes }),
      },
    );
  }

  /** Parser buffers plus the queued requests (O(1): read after every chunk). */
  get bufferedBytes(): number {
    return this.req.bufferedBytes + this.res.bufferedBytes + this.queueBytes;
  }

  /** Drop all state without reporting (the engine's budget shed it); queued requests count as dropped. */
  discard(): void {
    while (this.queue.length > 0) {
      const p = this.dequeue()!;
      this.counters.droppedRequests += p.untracked ?? 1;
    }
    this.reading = undefined;
    this.req.stop();
    this.res.stop();
  }

  get pendingRequests(): number {
    return this.queue.length;
  }

  data(dir: Direction, bytes: Uint8Array, meta: ChunkMeta): void {
    (dir === this.requestDirection ? this.req : this.res).data(bytes, meta);
  }

  gap(dir: Direction, lostBytes: number, meta: ChunkMeta): void {
    if (dir === this.requestDirection) {
      const r = this.req.gap(lostBytes, meta);
      // Whole requests may have been lost: hold their place so their responses are discarded.
      if (r === 'idle' || (r === 'lost' && !this.reading)) {
        const last = this.queue[this.queue.length - 1];
        if (!last?.lost) this.holdPlace(false);
      }
      this.reading = undefined;
    } else {
      const r = this.res.gap(lostBytes, meta);
      if (r !== 'skipped') {
        // Which responses were lost is unknown: every waiting request ends as data_lost rather
        // than being paired with a later response.
        while (this.queue.length > 0) this.complete(this.dequeue()!, meta, 0, 'data_lost');
      }
    }
  }

  close(meta: ChunkMeta): void {
    this.req.finish(meta);
    this.res.finish(meta);
    while (this.queue.length > 0) this.complete(this.dequeue()!, meta, 0, 'connection_closed');
  }

  /**
   * A placeholder for requests whose responses must be discarded, never paired with another
   * request. Consecutive untracked requests share one placeholder (counted), so the queue stays
   * within maxPending + 1 entries whatever a peer pipelines.
   */
  private holdPlace(countable = true): void {
    const last = this.queue[this.queue.length - 1];
    if (countable && last?.untracked !== undefined && !last.responseHead) {
      last.untracked++;
      return;
    }
    this.queue.push({ requestBodyBytes: 0, lost: true, ...(countable && { untracked: 1 }) });
    this.queueBytes += STREAM_OVERHEAD_BYTES;
  }

  private dequeue(): PendingRequest | undefined {
    const p = this.queue.shift();
    if (!p) return undefined;
    this.queueBytes -= (p.head?.textBytes ?? 0) + STREAM_OVERHEAD_BYTES;
    if (p.slot) this.slots.give();
    return p;
  }

  private complete(p: PendingRequest, end: ChunkMeta, responseBodyBytes: number, error?: RequestErrorType): void {
    if (p.lost || !p.head || !p.start || p.requestId === undefined) {
      this.counters.droppedRequests += p.untracked ?? 1;
      return;
    }
    const rec = buildRecord(this.ctx, {
      protocol: 'http1',
      httpVersion: p.head.version,
      method: p.head.method!,
      target: p.head.target!,
      requestHeaders: p.head.headers,
      start: p.start,
      end,
      requestBodyBytes: p.requestBodyBytes,
      responseBodyBytes,
      requestId: p.requestId,
      ...(p.responseTid !== undefined && { responseTid: p.responseTid }),
      ...(p.responseHead?.status !== undefined && { status: p.responseHead.status }),
      ...((error ?? p.requestError) !== undefined && { errorType: (error ?? p.requestError)! }),
    });
    this.counters.records++;
    this.emit(rec);
  }
}
