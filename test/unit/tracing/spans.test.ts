// Span parenting rules and semconv attributes, driven through the real L7 engine with real
// HTTP/1 bytes: a server request on a thread, a client call made from that thread, the response.
import { describe, expect, it } from 'vitest';
import { createL7Engine } from '../../../src/network/index.js';
import type { RequestRecord } from '../../../src/network/index.js';
import { createDurationHistograms, createSpanBuilder, spanAttributes, DURATION_BUCKETS_S } from '../../../src/tracing/index.js';
import { spanRecordOf as toSpanRecord } from '../../../src/otlp/index.js';
import type { Span } from '../../../src/tracing/index.js';

const enc = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const TP = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

function harness() {
  const builder = createSpanBuilder();
  const spans: Span[] = [];
  const records: RequestRecord[] = [];
  const engine = createL7Engine({
    onRequestStart: (s) => builder.start(s),
    onRequest: (r) => {
      records.push(r);
      spans.push(builder.build(r));
    },
  });
  const seq = new Map<string, number>();
  let t = 1_000_000_000n;
  const conn = (cookie: bigint, role: 'server' | 'client', remotePort = 80) => {
    const key = { pid: 10, fd: Number(cookie), connCookie: cookie };
    engine.onConnOpen({ ...key, tid: 1, role, timeMonoNs: t, local: { address: '127.0.0.1', port: 8080 }, remote: { address: '10.0.0.9', port: remotePort } });
    return (tid: number, direction: 'ingress' | 'egress', text: string) => {
      const k = `${cookie}${direction}`;
      const s = seq.get(k) ?? 0;
      seq.set(k, s + text.length);
      t += 1_000_000n;
      engine.onChunk({ ...key, tid, direction, seqBytes: s, bytesTotal: text.length, data: enc(text), timeMonoNs: t });
    };
  };
  return { spans, records, conn };
}

