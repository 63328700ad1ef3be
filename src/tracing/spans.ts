/**
 * Request records → spans.
 *
 * SERVER: trace id and parent from a valid traceparent, else a new trace; span id always fresh.
 * CLIENT: parented to the SERVER span in progress on the same thread (pid + tid) when there is
 * exactly one, else a new trace; zero or several candidates never produce a guessed parent.
 *
 * "In progress" needs the server span to exist before its response (a handler's outgoing call
 * completes first), so the builder is fed the engine's RequestStart events: a server span's ids are
 * fixed at its start, and a client call finds it in progress on its thread.
 */
import type { RequestRecord, RequestStart, TraceParent } from '../network/index.js';
import type { Span } from './types.js';

export interface SpanBuilderOptions {
  /** Random bytes source; default crypto.getRandomValues (a global in Node 20). */
  randomBytes?: (n: number) => Uint8Array;
  /** Most server requests kept in progress; older ones are forgotten (their spans still build). */
  maxInProgress?: number;
}

export interface SpanBuilder {
  /**
   * A request head was parsed (RequestStart from the L7 engine): server spans become in progress.
   * Returns the server span's fixed ids (for the span ↔ profile join); undefined for client requests.
   */
  start(s: RequestStart): InProgressSpan | undefined;
  /** Turn one completed request record into a span (server or client). */
  build(record: RequestRecord): Span;
  /** Server requests currently in progress. */
  readonly inProgress: number;
}

/** A server span's identity, fixed when its request starts. */
export interface InProgressSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  /** '' until the request completes: RequestStart does not carry method and route. */
  name: string;
}

interface Pending {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  threadKey: string;
}

function hex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

function randomId(random: (n: number) => Uint8Array, n: number): string {
  for (;;) {
    const id = hex(random(n));
    if (!/^0+$/.test(id)) return id; // all-zero ids are invalid (W3C)
  }
}

export function createSpanBuilder(opts: SpanBuilderOptions = {}): SpanBuilder {
  const random = opts.randomBytes ?? ((n: number) => crypto.getRandomValues(new Uint8Array(n)));
  const maxInProgress = opts.maxInProgress ?? 100_000;
  /** Server requests by request id (Map order = start order, for bounded eviction). */
  const pending = new Map<string, Pending>();
  /** In-progress server request ids per pid:tid that read the request. */
  const byThread = new Map<string, Set<string>>();

  function forget(id: string): Pending | undefined {
    const p = pending.get(id);
    if (!p) return undefined;
    pending.delete(id);
    const set = byThread.get(p.threadKey);
    set?.delete(id);
    if (set && set.size === 0) byThread.delete(p.threadKey);
    return p;
  }

  function identity(tp: TraceParent | undefined): Omit<Pending, 'threadKey'> {
    if (tp) return { traceId: tp.traceId, parentSpanId: tp.parentId, spanId: randomId(random, 8) };
    return { traceId: randomId(random, 16), spanId: randomId(random, 8) };
  }

  return {
    get inProgress() {
      return pending.size;
    },
    start(s) {
      if (s.role === 'client') return undefined;
      if (pending.size >= maxInProgress) forget(pending.keys().next().value as string);
      const threadKey = `${s.pid}:${s.tid}`;
      const ids = identity(s.traceparent);
      pending.set(s.requestId, { ...ids, threadKey });
      let set = byThread.get(threadKey);
      if (!set) byThread.set(threadKey, (set = new Set()));
      set.add(s.requestId);
      return { ...ids, name: '' };
    },
    build(r) {
      const server = r.role !== 'client';
      let ids: Omit<Pending, 'threadKey'>;
      if (server) {
        ids = forget(r.requestId) ?? identity(r.traceparent);
      } else {
        // Exactly one server request in progress on the calling thread → its child; else a root.
        const set = byThread.get(`${r.pid}:${r.requestTid}`);
        const only = set && set.size === 1 ? pending.get([...set][0]!) : undefined;
        ids = only
          ? { traceId: only.traceId, parentSpanId: only.spanId, spanId: randomId(random, 8) }
          : { traceId: randomId(random, 16), spanId: randomId(random, 8) };
      }
      const span: Span = {
        traceId: ids.traceId,
        spanId: ids.spanId,
        name: spanName(r),
        kind: server ? 'server' : 'client',
        startUnixNs: r.startUnixNs,
        endUnixNs: r.endUnixNs,
        startMonoNs: r.startMonoNs,
        endMonoNs: r.endMonoNs,
        attributes: spanAttributes(r, server),
        statusCode: isError(r, server) ? 'error' : 'unset',
        pid: r.pid,
        requestTid: r.requestTid,
      };
      if (ids.parentSpanId !== undefined) span.parentSpanId = ids.parentSpanId;
      if (server && r.tracestate !== undefined) span.traceState = r.tracestate;
      if (r.responseTid !== undefined) span.responseTid = r.responseTid;
      return span;
    },
  };
}

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', 'QUERY']);

/**
 * The route hotspan infers from paths (`/users/{id}`). Semconv: `http.route` MUST NOT be set unless
 * the framework provides it, so an inferred route lives under hotspan's own name, on spans and metrics.
 */
export const ATTR_ROUTE_INFERRED = 'hotspan.http.route_inferred';

/** Semconv: unknown methods are reported as `_OTHER` to bound cardinality. */
export function normalizeMethod(method: string): string {
  return KNOWN_METHODS.has(method) ? method : '_OTHER';
}

