// Real Node http server + real clients through a recording proxy; ground truth is what the server
// handler saw and what it answered. The bytes are replayed whole, byte by byte, and truncated.
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replay, startProxy, summary } from './capture.js';
import type { Piece, RecordingProxy } from './capture.js';

const MiB = 1024 * 1024;
let server: http.Server;
let proxy: RecordingProxy;
const truth: Array<{ method: string; path: string; status: number }> = [];

function statusFor(url: string): number {
  const m = /status=(\d{3})/.exec(url);
  return m ? Number(m[1]) : 200;
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const path = req.url!.split('?')[0]!;
    const status = statusFor(req.url!);
    req.resume();
    req.on('end', () => {
      truth.push({ method: req.method!, path, status });
      if (path === '/big') {
        res.writeHead(200, { 'content-type': 'application/octet-stream' }); // chunked: no length
        const piece = Buffer.alloc(64 * 1024, 0x61);
        for (let i = 0; i < 16; i++) res.write(piece);
        res.end();
        return;
      }
      res.writeHead(status, { 'content-type': 'text/plain', 'set-cookie': 'session=SECRET-COOKIE' });
      res.end(req.method === 'HEAD' ? undefined : `hello ${path}`);
    });
  });
  server.keepAliveTimeout = 100;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  proxy = await startProxy((server.address() as net.AddressInfo).port);
});
afterAll(async () => {
  await proxy.close();
  await new Promise<void>((r) => server.close(() => r()));
});

async function rawExchange(payload: string | Buffer[], expectResponses: number): Promise<void> {
  const s = net.connect(proxy.port, '127.0.0.1');
  await new Promise<void>((r) => s.once('connect', r));
  let got = '';
  const done = new Promise<void>((resolve) => {
    s.on('data', (d) => {
      got += d.toString('latin1');
      if ((got.match(/HTTP\/1\.1 \d{3}/g) ?? []).length >= expectResponses && /\r\n\r\n[^]*$/.test(got)) resolve();
    });
  });
  if (typeof payload === 'string') s.write(payload);
  else for (const p of payload) await new Promise<void>((r) => s.write(p, () => setTimeout(r, 1)));
  await done;
  await new Promise((r) => setTimeout(r, 20));
  s.end();
}

let conns: Piece[][] = [];