describe('spans', () => {
  it('SERVER span continues the traceparent; a client call from its thread is its child', () => {
    const h = harness();
    const srv = h.conn(1n, 'server');
    const cli = h.conn(2n, 'client', 9000);
    srv(5, 'ingress', `GET /orders/42 HTTP/1.1\r\nHost: shop:8080\r\ntraceparent: ${TP}\r\n\r\n`);
    cli(5, 'egress', 'GET /stock/42 HTTP/1.1\r\nHost: stock:9000\r\n\r\n');
    cli(5, 'ingress', 'HTTP/1.1 503 Unavailable\r\nContent-Length: 0\r\n\r\n');
    srv(5, 'egress', 'HTTP/1.1 500 Internal\r\nContent-Length: 0\r\n\r\n');
    const server = h.spans.find((s) => s.kind === 'server')!;
    const client = h.spans.find((s) => s.kind === 'client')!;
    expect(server.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(server.parentSpanId).toBe('00f067aa0ba902b7');
    expect(server.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(server.spanId).not.toBe('00f067aa0ba902b7');
    expect(client.traceId).toBe(server.traceId);
    expect(client.parentSpanId).toBe(server.spanId);
    // Semconv: `{method}` only; the inferred route is not a framework route.
    expect(server.name).toBe('GET');
    expect(client.name).toBe('GET');
    expect(server.statusCode).toBe('error');
    expect(client.statusCode).toBe('error');
    expect(server.attributes).toMatchObject({
      'http.request.method': 'GET',
      'url.path': '/orders/42',
      'url.scheme': 'http',
      'hotspan.http.route_inferred': '/orders/{id}',
      'http.response.status_code': 500,
      'server.address': 'shop',
      'server.port': 8080,
      'client.address': '10.0.0.9',
      'network.protocol.version': '1.1',
      'error.type': '500',
    });
    expect(server.attributes).not.toHaveProperty('http.route');
    expect(client.attributes).toMatchObject({ 'server.address': 'stock', 'server.port': 9000, 'error.type': '503', 'url.full': 'http://stock:9000/stock/42' });
    expect(client.attributes).not.toHaveProperty('http.route');
    expect(server.requestTid).toBe(5);
    expect(server.endMonoNs - server.startMonoNs).toBe(3_000_000n);
    const otlp = toSpanRecord(server, { 'service.name': 'shop' });
    expect(otlp).toMatchObject({ kind: 2, statusCode: 2, parentSpanId: '00f067aa0ba902b7', traceId: server.traceId });
  });

  it('no traceparent or an invalid one starts a new trace; 4xx is not a server error', () => {
    const h = harness();
    const srv = h.conn(1n, 'server');
    srv(5, 'ingress', 'GET /a HTTP/1.1\r\ntraceparent: 00-00000000000000000000000000000000-00f067aa0ba902b7-01\r\n\r\n');
    srv(5, 'egress', 'HTTP/1.1 404 NF\r\nContent-Length: 0\r\n\r\n');
    const [s] = h.spans;
    expect(s!.parentSpanId).toBeUndefined();
    expect(s!.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(s!.traceId).not.toBe('0'.repeat(32));
    expect(s!.statusCode).toBe('unset');
    expect(h.records[0]!.traceparentInvalid).toBe(true);
  });

  it('two server requests in progress on the thread: the client call gets a new trace, never a guess', () => {
    const h = harness();
    const a = h.conn(1n, 'server');
    const b = h.conn(3n, 'server');
    const cli = h.conn(2n, 'client');
    a(5, 'ingress', `GET /a HTTP/1.1\r\ntraceparent: ${TP}\r\n\r\n`);
    b(5, 'ingress', 'GET /b HTTP/1.1\r\n\r\n');
    cli(5, 'egress', 'GET /c HTTP/1.1\r\n\r\n');
    cli(5, 'ingress', 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    a(5, 'egress', 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    // After /a finished, exactly one (/b) is in progress: the next call is its child.
    cli(5, 'egress', 'GET /d HTTP/1.1\r\n\r\n');
    cli(5, 'ingress', 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    b(5, 'egress', 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    const byPath = new Map(h.spans.map((s) => [s.attributes['url.path'], s]));
    expect(byPath.get('/c')!.attributes['url.full']).toBe('http://10.0.0.9:80/c');
    const c = byPath.get('/c')!;
    expect(c.parentSpanId).toBeUndefined();
    expect([byPath.get('/a')!.traceId, byPath.get('/b')!.traceId]).not.toContain(c.traceId);
    expect(byPath.get('/d')!.parentSpanId).toBe(byPath.get('/b')!.spanId);
    // A client call on another thread has no parent.
    const other = h.conn(4n, 'client');
    b(5, 'ingress', 'GET /e HTTP/1.1\r\n\r\n');
    other(6, 'egress', 'GET /f HTTP/1.1\r\n\r\n');
    other(6, 'ingress', 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    expect(h.spans.find((s) => s.attributes['url.path'] === '/f')!.parentSpanId).toBeUndefined();
  });

  it('unknown methods: `_OTHER`, the original kept, span name `HTTP`; the query only in url.query', () => {
    const h = harness();
    const srv = h.conn(1n, 'server');
    // The engine recognises a connection by a known method; later requests may use any method.
    srv(5, 'ingress', 'GET /warm HTTP/1.1\r\nHost: c\r\n\r\n');
    srv(5, 'egress', 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    srv(5, 'ingress', 'PURGE /cache/7?x=1 HTTP/1.1\r\nHost: c\r\n\r\n');
    srv(5, 'egress', 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    const s = h.spans[1];
    expect(s!.name).toBe('HTTP');
    expect(s!.attributes).toMatchObject({ 'http.request.method': '_OTHER', 'http.request.method_original': 'PURGE', 'url.path': '/cache/7' });
    // Query keeping is off in this engine: no query anywhere.
    expect(JSON.stringify(s!.attributes)).not.toContain('x=1');
    // With query keeping on the record's path carries `?query`: it goes to url.query, never url.path.
    const kept = spanAttributes({ ...h.records[1]!, path: '/cache/7?x=1' }, true);
    expect(kept).toMatchObject({ 'url.path': '/cache/7', 'url.query': 'x=1' });
    const keptClient = spanAttributes({ ...h.records[1]!, role: 'client', path: '/cache/7?x=1' }, false);
    expect(keptClient).toMatchObject({ 'url.path': '/cache/7', 'url.query': 'x=1', 'url.full': 'http://c/cache/7?x=1' });
  });

  it('duration histograms: seconds, semconv buckets, low-cardinality attributes', () => {
    const h = harness();
    const srv = h.conn(1n, 'server');
    for (let i = 0; i < 3; i++) {
      srv(5, 'ingress', `GET /users/${i} HTTP/1.1\r\n\r\n`);
      srv(5, 'egress', 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    }
    const hist = createDurationHistograms();
    for (const r of h.records) hist.record(r);
    const [p, ...rest] = hist.collect();
    expect(rest).toHaveLength(0);
    expect(p).toMatchObject({
      name: 'http.server.request.duration',
      unit: 's',
      count: 3,
      attributes: { 'hotspan.http.route_inferred': '/users/{id}', 'http.request.method': 'GET', 'url.scheme': 'http', 'http.response.status_code': 200 },
    });
    expect(p!.attributes).not.toHaveProperty('http.route');
    expect(p!.boundsS).toEqual(DURATION_BUCKETS_S);
    expect(p!.bucketCounts[0]).toBe(3); // 1 ms each ≤ 5 ms
    expect(p!.sumS).toBeCloseTo(0.003, 9);
    expect(JSON.stringify(p!.attributes)).not.toContain('/users/1');
  });
});
