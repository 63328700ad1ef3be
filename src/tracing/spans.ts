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
        name: `${normalizeMethod(r.method)} ${r.route}`,
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

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);

/** Semconv: unknown methods are reported as `_OTHER` to bound cardinality. */
export function normalizeMethod(method: string): string {
  return KNOWN_METHODS.has(method) ? method : '_OTHER';
}

/** Capture loss says nothing about the request itself, so it is not an error of the span. */
function transportError(r: RequestRecord): string | undefined {
  return r.errorType === 'data_lost' ? undefined : r.errorType;
}

export function isError(r: RequestRecord, server: boolean): boolean {
  if (transportError(r) !== undefined) return true;
  if (r.status === undefined) return false;
  return server ? r.status >= 500 : r.status >= 400;
}

/** OTel stable HTTP semconv `error.type`: the status code as a string, else the transport error. */
export function errorTypeOf(r: RequestRecord, server: boolean): string | undefined {
  if (r.status !== undefined && (server ? r.status >= 500 : r.status >= 400)) return String(r.status);
  return transportError(r);
}

function splitAuthority(a: string | undefined): { host?: string; port?: number } {
  if (!a) return {};
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(a);
  if (!m) return {};
  return { host: m[1]!, ...(m[2] !== undefined && { port: Number(m[2]) }) };
}

export function spanAttributes(r: RequestRecord, server: boolean): Record<string, string | number | boolean> {
  const a: Record<string, string | number | boolean> = {
    'http.request.method': normalizeMethod(r.method),
    'url.path': r.path,
    'http.route': r.route,
    'network.protocol.version': r.httpVersion,
  };
  if (normalizeMethod(r.method) !== r.method) a['http.request.method_original'] = r.method;
  if (r.status !== undefined) a['http.response.status_code'] = r.status;
  const auth = splitAuthority(r.authority);
  if (server) {
    if (auth.host) a['server.address'] = auth.host;
    const port = auth.port ?? r.local?.port;
    if (port !== undefined) a['server.port'] = port;
    if (r.remote) {
      a['client.address'] = r.remote.address;
      a['client.port'] = r.remote.port;
    }
  } else {
    const host = auth.host ?? r.remote?.address;
    if (host) a['server.address'] = host;
    const port = auth.port ?? r.remote?.port;
    if (port !== undefined) a['server.port'] = port;
  }
  const err = errorTypeOf(r, server);
  if (err !== undefined) a['error.type'] = err;
  if (r.grpc) {
    a['rpc.system'] = 'grpc';
    a['rpc.service'] = r.grpc.service;
    a['rpc.method'] = r.grpc.method;
    if (r.grpc.status !== undefined) a['rpc.grpc.status_code'] = r.grpc.status;
  }
  a['process.pid'] = r.pid;
  a['thread.id'] = r.requestTid;
  return a;
}