/** gRPC status codes by number (grpc/doc/statuscodes.md): semconv wants the name as a string. */
const GRPC_STATUS_NAMES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

/** `rpc.response.status_code`: the gRPC status name, or its number as a string if unknown. */
export function grpcStatusName(code: number): string {
  return GRPC_STATUS_NAMES[code] ?? String(code);
}

/** Server-side gRPC codes semconv (rpc/grpc.md) counts as errors; on the client every non-OK code is. */
const GRPC_SERVER_ERRORS = new Set([2, 4, 12, 13, 14, 15]);

function grpcFailed(r: RequestRecord, server: boolean): boolean {
  const st = r.grpc?.status;
  if (st === undefined || st === 0) return false;
  return server ? GRPC_SERVER_ERRORS.has(st) : true;
}

/** `rpc.method`: fully qualified `package.Service/Method` (semconv ≥ v1.39). */
export function rpcMethod(r: RequestRecord): string | undefined {
  return r.grpc ? `${r.grpc.service}/${r.grpc.method}` : undefined;
}

/**
 * Semconv span names: gRPC `{rpc.method}`; HTTP `{method}` (never the path, and never the inferred
 * route, which is not a framework route), `HTTP` when the method is outside the known set.
 */
export function spanName(r: RequestRecord): string {
  const rpc = rpcMethod(r);
  if (rpc) return rpc;
  const m = normalizeMethod(r.method);
  return m === '_OTHER' ? 'HTTP' : m;
}

/** Capture loss says nothing about the request itself, so it is not an error of the span. */
function transportError(r: RequestRecord): string | undefined {
  return r.errorType === 'data_lost' ? undefined : r.errorType;
}

export function isError(r: RequestRecord, server: boolean): boolean {
  if (transportError(r) !== undefined) return true;
  if (grpcFailed(r, server)) return true;
  if (r.status === undefined) return false;
  return server ? r.status >= 500 : r.status >= 400;
}

/** OTel `error.type`: the gRPC status name, the HTTP status code as a string, else the transport error. */
export function errorTypeOf(r: RequestRecord, server: boolean): string | undefined {
  if (grpcFailed(r, server)) return grpcStatusName(r.grpc!.status!);
  if (r.status !== undefined && (server ? r.status >= 500 : r.status >= 400)) return String(r.status);
  return transportError(r);
}

function splitAuthority(a: string | undefined): { host?: string; port?: number } {
  if (!a) return {};
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(a);
  if (!m) return {};
  return { host: m[1]!, ...(m[2] !== undefined && { port: Number(m[2]) }) };
}

/** Path and query apart: the record's path holds `?query` only when query keeping is on. */
export function splitTarget(target: string): { path: string; query?: string } {
  const q = target.indexOf('?');
  return q < 0 ? { path: target } : { path: target.slice(0, q), query: target.slice(q + 1) };
}

/**
 * Captured on the socket in plaintext, so the scheme is `http` (TLS payloads do not parse as HTTP).
 */
const URL_SCHEME = 'http';

export function spanAttributes(r: RequestRecord, server: boolean): Record<string, string | number | boolean> {
  const method = normalizeMethod(r.method);
  const { path, query } = splitTarget(r.path);
  const a: Record<string, string | number | boolean> = {
    'http.request.method': method,
    'network.protocol.name': 'http',
    'network.protocol.version': r.httpVersion,
    // url.path is required on server spans; on client spans it is an extra beside url.full (kept so
    // a request is found by its path on either side).
    'url.path': path,
    [ATTR_ROUTE_INFERRED]: r.route,
  };
  if (query !== undefined) a['url.query'] = query;
  if (method !== r.method) a['http.request.method_original'] = r.method;
  if (r.status !== undefined) a['http.response.status_code'] = r.status;
  const auth = splitAuthority(r.authority);
  if (server) {
    a['url.scheme'] = URL_SCHEME;
    if (auth.host) a['server.address'] = auth.host;
    const port = auth.port ?? r.local?.port;
    if (port !== undefined) a['server.port'] = port;
    if (r.remote) {
      a['client.address'] = r.remote.address;
      a['client.port'] = r.remote.port;
      a['network.peer.address'] = r.remote.address;
      a['network.peer.port'] = r.remote.port;
    }
  } else {
    const host = auth.host ?? r.remote?.address;
    if (host) a['server.address'] = host;
    const port = auth.port ?? r.remote?.port;
    if (port !== undefined) a['server.port'] = port;
    // url.full: scheme://authority/path[?query]; the authority as sent, else the peer address.
    const hostPart = r.authority ?? (r.remote ? `${r.remote.address.includes(':') ? `[${r.remote.address}]` : r.remote.address}:${r.remote.port}` : '');
    a['url.full'] = `${URL_SCHEME}://${hostPart}${path}${query !== undefined ? `?${query}` : ''}`;
    if (r.remote) {
      a['network.peer.address'] = r.remote.address;
      a['network.peer.port'] = r.remote.port;
    }
  }
  const err = errorTypeOf(r, server);
  if (err !== undefined) a['error.type'] = err;
  if (r.grpc) {
    a['rpc.system.name'] = 'grpc';
    a['rpc.method'] = rpcMethod(r)!;
    if (r.grpc.status !== undefined) a['rpc.response.status_code'] = grpcStatusName(r.grpc.status);
  }
  a['process.pid'] = r.pid;
  a['thread.id'] = r.requestTid;
  return a;
}
