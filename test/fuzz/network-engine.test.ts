// Fuzzing the L7 engine with every byte a workload's peer controls: generated HTTP/1, HTTP/2 +
// HPACK and gRPC conversations (ground truth known), the same bytes under random splits, mutated
// and truncated streams with gaps, large HPACK tables, CONTINUATION floods and stream storms.
// Asserted: no throw, records equal ground truth (or are dropped — never mislabelled), the
// engine's incremental accounting equals a recount, every bound holds, and the process heap stays
// bounded. Seeded; case counts printed. NETWORK_FUZZ_CASES=1000000 runs a million on demand.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { createL7Engine, routeCacheStats, routeOf, type L7Engine, type NetworkBounds, type RequestRecord } from '../../src/network/index.js';
import { MAX_ROUTE_CACHE_BYTES } from '../../src/network/route.js';
import {
  concat,
  frame,
  FRAME,
  H2_PREFACE_BYTES,
  headerFrames,
  HpackEncoder,
  http1Conversation,
  indexed,
  http2Conversation,
  int,
  mutate,
  rng,
  settings,
  split,
  type Conversation,
  type Event,
  type Rng,
  type Truth,
} from './network-gen.js';

const CASES = Number(process.env.NETWORK_FUZZ_CASES ?? 500);

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Heap plus ArrayBuffer backing stores (Uint8Arrays live outside the JS heap), after a full GC. */
function retainedBytes(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

const MiB = 1024 * 1024;
/** The engine's accounting without the (module-wide) route cache, which earlier tests filled. */
const connectionBytes = (e: L7Engine): number => e.bufferedBytes() - routeCacheStats().bytes;
const fmt = (n: number): string => `${(n / MiB).toFixed(2)} MiB`;

/** Feeds events to one engine on any number of connections, with exact per-direction offsets. */
class Driver {
  readonly records: RequestRecord[] = [];
  readonly engine: L7Engine;
  private readonly seq = new Map<bigint, { ingress: number; egress: number }>();
  private t = 1n;

  constructor(bounds: Partial<NetworkBounds> = {}) {
    this.engine = createL7Engine({ onRequest: (r) => this.records.push(r), bounds, monoToUnixOffsetNs: 0n });
  }

  open(cookie: bigint, role: 'server' | 'client' | 'unknown' = 'server'): void {
    this.engine.onConnOpen({ pid: 1, fd: Number(cookie % 1000n), connCookie: cookie, tid: 1, role, timeMonoNs: this.t++ });
    this.seq.set(cookie, { ingress: 0, egress: 0 });
  }

  /** One syscall; `captured` < data.length truncates it, `skip` loses bytes before it. */
  chunk(cookie: bigint, dir: 'ingress' | 'egress', data: Uint8Array, opts: { captured?: number; skip?: number } = {}): void {
    const s = this.seq.get(cookie)!;
    s[dir] += opts.skip ?? 0;
    this.engine.onChunk({
      pid: 1,
      fd: Number(cookie % 1000n),
      connCookie: cookie,
      tid: 7,
      direction: dir,
      seqBytes: s[dir],
      bytesTotal: data.length,
      data: opts.captured === undefined ? data : data.subarray(0, opts.captured),
      timeMonoNs: this.t,
    });
    s[dir] += data.length;
  }

  /** A whole event at one instant (all its pieces share a timestamp, so splits cannot change records). */
  event(cookie: bigint, e: Event, pieces: Uint8Array[] = [e.data]): void {
    for (const p of pieces) this.chunk(cookie, e.dir, p);
    this.t++;
  }

  close(cookie: bigint): void {
    this.engine.onConnClose({ pid: 1, fd: Number(cookie % 1000n), connCookie: cookie, timeMonoNs: this.t++ });
    this.seq.delete(cookie);
  }

  checkAccounting(): void {
    expect(this.engine.bufferedBytes()).toBe(this.engine.recountBytes());
    expect(this.engine.trackedStreams).toBeLessThanOrEqual(this.engine.bounds.maxStreamsTotal);
  }
}

const view = (r: RequestRecord) => ({
  method: r.method,
  path: r.path,
  status: r.status,
  streamId: r.streamId,
  grpc: r.grpc,
});
const truthView = (t: Truth) => ({ method: t.method, path: t.path, status: t.status, streamId: t.streamId, grpc: t.grpc });

function conversation(r: Rng, kind: number): Conversation {
  if (kind === 0) return http1Conversation(r);
  if (kind === 1) return http2Conversation(r, { maxRefAge: 16 });
  return http2Conversation(r, { grpc: true });
}

function runConversation(c: Conversation, r?: Rng, bounds?: Partial<NetworkBounds>): RequestRecord[] {
  const d = new Driver(bounds);
  d.open(1n);
  for (const e of c.events) d.event(1n, e, r ? split(r, e.data) : [e.data]);
  d.close(1n);
  d.checkAccounting();
  expect(d.engine.trackedStreams).toBe(0);
  return d.records;
}

describe(`network engine fuzz (seeded; ${CASES} cases per property, NETWORK_FUZZ_CASES to change)`, () => {
  it('HTTP/1, HTTP/2 + HPACK, gRPC: records equal ground truth under any split of the same bytes', () => {
    const r = rng(1001);
    let records = 0;
    for (let i = 0; i < CASES; i++) {
      const c = conversation(r, i % 3);
      const whole = runConversation(c);
      expect(whole.map(view)).toEqual(c.truth.map(truthView));
      const pieces = runConversation(c, r);
      expect(pieces.map(view)).toEqual(whole.map(view));
      records += whole.length;
    }
    console.log(`split fuzz: ${CASES} conversations, ${records} requests, every split equal to ground truth`);
  });

  it('mutated, truncated and gapped streams on many connections: no throw, exact accounting, bounds hold', () => {
    const r = rng(2002);
    const bounds: Partial<NetworkBounds> = { maxEngineBytes: 256 * 1024, maxStreamsTotal: 40, maxStreamsPerConnection: 4, maxHpackTableBytes: 256 };
    const d = new Driver(bounds);
    const live: bigint[] = [];
    let chunks = 0;
    const before = retainedBytes();
    for (let i = 0; i < CASES; i++) {
      const cookie = BigInt(i + 1);
      d.open(cookie, (['server', 'client', 'unknown'] as const)[i % 3]);
      live.push(cookie);
      const c = conversation(r, i % 3);
      for (const e of c.events) {
        const data = r() < 0.3 ? mutate(r, e.data) : e.data;
        for (const p of split(r, data)) {
          const opts = { ...(r() < 0.03 && { captured: int(r, p.length + 1) }), ...(r() < 0.02 && { skip: 1 + int(r, 64) }) };
          d.chunk(cookie, e.dir, p, opts);
          chunks++;
          expect(d.engine.bufferedBytes() - routeCacheStats().bytes).toBeLessThanOrEqual(bounds.maxEngineBytes!);
        }
      }
      if (i % 50 === 0) d.checkAccounting();
      // Half the connections stay open (unanswered state piles up); the rest close.
      if (r() < 0.5) d.close(live.splice(int(r, live.length), 1)[0]!);
    }
    d.checkAccounting();
    const held = retainedBytes() - before;
    console.log(
      `mutation fuzz: ${CASES} connections, ${chunks} chunks, ${d.records.length} records; ` +
        `engine says ${fmt(d.engine.bufferedBytes())}, heap grew ${fmt(held)}; counters ${JSON.stringify(d.engine.counters)}`,
    );
    // Engine budget plus the route cache plus what the test itself holds (records, connection list).
    expect(held).toBeLessThan(bounds.maxEngineBytes! + MAX_ROUTE_CACHE_BYTES + d.records.length * 1_500 + 2 * MiB);
    for (const cookie of live) d.close(cookie);
    expect(d.engine.trackedStreams).toBe(0);
    expect(d.engine.bufferedBytes()).toBe(d.engine.recountBytes());
  });

  it('HPACK tables past the cap: requests that reference dropped entries are unknown, never mislabelled', () => {
    const r = rng(3003);
    let reported = 0;
    let total = 0;
    let capped = 0;
    for (let i = 0; i < Math.max(50, CASES / 10); i++) {
      // The server allows the client a 1 MiB table; the engine keeps 512 bytes of it.
      const c = http2Conversation(r, { streams: 40, maxRefAge: 40, serverTableBytes: 1 << 20 });
      const d = new Driver({ maxHpackTableBytes: 512 });
      d.open(1n);
      for (const e of c.events) d.event(1n, e, split(r, e.data));
      d.close(1n);
      const truth = new Map(c.truth.map((t) => [t.streamId, t]));
      for (const rec of d.records) expect(view(rec)).toEqual(truthView(truth.get(rec.streamId)!));
      reported += d.records.length;
      total += c.truth.length;
      capped += d.engine.counters.hpackTableCapped;
    }
    console.log(`HPACK cap fuzz: ${total} requests, ${reported} reported (all equal to ground truth), ${total - reported} unknown; cap hit ${capped} times`);
    expect(capped).toBeGreaterThan(0);
    expect(reported).toBeLessThan(total);
    expect(reported).toBeGreaterThan(total / 4);
  });
});

// ------------------------------------------------------------------ the reproduced attacks

function h2Open(d: Driver, cookie: bigint, serverSettings: Array<[number, number]> = []): void {
  d.open(cookie);
  d.chunk(cookie, 'ingress', concat([H2_PREFACE_BYTES, settings([])]));
  d.chunk(cookie, 'egress', settings(serverSettings));
}

describe('regressions: the attacks reproduced in issue #11 stay bounded', () => {
  it('empty CONTINUATION flood (18 MB sent): retained memory stays under 1 MiB and is accounted', () => {
    const d = new Driver();
    const before = retainedBytes();
    h2Open(d, 1n);
    const empty = frame(FRAME.CONTINUATION, 0, 1, []);
    const chunkFrames = (64 * 1024) / 9;
    const flood = concat(Array.from({ length: chunkFrames }, () => empty));
    let sent = 0;
    let maxAccounted = 0;
    for (let i = 0; sent < 18e6; i++) {
      // Each syscall restarts a block, so every one of them is parsed, not skipped while resyncing.
      d.chunk(1n, 'ingress', concat([frame(FRAME.HEADERS, 0, 1, indexed(2)), flood]));
      sent += flood.length + 10;
      maxAccounted = Math.max(maxAccounted, connectionBytes(d.engine));
    }
    const held = retainedBytes() - before;
    console.log(
      `CONTINUATION flood: sent ${fmt(sent)}, heap grew ${fmt(held)}, engine accounted ≤ ${maxAccounted} B, header blocks capped ${d.engine.counters.headerBlocksCapped}`,
    );
    expect(held).toBeLessThan(1 * MiB);
    expect(maxAccounted).toBeLessThan(64 * 1024);
    expect(d.engine.counters.headerBlocksCapped).toBeGreaterThan(250);
    d.checkAccounting();
  });

  it('a peer-announced 4 GiB HPACK table: held to maxHpackTableBytes, later requests still decode', () => {
    const d = new Driver();
    const before = retainedBytes();
    h2Open(d, 1n, [[1, 0xffffffff]]);
    const e = new HpackEncoder(false);
    const value = 'v'.repeat(4000);
    let sent = 0;
    let id = 1;
    // 10 000 entries of 4 KB: 40 MB the peer's encoder may legally keep in its table.
    for (let i = 0; i < 10_000; i += 10) {
      const block: Uint8Array[] = i === 0 ? [e.sizeUpdate(0x7fffffff)] : [];
      for (let k = 0; k < 10; k++) block.push(e.literalIndexed(`x-h${i + k}`, value));
      block.push(indexed(2), indexed(6), e.literal(':path', `/p${i}`));
      const data = concat(headerFrames(id, block, true));
      d.chunk(1n, 'ingress', data);
      d.chunk(1n, 'egress', concat(headerFrames(id, indexed(8), true)));
      sent += data.length;
      id += 2;
    }
    const held = retainedBytes() - before;
    console.log(
      `4 GiB HPACK table: sent ${fmt(sent)}, heap grew ${fmt(held)}, engine ${connectionBytes(d.engine)} B, cap hit ${d.engine.counters.hpackTableCapped} times, ${d.records.length} requests decoded`,
    );
    expect(held).toBeLessThan(2 * MiB);
    // One table at the cap (plus per-entry overhead), the other near empty, a connection's fixed cost.
    expect(connectionBytes(d.engine)).toBeLessThan(d.engine.bounds.maxHpackTableBytes * 2 + 64 * 1024);
    expect(d.engine.counters.hpackTableCapped).toBeGreaterThan(0);
    // Requests that reference no dropped entry decode exactly.
    expect(d.records.map((r) => r.path)).toEqual(Array.from({ length: 1000 }, (_, k) => `/p${k * 10}`));
    d.checkAccounting();
  });

  it('stream storm: 1024 unanswered streams on each of 40 connections stay within the stream caps and the budget', () => {
    // The total cap is lowered so that both stream caps are hit with a storm that runs in seconds.
    const d = new Driver({ maxStreamsTotal: 8192 });
    const before = retainedBytes();
    const e = new HpackEncoder(false);
    // 3 kB of kept strings per stream: under MAX_STREAM_HEADER_BYTES, so they are really held.
    const block = concat([
      indexed(2),
      e.literal(':path', `/${'p'.repeat(1500)}`),
      e.literal('tracestate', `k=${'t'.repeat(1000)}`),
      e.literal('content-type', 'x'.repeat(500)),
    ]);
    for (let c = 1n; c <= 40n; c++) {
      h2Open(d, c);
      for (let s = 0; s < 1024; s++) d.chunk(c, 'ingress', concat(headerFrames(1 + 2 * s, block, true)));
    }
    const held = retainedBytes() - before;
    const b = d.engine.bounds;
    console.log(
      `stream storm: 40 × 1024 streams sent, ${d.engine.trackedStreams} tracked, capped ${d.engine.counters.streamsCapped}, shed ${d.engine.counters.budgetShedConnections}; engine ${fmt(d.engine.bufferedBytes())}, heap grew ${fmt(held)}`,
    );
    expect(d.engine.trackedStreams).toBeLessThanOrEqual(b.maxStreamsTotal);
    expect(d.engine.counters.streamsCapped).toBeGreaterThan(0);
    expect(connectionBytes(d.engine)).toBeLessThanOrEqual(b.maxEngineBytes);
    expect(held).toBeLessThan(b.maxEngineBytes * 1.5);
    // Accounting is honest: the heap holds about what the engine says (within 25%).
    expect(held).toBeGreaterThan(connectionBytes(d.engine) * 0.75);
    d.checkAccounting();
    for (let c = 1n; c <= 40n; c++) d.close(c);
    expect(d.engine.trackedStreams).toBe(0);
  });

  it('route cache from remote clients: unique long paths stay within MAX_ROUTE_CACHE_BYTES', () => {
    const before = retainedBytes();
    for (let i = 0; i < 50_000; i++) routeOf(`/u/${i}/${'x'.repeat(i % 600)}/${i.toString(36)}`);
    const s = routeCacheStats();
    const held = retainedBytes() - before;
    console.log(`route cache: 50000 unique paths, ${s.entries} cached, ${fmt(s.bytes)} accounted, ${s.evictions} evictions, heap grew ${fmt(held)}`);
    expect(s.bytes).toBeLessThanOrEqual(MAX_ROUTE_CACHE_BYTES);
    expect(s.evictions).toBeGreaterThan(0);
    expect(held).toBeLessThan(3 * MAX_ROUTE_CACHE_BYTES);
  });

  it('many connections each holding a header block in progress: the global budget sheds, heap follows', () => {
    const bounds = { maxEngineBytes: 16 * MiB };
    const d = new Driver(bounds);
    const before = retainedBytes();
    const block = new Uint8Array(60_000).fill(0x41);
    for (let c = 1n; c <= 1000n; c++) {
      h2Open(d, c);
      // HEADERS without END_HEADERS: the engine must hold the fragment until a CONTINUATION.
      d.chunk(c, 'ingress', frame(FRAME.HEADERS, 0, 1, block));
    }
    const held = retainedBytes() - before;
    console.log(
      `budget: 1000 connections × 60 kB partial blocks (58 MiB), engine ${fmt(d.engine.bufferedBytes())}, shed ${d.engine.counters.budgetShedConnections}, heap grew ${fmt(held)}`,
    );
    expect(d.engine.bufferedBytes() - routeCacheStats().bytes).toBeLessThanOrEqual(bounds.maxEngineBytes);
    expect(d.engine.counters.budgetShedConnections).toBeGreaterThan(0);
    expect(held).toBeLessThan(bounds.maxEngineBytes * 1.5);
    d.checkAccounting();
  });
});
