// Real node:http2 and @grpc/grpc-js servers and clients through a recording proxy; ground truth is
// what the handlers saw and answered.
import http2 from 'node:http2';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { beforeAll, describe, expect, it } from 'vitest';
import { replay, startProxy, summary } from './capture.js';
import type { Piece } from './capture.js';

describe('HTTP/2 from a real node:http2 server', () => {
  let conns: Piece[][] = [];
  const truth: Array<{ method: string; path: string; status: number }> = [];
  const TP = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

  beforeAll(async () => {
    const server = http2.createServer((req, res) => {
      const p = req.url.split('?')[0]!;
      const status = p.startsWith('/missing') ? 404 : 200;
      req.resume();
      req.on('end', () => {
        truth.push({ method: req.method, path: p, status });
        res.writeHead(status, { 'set-cookie': 'sid=SECRET-COOKIE' });
        res.end('x'.repeat(Number(/len=(\d+)/.exec(req.url)?.[1] ?? 10)));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const proxy = await startProxy((server.address() as net.AddressInfo).port);
    const client = http2.connect(`http://127.0.0.1:${proxy.port}`);
    // 50 concurrent streams, same headers repeated so HPACK's dynamic table is exercised.
    await Promise.all(
      Array.from(
        { length: 50 },
        (_, i) =>
          new Promise<void>((resolve, reject) => {
            const p = i % 10 === 9 ? `/missing/${i}` : `/items/${i}?len=${i * 100}`;
            const s = client.request({ ':method': i % 5 === 0 ? 'POST' : 'GET', ':path': p, authorization: 'Bearer SECRET-TOKEN', traceparent: TP });
            s.on('response', () => undefined);
            s.resume();
            s.on('end', resolve);
            s.on('error', reject);
            s.end(i % 5 === 0 ? 'body-bytes' : undefined);
          }),
      ),
    );
    client.close();
    await new Promise((r) => setTimeout(r, 50));
    conns = proxy.conns.filter((c) => c.length > 0);
    await proxy.close();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('50 concurrent streams: every request once with the right method, path, status', () => {
    const { records, engine } = replay(conns);
    expect(truth).toHaveLength(50);
    expect(summary(records)).toEqual(summary(truth));
    expect(engine.counters.parseErrors).toBe(0);
    expect(engine.counters.droppedRequests).toBe(0);
    const r17 = records.find((r) => r.path === '/items/17')!;
    expect(r17).toMatchObject({ protocol: 'http2', httpVersion: '2', responseBodyBytes: 1700, route: '/items/{id}' });
    expect(records.find((r) => r.path === '/items/5')!.requestBodyBytes).toBe('body-bytes'.length);
    expect(records.every((r) => r.traceparent?.traceId === '0af7651916cd43dd8448eb211c80319c')).toBe(true);
    const text = JSON.stringify(records, (_k, v) => (typeof v === 'bigint' ? String(v) : v));
    expect(text).not.toContain('SECRET');
  });

  it('byte-by-byte reads give the same answer', () => {
    expect(summary(replay(conns, { splitBytes: 1 }).records)).toEqual(summary(truth));
  });

  it('after lost pieces: no wrong headers — every reported request matches ground truth', () => {
    const conn = conns[0]!;
    const known = new Set(summary(truth));
    for (let i = 1; i < conn.length; i++) {
      const { records, engine } = replay([conn], { drop: new Set([conn[i]!]) });
      for (const r of records) expect(known.has(`${r.method} ${r.path} ${r.status ?? '-'}`) || r.status === undefined).toBe(true);
      expect(records.length + engine.counters.droppedRequests).toBeLessThanOrEqual(50);
    }
  });
});

describe('gRPC from a real @grpc/grpc-js server', () => {
  let conns: Piece[][] = [];
  beforeAll(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotspan-grpc-'));
    const protoFile = path.join(dir, 'greeter.proto');
    fs.writeFileSync(
      protoFile,
      'syntax = "proto3"; package helloworld; service Greeter { rpc SayHello (HelloRequest) returns (HelloReply); }' +
        ' message HelloRequest { string name = 1; } message HelloReply { string message = 1; }',
    );
    const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(protoFile)) as any;
    const server = new grpc.Server();
    server.addService(pkg.helloworld.Greeter.service, {
      SayHello: (call: any, cb: any) =>
        call.request.name === 'missing' ? cb({ code: grpc.status.NOT_FOUND, details: 'no' }) : cb(null, { message: `hi ${call.request.name}` }),
    });
    const port = await new Promise<number>((res, rej) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
    );
    const proxy = await startProxy(port);
    const client = new pkg.helloworld.Greeter(`127.0.0.1:${proxy.port}`, grpc.credentials.createInsecure());
    for (const name of ['a', 'missing', 'b']) {
      await new Promise<void>((resolve) => client.SayHello({ name }, () => resolve()));
    }
    client.close();
    await new Promise((r) => setTimeout(r, 50));
    conns = proxy.conns.filter((c) => c.length > 0);
    await proxy.close();
    server.forceShutdown();
    fs.rmSync(dir, { recursive: true });
  });

  it('service, method and grpc-status from trailers', () => {
    const { records } = replay(conns);
    expect(records.map((r) => [r.method, r.path, r.status, r.grpc?.service, r.grpc?.method, r.grpc?.status])).toEqual([
      ['POST', '/helloworld.Greeter/SayHello', 200, 'helloworld.Greeter', 'SayHello', 0],
      ['POST', '/helloworld.Greeter/SayHello', 200, 'helloworld.Greeter', 'SayHello', 5],
      ['POST', '/helloworld.Greeter/SayHello', 200, 'helloworld.Greeter', 'SayHello', 0],
    ]);
  });
});