describe('HTTP/1.x from a real Node server', () => {
  beforeAll(async () => {
    // keep-alive requests through one agent, various methods and statuses
    const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
    const reqs: Array<[string, string]> = [
      ['GET', '/users/42?token=abc'],
      ['POST', '/users'],
      ['GET', '/items/123e4567-e89b-12d3-a456-426614174000'],
      ['PUT', '/users/7?status=404'],
      ['DELETE', '/x?status=500'],
      ['HEAD', '/head'],
      ['GET', '/big'],
      ['PATCH', '/p?status=204'],
      ['GET', '/'],
    ];
    for (const [method, path] of reqs) {
      await new Promise<void>((resolve, reject) => {
        const req = http.request(
          {
            agent,
            port: proxy.port,
            host: '127.0.0.1',
            method,
            path,
            headers: { authorization: 'Bearer SECRET-TOKEN', traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
          },
          (res) => {
            res.resume();
            res.on('end', resolve);
          },
        );
        req.on('error', reject);
        req.end(method === 'POST' ? 'x'.repeat(1000) : undefined);
      });
    }
    agent.destroy();
    // pipelined: five requests in one write
    const pipelined = Array.from({ length: 5 }, (_, i) => `GET /pipe/${i}?status=${200 + i} HTTP/1.1\r\nHost: x\r\n\r\n`).join('');
    await rawExchange(pipelined, 5);
    // one request written one byte at a time
    const oneByOne = 'POST /bytes HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello';
    await rawExchange(
      Array.from(oneByOne, (c) => Buffer.from(c)),
      1,
    );
    conns = proxy.conns.filter((c) => c.length > 0);
  });

  it('every request once, with method/path/status as the server saw them', () => {
    const { records, engine } = replay(conns);
    expect(summary(records)).toEqual(summary(truth));
    expect(engine.counters.parseErrors).toBe(0);
    expect(records.every((r) => r.protocol === 'http1' && r.role === 'server' && r.requestTid === 101 && r.responseTid === 102)).toBe(true);
  });

  it('same answer when every read is a single byte', () => {
    // The 1 MiB response is left out: a million 1-byte reads would only cost time.
    const small = conns.filter((c) => !c.some((p) => p.data.includes('GET /big')));
    const { records } = replay(small, { splitBytes: 1 });
    expect(summary(records)).toEqual(summary(truth.filter((t) => t.path !== '/big')));
    expect(records.find((r) => r.path === '/bytes')!.requestBodyBytes).toBe(5);
  });

  it('pipelined responses pair in order', () => {
    const { records } = replay(conns);
    const pipe = records.filter((r) => r.path.startsWith('/pipe/'));
    expect(pipe.map((r) => `${r.path} ${r.status}`)).toEqual([0, 1, 2, 3, 4].map((i) => `/pipe/${i} ${200 + i}`));
  });

  it('1 MiB chunked response: exact size; with a 4 KiB capture limit still the right requests', () => {
    const full = replay(conns).records.find((r) => r.path === '/big')!;
    expect(full.status).toBe(200);
    expect(full.responseBodyBytes).toBe(MiB);
    expect(full.errorType).toBeUndefined();
    // Truncated reads that cut through chunk framing lose the body's end: the record keeps its
    // method/path/status and says data_lost rather than inventing a size.
    const { records, engine } = replay(conns, { captureBytes: 4096 });
    const big = records.find((r) => r.path === '/big')!;
    expect(big.status).toBe(200);
    expect(big.errorType === undefined ? big.responseBodyBytes === MiB : big.errorType === 'data_lost').toBe(true);
    expect(engine.counters.gaps).toBeGreaterThan(0);
    expect(summary(records)).toEqual(summary(truth));
  });

  it('sizes, route, privacy and traceparent', () => {
    const { records } = replay(conns);
    const post = records.find((r) => r.method === 'POST' && r.path === '/users')!;
    expect(post.requestBodyBytes).toBe(1000);
    expect(post.responseBodyBytes).toBe('hello /users'.length);
    expect(post.traceparent).toMatchObject({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', parentId: '00f067aa0ba902b7' });
    expect(records.find((r) => r.path.startsWith('/users/42'))!.path).toBe('/users/42');
    expect(records.find((r) => r.path.startsWith('/items/'))!.route).toBe('/items/{id}');
    const head = records.find((r) => r.method === 'HEAD')!;
    expect(head.responseBodyBytes).toBe(0);
    const text = JSON.stringify(records, (_k, v) => (typeof v === 'bigint' ? String(v) : v));
    expect(text).not.toContain('SECRET');
    expect(text).not.toContain('token=abc');
    const kept = replay(conns, { engine: { keepQuery: true } }).records;
    expect(kept.some((r) => r.path === '/users/42?token=abc')).toBe(true);
  });

  it('a lost chunk mid-stream never pairs a response with the wrong request', () => {
    // Drop whole pieces (lost ring-buffer records) from the keep-alive connection, each in turn.
    const statusOf = new Map(truth.map((t) => [`${t.method} ${t.path}`, t.status]));
    const keepAlive = conns.reduce((a, b) => (b.length > a.length ? b : a));
    let gaps = 0;
    let withStatus = 0;
    for (let i = 0; i < keepAlive.length; i++) {
      const { records, engine } = replay([keepAlive], { drop: new Set([keepAlive[i]!]) });
      gaps += engine.counters.gaps; // 0 when nothing followed the dropped piece in its direction
      for (const r of records) {
        if (r.status === undefined) continue;
        withStatus++;
        expect(r.status).toBe(statusOf.get(`${r.method} ${r.path}`));
      }
    }
    expect(gaps).toBeGreaterThan(0);
    expect(withStatus).toBeGreaterThan(0);
  });
});
