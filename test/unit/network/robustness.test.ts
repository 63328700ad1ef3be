// Malformed input, random binary, a 64 KiB header line, half-closed connections, and a seeded fuzz
// of every parser: no throw, bounded buffers, errors counted. FUZZ_CASES raises the case count.
import { describe, expect, it } from 'vitest';
import { createL7Engine } from '../../../src/network/index.js';
import type { DataChunk, RequestRecord } from '../../../src/network/index.js';
import { HpackDecoder, HpackError } from '../../../src/network/hpack.js';
import { parseTraceparent, parseTracestate } from '../../../src/network/traceparent.js';
import { routeOf, routeCacheStats } from '../../../src/network/route.js';
import { H2_PREFACE } from '../../../src/network/http2.js';
import { CONNECTION_OVERHEAD_BYTES } from '../../../src/network/bounds.js';

const enc = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
const CASES = Number(process.env.FUZZ_CASES ?? 20_000);

/** xorshift32: seeded so a failing case can be replayed. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

function feed(inputs: Array<{ dir: 'ingress' | 'egress'; data: Uint8Array; bytesTotal?: number }>, role: 'server' | 'client' | 'unknown' = 'server') {
  const records: RequestRecord[] = [];
  const engine = createL7Engine({ onRequest: (r) => records.push(r) });
  const key = { pid: 1, fd: 3, connCookie: 9n };
  engine.onConnOpen({ ...key, tid: 1, role, timeMonoNs: 1n });
  const seq = { ingress: 0, egress: 0 };
  let maxBuffered = 0;
  for (const i of inputs) {
    const c: DataChunk = { ...key, tid: 2, direction: i.dir, seqBytes: seq[i.dir], bytesTotal: i.bytesTotal ?? i.data.length, data: i.data, timeMonoNs: 5n };
    seq[i.dir] += c.bytesTotal;
    engine.onChunk(c);
    maxBuffered = Math.max(maxBuffered, engine.bufferedBytes());
  }
  engine.onConnClose({ ...key, timeMonoNs: 9n });
  return { records, engine, maxBuffered };
}

describe('malformed HTTP/1', () => {
  it('a 64 KiB header line is a counted parse error with bounded memory, and the stream resyncs', () => {
    const long = `GET /a HTTP/1.1\r\nX-Long: ${'a'.repeat(64 * 1024)}\r\n\r\n`;
    const inputs = [];
    for (let i = 0; i < long.length; i += 1460) inputs.push({ dir: 'ingress' as const, data: enc(long.slice(i, i + 1460)) });
    inputs.push({ dir: 'ingress' as const, data: enc('GET /after HTTP/1.1\r\nHost: x\r\n\r\n') });
    inputs.push({ dir: 'egress' as const, data: enc('HTTP/1.1 431 Too Large\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok') });
    const { records, engine, maxBuffered } = feed(inputs);
    expect(engine.counters.parseErrors).toBe(1);
    // bufferedBytes counts the connection's fixed objects and the route cache too.
    expect(maxBuffered - CONNECTION_OVERHEAD_BYTES - routeCacheStats().bytes).toBeLessThanOrEqual(33 * 1024);
    expect(records.map((r) => r.path)).toContain('/after');
  });

  it('malformed start lines and headers are counted, never thrown', () => {
    const bad = [
      'GET / HTTP/9.9\r\n\r\n',
      'GET /\r\n\r\n',
      'GET / HTTP/1.1\r\nbad header\r\n\r\n',
      'GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n',
      'GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n',
    ];
    for (const b of bad) {
      const { engine } = feed([{ dir: 'ingress', data: enc(`GET /ok HTTP/1.1\r\n\r\n${b}`) }]);
      expect(engine.counters.parseErrors).toBe(1);
    }
    const { engine } = feed([{ dir: 'ingress', data: enc('GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n') }]);
    expect(engine.counters.parseErrors).toBe(1);
  });

  it('random binary on a new connection is not L7 (only L4), no records', () => {
    const r = rng(7);
    const data = Uint8Array.from({ length: 4096 }, () => Math.floor(r() * 256));
    data[0] = 0x16; // a TLS record type
    const { records, engine } = feed([
      { dir: 'ingress', data },
      { dir: 'egress', data },
    ]);
    expect(records).toHaveLength(0);
    expect(engine.counters.parseErrors).toBe(0);
  });

  it('half-closed: request sent, connection closes before the response → one record, connection_closed', () => {
    const { records } = feed([{ dir: 'ingress', data: enc('POST /slow HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc') }]);
    expect(records).toMatchObject([{ method: 'POST', path: '/slow', errorType: 'connection_closed', requestBodyBytes: 3 }]);
    expect(records[0]!.status).toBeUndefined();
  });

  it('response delimited by close, 1xx interim, 101 upgrade stops parsing', () => {
    const { records } = feed([
      { dir: 'ingress', data: enc('GET /eof HTTP/1.0\r\n\r\n') },
      { dir: 'egress', data: enc('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\n\r\nbody until close') },
    ]);
    expect(records).toMatchObject([{ path: '/eof', status: 200, responseBodyBytes: 16, httpVersion: '1.0' }]);
    expect(records[0]!.errorType).toBeUndefined();
    const up = feed([
      { dir: 'ingress', data: enc('GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n') },
      { dir: 'egress', data: enc('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello') },
      { dir: 'ingress', data: enc('\x81\x85garbage-after-upgrade') },
    ]);
    expect(up.records).toMatchObject([{ path: '/ws', status: 101 }]);
    expect(up.engine.counters.parseErrors).toBe(0);
  });

  it('fd reuse: same pid+fd with a new cookie never mixes two connections', () => {
    const records: RequestRecord[] = [];
    const engine = createL7Engine({ onRequest: (r) => records.push(r) });
    const a = { pid: 1, fd: 3, connCookie: 1n };
    const b = { pid: 1, fd: 3, connCookie: 2n };
    const send = (k: typeof a, direction: 'ingress' | 'egress', text: string, t: bigint): void =>
      engine.onChunk({ ...k, tid: 1, direction, seqBytes: 0, bytesTotal: text.length, data: enc(text), timeMonoNs: t });
    engine.onConnOpen({ ...a, tid: 1, role: 'server', timeMonoNs: 1n });
    send(a, 'ingress', 'GET /a HTTP/1.1\r\n\r\n', 2n);
    engine.onConnOpen({ ...b, tid: 1, role: 'server', timeMonoNs: 3n });
    send(b, 'ingress', 'GET /b HTTP/1.1\r\n\r\n', 4n);
    send(b, 'egress', 'HTTP/1.1 204 No Content\r\n\r\n', 5n);
    send(a, 'egress', 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n', 6n);
    expect(records.map((r) => `${r.path} ${r.status} ${r.connCookie}`).sort()).toEqual(['/a 404 1', '/b 204 2']);
  });
});

describe('fuzz (seeded; FUZZ_CASES=1000000 on demand)', () => {
  const seeds = [
    'GET /a/1?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTraceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n\r\nabc',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
    `${H2_PREFACE}\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x0d\x01\x05\x00\x00\x00\x01\x82\x86\x84\x41\x08www.a.bc`,
  ].map(enc);

  function mutate(r: () => number, base: Uint8Array): Uint8Array {
    const out = Array.from(base);
    const n = 1 + Math.floor(r() * 4);
    for (let k = 0; k < n; k++) {
      const op = Math.floor(r() * 4);
      const at = Math.floor(r() * (out.length + 1));
      if (op === 0) out[at] = Math.floor(r() * 256);
      else if (op === 1) out.splice(at, 1);
      else if (op === 2) out.splice(at, 0, Math.floor(r() * 256));
      else out.splice(at, 0, ...out.slice(0, Math.floor(r() * 16)));
    }
    return Uint8Array.from(out);
  }

  it('L7 engine: mutated HTTP/1, HTTP/2 and random bytes, random splits and truncation', () => {
    const r = rng(42);
    for (let i = 0; i < CASES; i++) {
      const base = seeds[i % seeds.length]!;
      const data = r() < 0.1 ? Uint8Array.from({ length: Math.floor(r() * 200) }, () => Math.floor(r() * 256)) : mutate(r, base);
      const inputs = [];
      for (let off = 0; off < data.length;) {
        const len = 1 + Math.floor(r() * 40);
        const piece = data.subarray(off, off + len);
        const truncate = r() < 0.05;
        inputs.push({
          dir: (r() < 0.7 ? 'ingress' : 'egress') as 'ingress' | 'egress',
          data: truncate ? piece.subarray(0, 1) : piece,
          bytesTotal: piece.length,
        });
        off += len;
      }
      const { maxBuffered } = feed(inputs, (['server', 'client', 'unknown'] as const)[i % 3]);
      expect(maxBuffered).toBeLessThan(300 * 1024);
    }
  });

  it('HPACK decoder: only HpackError, bounded table', () => {
    const r = rng(43);
    const d = new HpackDecoder();
    for (let i = 0; i < CASES; i++) {
      const block = Uint8Array.from({ length: Math.floor(r() * 64) }, () => Math.floor(r() * 256));
      try {
        d.decode(block);
      } catch (e) {
        expect(e).toBeInstanceOf(HpackError);
      }
      expect(d.dynamicTableBytes).toBeLessThanOrEqual(4096);
    }
  });

  it('traceparent, tracestate and route never throw', () => {
    const r = rng(44);
    const alphabet = '0123456789abcdefABCDEF-=,/@ xyz\t';
    for (let i = 0; i < CASES; i++) {
      const s = Array.from({ length: Math.floor(r() * 70) }, () => alphabet[Math.floor(r() * alphabet.length)]).join('');
      const tp = parseTraceparent(s);
      if (tp) expect(tp.traceId).toMatch(/^[0-9a-f]{32}$/);
      parseTracestate(s);
      expect(routeOf(`/${s}`).length).toBeLessThanOrEqual(256);
    }
  });
});
