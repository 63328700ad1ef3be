// Test helper: a loopback TCP proxy that records each connection's bytes in arrival order, one
// record per socket read — real bytes from real servers and clients, as the kernel side would see
// them — and a replayer that feeds them to the L7 engine as DataChunks.
import net from 'node:net';
import { createL7Engine } from '../../../src/network/index.js';
import type { L7Engine, L7EngineOptions, RequestRecord, RequestStart } from '../../../src/network/index.js';

export interface Piece {
  /** 'c2s' = client to server. */
  dir: 'c2s' | 's2c';
  data: Buffer;
}

export interface RecordingProxy {
  port: number;
  conns: Piece[][];
  close(): Promise<void>;
}

export async function startProxy(targetPort: number): Promise<RecordingProxy> {
  const conns: Piece[][] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const log: Piece[] = [];
    conns.push(log);
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) sockets.add(s);
    client.on('data', (d) => {
      log.push({ dir: 'c2s', data: Buffer.from(d) });
      upstream.write(d);
    });
    upstream.on('data', (d) => {
      log.push({ dir: 's2c', data: Buffer.from(d) });
      client.write(d);
    });
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    conns,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

export interface ReplayOptions {
  /** Bytes captured per piece (the kernel's capture limit); the rest is reported via bytesTotal. */
  captureBytes?: number;
  /** Split every piece into reads of at most this many bytes (1 = byte by byte). */
  splitBytes?: number;
  role?: 'server' | 'client';
  /** Pieces lost on the way (a dropped ring-buffer record): their bytes advance seq only. */
  drop?: ReadonlySet<Piece>;
  engine?: Partial<L7EngineOptions>;
}

/** Feed recorded connections to a fresh engine as the server (or client) side saw them. */
export function replay(conns: Piece[][], opts: ReplayOptions = {}): { records: RequestRecord[]; starts: RequestStart[]; engine: L7Engine } {
  const records: RequestRecord[] = [];
  const starts: RequestStart[] = [];
  const engine = createL7Engine({ onRequest: (r) => records.push(r), onRequestStart: (s) => starts.push(s), ...opts.engine });
  const role = opts.role ?? 'server';
  let t = 1_000_000n;
  conns.forEach((pieces, i) => {
    const key = { pid: 100, fd: 7, connCookie: BigInt(i + 1) }; // same fd each time: reuse must not mix
    engine.onConnOpen({ ...key, tid: 101, role, timeMonoNs: t });
    const seq = { ingress: 0, egress: 0 };
    for (const p of pieces) {
      const direction = (p.dir === 'c2s') === (role === 'server') ? 'ingress' : 'egress';
      if (opts.drop?.has(p)) {
        seq[direction] += p.data.length;
        continue;
      }
      const step = opts.splitBytes ?? p.data.length;
      for (let off = 0; off < p.data.length; off += step) {
        const part = p.data.subarray(off, off + step);
        t += 1000n;
        const captured = opts.captureBytes === undefined ? part : part.subarray(0, opts.captureBytes);
        engine.onChunk({
          ...key,
          tid: direction === 'ingress' ? 101 : 102,
          direction,
          seqBytes: seq[direction],
          bytesTotal: part.length,
          data: new Uint8Array(captured),
          timeMonoNs: t,
        });
        seq[direction] += part.length;
      }
    }
    engine.onConnClose({ ...key, timeMonoNs: (t += 1000n) });
  });
  return { records, starts, engine };
}

/** `METHOD path status` multiset as a sorted list, for comparing with ground truth. */
export function summary(rs: Array<{ method: string; path: string; status?: number }>): string[] {
  return rs.map((r) => `${r.method} ${r.path} ${r.status ?? '-'}`).sort();
}
