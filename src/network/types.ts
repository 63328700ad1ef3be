/**
 * The contract between the kernel-side network plumbing (bpf/net.bpf.c + event decoding) and
 * the user-side protocol engine (this folder). Pure data: no `node:` imports.
 *
 * Identity: a connection is `pid + fd + connCookie`. The fd alone is reused by the kernel after
 * close(), so the kernel side supplies a cookie that is unique per socket for the life of the host
 * (e.g. `bpf_get_socket_cookie()`, or a per-(pid,fd) generation counter bumped on every
 * connect/accept). Two connections that share pid+fd never share a cookie.
 */

/**
 * Which way the bytes moved, from the traced process's point of view:
 * 'ingress' = bytes the process read (read/readv/recvfrom/recvmsg),
 * 'egress'  = bytes the process wrote (write/writev/sendto/sendmsg).
 * For a server, requests are ingress; for a client, requests are egress.
 */
export type Direction = 'ingress' | 'egress';

/** Who opened the connection: 'client' = this process called connect(), 'server' = accept(). */
export type ConnRole = 'client' | 'server' | 'unknown';

/** Identity of one connection; see the file comment for why the cookie is needed. */
export interface ConnKey {
  pid: number;
  fd: number;
  /** Socket cookie or connection generation; unique per socket, never reused for a new one. */
  connCookie: bigint;
}

/** One data syscall's payload, as the kernel side captured it. */
export interface DataChunk extends ConnKey {
  /** Thread that made the syscall (the tid that read the request / wrote the response). */
  tid: number;
  direction: Direction;
  /**
   * Byte offset of the first byte of this syscall in this direction of this connection, counted
   * from the first byte the kernel side saw (0 for a connection seen from its start). Bytes, not
   * chunks: lost ring-buffer records show up as `seq` jumping past the expected offset.
   */
  seqBytes: number;
  /** The true number of bytes the syscall moved (its return value), before any truncation. */
  bytesTotal: number;
  /** The captured head of the payload; `data.length < bytesTotal` means the tail was cut off. */
  data: Uint8Array;
  /** CLOCK_MONOTONIC ns at syscall exit. */
  timeMonoNs: bigint;
  /** Wall-clock ns (Unix epoch); optional, the engine derives it from a mono→wall offset if absent. */
  timeUnixNs?: bigint;
}

/** An IPv4 or IPv6 endpoint, address in its usual text form ("127.0.0.1", "::1"). */
export interface Endpoint {
  address: string;
  port: number;
}

/** A connection the kernel side saw open (connect/accept), or found already open at startup. */
export interface ConnOpen extends ConnKey {
  tid: number;
  role: ConnRole;
  local?: Endpoint;
  remote?: Endpoint;
  timeMonoNs: bigint;
  timeUnixNs?: bigint;
  /** True for connections found at startup (/proc/net/tcp): their streams start mid-flow. */
  preexisting?: boolean;
}

/** A connection that closed (close() or the socket reaching TCP_CLOSE). */
export interface ConnClose extends ConnKey {
  timeMonoNs: bigint;
  timeUnixNs?: bigint;
}

/** Application protocol detected on a connection; 'unknown' means only L4 is reported. */
export type L7Protocol = 'http1' | 'http2' | 'unknown';

/** Why a request did not complete normally (OTel `error.type` when no status says it). */
export type RequestErrorType =
  | 'connection_closed' // the connection closed before the response completed
  | 'stream_reset' // HTTP/2 RST_STREAM
  | 'goaway' // HTTP/2 GOAWAY covering the stream
  | 'data_lost' // a capture gap made the exchange unparseable
  | 'parse_error'; // malformed bytes

/** One L7 request/response exchange. Privacy: no bodies, no credential header values, no query. */
export interface RequestRecord {
  pid: number;
  /** Thread that read (server) or wrote (client) the request's first bytes. */
  requestTid: number;
  /** Thread that wrote (server) or read (client) the response's first bytes; absent if none. */
  responseTid?: number;
  role: ConnRole;
  protocol: 'http1' | 'http2';
  /** "1.0", "1.1" or "2" (OTel network.protocol.version). */
  httpVersion: string;
  /** Request method, uppercase as sent; '_OTHER' is left to the span builder. */
  method: string;
  /** Path without query string (query kept only when the engine is configured to). */
  path: string;
  /** Low-cardinality route (`/users/{id}`). */
  route: string;
  /** Response status; absent when no response was seen. */
  status?: number;
  /** Request/response body bytes (Content-Length / chunk payload / DATA frame payload). */
  requestBodyBytes: number;
  responseBodyBytes: number;
  /** Request start (first request byte) and end (last response byte), CLOCK_MONOTONIC ns. */
  startMonoNs: bigint;
  endMonoNs: bigint;
  /** Same instants on the wall clock, Unix epoch ns. */
  startUnixNs: bigint;
  endUnixNs: bigint;
  /** Host from `Host` / `:authority` (without credentials). */
  authority?: string;
  local?: Endpoint;
  remote?: Endpoint;
  /** Validated W3C trace context; absent when missing or invalid. */
  traceparent?: TraceParent;
  tracestate?: string;
  /** True when a traceparent header was present but invalid. */
  traceparentInvalid?: boolean;
  grpc?: { service: string; method: string; status?: number };
  errorType?: RequestErrorType;
  connCookie: bigint;
  fd: number;
  /** HTTP/2 stream id. */
  streamId?: number;
  /** Same id as the RequestStart announced for this exchange (joins start and completion). */
  requestId: string;
}

/** Announced when a request's head has been parsed, before its response: spans in progress. */
export interface RequestStart {
  requestId: string;
  pid: number;
  /** Thread that read (server) / wrote (client) the request head. */
  tid: number;
  role: ConnRole;
  startMonoNs: bigint;
  traceparent?: TraceParent;
}

/** A parsed and validated W3C traceparent. */
export interface TraceParent {
  version: string;
  /** 32 lowercase hex chars. */
  traceId: string;
  /** 16 lowercase hex chars: the caller's span id, our parent. */
  parentId: string;
  /** 2 hex chars. */
  flags: string;
  sampled: boolean;
}

/** Counters the engine keeps; monotonic, read any time. */
export interface L7Counters {
  chunks: number;
  bytesSeen: number;
  /** Direction discontinuities: seq jumps or truncated chunks. */
  gaps: number;
  parseErrors: number;
  /** Requests abandoned (gap, unknown HPACK state, connection closed mid-exchange, caps). */
  droppedRequests: number;
  /** Chunks for connections the table does not know (opened implicitly). */
  implicitConnections: number;
  /** Connections evicted because the table was full. */
  evictedConnections: number;
  /** Connections whose first request bytes matched no known protocol (only L4 is reported). */
  unknownProtocolConnections: number;
  records: number;
  /** Connections whose L7 state was dropped to keep the engine under maxEngineBytes (bounds.ts). */
  budgetShedConnections: number;
  /** Times an HPACK table reached maxHpackTableBytes: its oldest entries were dropped as lost. */
  hpackTableCapped: number;
  /** Streams / queued requests not tracked: maxStreamsPerConnection or maxStreamsTotal reached. */
  streamsCapped: number;
  /** Header blocks refused: over maxHeaderBlockBytes, too many CONTINUATIONs, or too many kept bytes per stream. */
  headerBlocksCapped: number;
}
