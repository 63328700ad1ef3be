/**
 * What HTTP/1 and HTTP/2 share when turning a parsed exchange into a RequestRecord: privacy rules
 * (which headers are kept at all), trace context validation, route and path policy.
 */
import { parseGrpcPath, parseGrpcStatus, isGrpcContentType } from './grpc.js';
import { recordPath, routeOf } from './route.js';
import { parseTraceparent, parseTracestate } from './traceparent.js';
import type { ChunkMeta } from './stream.js';
import type { ConnRole, Endpoint, RequestErrorType, RequestRecord, RequestStart } from './types.js';

/**
 * The only request/response headers the engine keeps, by lowercase name. Everything else,
 * including Authorization, Cookie, Set-Cookie and Proxy-Authorization, is dropped while parsing,
 * so credential values never reach a record or even a long-lived object.
 */
export const KEPT_HEADERS: ReadonlySet<string> = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'upgrade',
  'content-type',
  'traceparent',
  'tracestate',
  'grpc-status',
]);

/** Header names never kept, listed so tests can prove it; KEPT_HEADERS already excludes them. */
export const SECRET_HEADERS: ReadonlySet<string> = new Set(['authorization', 'cookie', 'set-cookie', 'proxy-authorization']);

export type KeptHeaders = Map<string, string>;

/** Keep a header if it is on the allowlist; repeated headers are joined with ", " (RFC 9110 5.3). */
export function keepHeader(headers: KeptHeaders, lowerName: string, value: string): void {
  if (!KEPT_HEADERS.has(lowerName)) return;
  const prev = headers.get(lowerName);
  headers.set(lowerName, prev === undefined ? value : `${prev}, ${value}`);
}

/** Per-connection facts a record needs, supplied by the connection table. */
export interface ConnContext {
  pid: number;
  fd: number;
  connCookie: bigint;
  role: ConnRole;
  local?: Endpoint;
  remote?: Endpoint;
  keepQuery: boolean;
  /** Key of the connection, prefix of request ids. */
  key: string;
  onStart?: (s: RequestStart) => void;
}

/** Announce a request whose head was just parsed. */
export function announceStart(ctx: ConnContext, requestId: string, start: ChunkMeta, headers: KeptHeaders): void {
  if (!ctx.onStart) return;
  const s: RequestStart = { requestId, pid: ctx.pid, tid: start.tid, role: ctx.role, startMonoNs: start.timeMonoNs };
  const tp = parseTraceparent(headers.get('traceparent'));
  if (tp) s.traceparent = tp;
  try {
    ctx.onStart(s);
  } catch {
    // A consumer's failure must not corrupt parser state.
  }
}

export interface ExchangeParts {
  protocol: 'http1' | 'http2';
  httpVersion: string;
  method: string;
  target: string;
  requestHeaders: KeptHeaders;
  authority?: string;
  start: ChunkMeta;
  end: ChunkMeta;
  responseTid?: number;
  status?: number;
  requestBodyBytes: number;
  responseBodyBytes: number;
  /** Response headers and trailers merged (for grpc-status). */
  responseHeaders?: KeptHeaders;
  errorType?: RequestErrorType;
  streamId?: number;
  requestId: string;
}

export function buildRecord(ctx: ConnContext, p: ExchangeParts): RequestRecord {
  const path = recordPath(p.target, ctx.keepQuery);
  const rec: RequestRecord = {
    pid: ctx.pid,
    requestTid: p.start.tid,
    role: ctx.role,
    protocol: p.protocol,
    httpVersion: p.httpVersion,
    method: p.method,
    path,
    route: routeOf(path),
    requestBodyBytes: p.requestBodyBytes,
    responseBodyBytes: p.responseBodyBytes,
    startMonoNs: p.start.timeMonoNs,
    endMonoNs: p.end.timeMonoNs,
    startUnixNs: p.start.timeUnixNs,
    endUnixNs: p.end.timeUnixNs,
    connCookie: ctx.connCookie,
    fd: ctx.fd,
    requestId: p.requestId,
  };
  if (p.responseTid !== undefined) rec.responseTid = p.responseTid;
  if (p.status !== undefined) rec.status = p.status;
  const authority = p.authority ?? p.requestHeaders.get('host');
  if (authority !== undefined) rec.authority = authority.replace(/^.*@/, '');
  if (ctx.local) rec.local = ctx.local;
  if (ctx.remote) rec.remote = ctx.remote;
  const tpHeader = p.requestHeaders.get('traceparent');
  const tp = parseTraceparent(tpHeader);
  if (tp) {
    rec.traceparent = tp;
    const ts = parseTracestate(p.requestHeaders.get('tracestate'));
    if (ts !== undefined) rec.tracestate = ts;
  } else if (tpHeader !== undefined) {
    rec.traceparentInvalid = true;
  }
  if (p.protocol === 'http2' && isGrpcContentType(p.requestHeaders.get('content-type'))) {
    const call = parseGrpcPath(path);
    if (call) {
      const status = parseGrpcStatus(p.responseHeaders?.get('grpc-status'));
      rec.grpc = status === undefined ? { ...call } : { ...call, status };
    }
  }
  if (p.errorType !== undefined) rec.errorType = p.errorType;
  if (p.streamId !== undefined) rec.streamId = p.streamId;
  return rec;
}

const asciiDecoder = new TextDecoder('utf-8');

/**
 * Bytes → string, one char per byte (header bytes are octets; UTF-8 is not assumed). Pure ASCII,
 * the common case, goes through TextDecoder, which is several times faster than fromCharCode.
 */
export function latin1(bytes: Uint8Array, start = 0, end = bytes.length): string {
  let ascii = true;
  for (let i = start; i < end; i++) {
    if (bytes[i]! >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return asciiDecoder.decode(bytes.subarray(start, end));
  let s = '';
  for (let i = start; i < end; i += 4096) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, Math.min(end, i + 4096)) as unknown as number[]);
  }
  return s;
}
