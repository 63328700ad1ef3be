/**
 * Span ↔ profile join on hand-built timelines with known answers, plus a seeded random timeline
 * checked against a brute-force oracle (every interval known up front, no delays, no bounds).
 */
import { describe, expect, it } from 'vitest';
import type { CpuSample } from '../../../src/profiling/index.js';
import type { Frame } from '../../../src/symbols/index.js';
import { SpanProfileJoiner, type Span } from '../../../src/tracing/index.js';

const MS = 1_000_000n;
const PERIOD_NS = 10n * MS; // 100 Hz

function frame(name: string, kind: Frame['kind'] = 'native', resolved = true): Frame {
  return { name, kind, address: 0x1000n, module: kind === 'kernel' ? '[kernel.kallsyms]' : 'server', resolved };
}

function sample(pid: number, tid: number, tMs: number, frames: Frame[] = [frame('work')]): CpuSample {
  const timeMonoNs = BigInt(tMs) * MS;
  return { timeUnixNs: timeMonoNs, timeMonoNs, pid, tid, cpu: 0, threadName: 't', processName: 'p', frames };
}

function span(id: string, pid: number, tid: number, startMs: number, endMs: number, extra: Partial<Span> = {}): Span {
  return {
    traceId: id.padStart(32, 'a'),
    spanId: id.padStart(16, '0'),
    name: `GET /${id}`,
    kind: 'server',
    startUnixNs: BigInt(startMs) * MS,
    endUnixNs: BigInt(endMs) * MS,
    startMonoNs: BigInt(startMs) * MS,
    endMonoNs: BigInt(endMs) * MS,
    attributes: { 'http.route': `/${id}` },
    statusCode: 'unset',
    pid,
    requestTid: tid,
    responseTid: tid,
    ...extra,
  };
}

function started(j: SpanProfileJoiner, s: Span): void {
  j.requestStarted({ pid: s.pid, tid: s.requestTid, startMonoNs: s.startMonoNs, traceId: s.traceId, spanId: s.spanId, spanName: s.name });
}

/** Feeds a whole request (start + end) to the joiner. */
function request(j: SpanProfileJoiner, s: Span): Span {
  started(j, s);
  j.spanEnded(s);
  return s;
}

describe('SpanProfileJoiner: attribution rule', () => {
  it('tags a sample inside the only request of its thread exactly, with that request’s ids', () => {
    const j = new SpanProfileJoiner({ periodNs: PERIOD_NS, maxDelayMs: 100 });
    const a = request(j, span('a', 1, 11, 100, 200));
    const inside = sample(1, 11, 150);
    const atStart = sample(1, 11, 100);
    const atEnd = sample(1, 11, 200);
    const before = sample(1, 11, 99);
    const after = sample(1, 11, 201);
    const otherThread = sample(1, 12, 150);
    const otherPid = sample(2, 11, 150);
    j.addSamples([inside, atStart, atEnd, before, after, otherThread, otherPid]);
    const out = j.drain(10_000n * MS);
    expect(out).toEqual([inside, atStart, atEnd, before, after, otherThread, otherPid]);
    for (const s of [inside, atStart, atEnd]) {
      expect(s).toMatchObject({ traceId: a.traceId, spanId: a.spanId, spanName: 'GET /a', spanAttribution: 'exact' });
    }
    for (const s of [before, after, otherThread, otherPid]) {
      expect(s.spanId).toBeUndefined();
      expect(s.spanAttribution).toBeUndefined();
    }
    expect(j.stats()).toMatchObject({ tagged: 3, ambiguous: 0, untagged: 4, pending: 0 });
  });

  it('overlapping requests on one thread: ambiguous with the candidate count, never a span id', () => {
    const j = new SpanProfileJoiner({ periodNs: PERIOD_NS, maxDelayMs: 100 });
    const a = request(j, span('a', 1, 7, 100, 300));
    const b = request(j, span('b', 1, 7, 200, 400));
    const c = request(j, span('c', 1, 7, 250, 260));
    const onlyA = sample(1, 7, 150);
    const aAndB = sample(1, 7, 220);
    const all3 = sample(1, 7, 255);
    const onlyB = sample(1, 7, 350);
    j.addSamples([onlyA, aAndB, all3, onlyB]);
    j.drain(450n * MS); // all due; no span ended before 450 − 2 × 100 ms, so their totals are kept
    expect(onlyA).toMatchObject({ spanId: a.spanId, spanAttribution: 'exact' });
    expect(aAndB).toMatchObject({ spanAttribution: 'ambiguous', spanCandidates: 2 });
    expect(all3).toMatchObject({ spanAttribution: 'ambiguous', spanCandidates: 3 });
    for (const s of [aAndB, all3]) expect([s.spanId, s.traceId, s.spanName]).toEqual([undefined, undefined, undefined]);
    expect(onlyB).toMatchObject({ spanId: b.spanId, spanAttribution: 'exact' });
    expect(j.annotate(a).attributes).toMatchObject({ 'hotspan.cpu.samples': 1, 'hotspan.cpu.ambiguous_samples': 2 });
    expect(j.annotate(c).attributes).toMatchObject({ 'hotspan.cpu.samples': 0, 'hotspan.cpu.ambiguous_samples': 1 });
  });

  it('a request still open when the sample is decided is in flight: candidate from its start on', () => {
    const j = new SpanProfileJoiner({ periodNs: PERIOD_NS, maxDelayMs: 100 });
    const a = span('a', 1, 5, 100, 900);
    started(j, a);
    const s1 = sample(1, 5, 150);
    j.addSamples([s1]);
    j.drain(300n * MS);
    expect(s1).toMatchObject({ spanId: a.spanId, spanAttribution: 'exact' });
  });

  it('waits maxDelay: a request announced after its samples arrived still gets them', () => {
    const j = new SpanProfileJoiner({ periodNs: PERIOD_NS, maxDelayMs: 1000 });
    const s1 = sample(1, 5, 150);
    j.addSamples([s1]);
    expect(j.drain(1100n * MS)).toEqual([]); // 150 + 1000 > 1100: not due yet
    expect(j.stats().pending).toBe(1);
    const a = request(j, span('a', 1, 5, 100, 200)); // network side reports late
    expect(j.drain(1150n * MS)).toEqual([s1]);
    expect(s1.spanId).toBe(a.spanId);
  });

  it('waits maxDelay: a second request announced late turns an apparent exact into ambiguous', () => {
    const j = new SpanProfileJoiner({ periodNs: PERIOD_NS, maxDelayMs: 1000 });
    request(j, span('a', 1, 5, 100, 300));
    const s1 = sample(1, 5, 250);
    j.addSamples([s1]);
    expect(j.drain(900n * MS)).toEqual([]);
    request(j, span('b', 1, 5, 200, 400));
    j.drain(2000n * MS);
    expect(s1).toMatchObject({ spanAttribution: 'ambiguous', spanCandidates: 2 });
  });

  it('response written by another thread: the reader’s hold on it is unknown, so untagged', () => {
    const j = new SpanProfileJoiner({ periodNs: PERIOD_NS, maxDelayMs: 100 });
    request(j, span('a', 1, 5, 100, 300, { responseTid: 6 }));
    const onReader = sample(1, 5, 200);
    const onWriter = sample(1, 6, 200);
    j.addSamples([onReader, onWriter]);
    j.drain(10_000n * MS);
    expect(onReader.spanAttribution).toBeUndefined();
    expect(onWriter.spanAttribution).toBeUndefined();
    expect(j.stats()).toMatchObject({ untagged: 2, handoff: 1 });
  });

  it('CLIENT spans never open intervals', () => {
    const j = new SpanProfileJoiner({ periodNs: PERIOD_NS, maxDelayMs: 100 });
    j.spanEnded(span('a', 1, 5, 100, 300, { kind: 'client' }));
    const s1 = sample(1, 5, 200);
    j.addSamples([s1]);
    j.drain(10_000n * MS);
    expect(s1.spanAttribution).toBeUndefined();
  });

  it('spanEnded without requestStarted still opens the interval (start taken from the span)', () => {
    const j = new SpanProfileJoiner({ periodNs: PERIOD_NS, maxDelayMs: 100 });
    const a = span('a', 1, 5, 100, 300);
    j.spanEnded(a);
    const s1 = sample(1, 5, 200);
    j.addSamples([s1]);
    j.drain(10_000n * MS);
    expect(s1.spanId).toBe(a.spanId);
  });
});

describe('SpanProfileJoiner: bounds and late data', () => {
  it('full pending queue: the oldest are released untagged (never decided early), counted', () => {
    const j = new SpanProfileJoiner({ periodNs: PERIOD_NS, maxDelayMs: 1000, maxPendingSamples: 2 });
    request(j, span('a', 1, 5, 0, 10_000));
    const s = [sample(1, 5, 100), sample(1, 5, 200), sample(1, 5, 300)];
    j.addSamples(s);
    const out = j.drain(350n * MS);
    expect(out).toEqual([s[0]]);
    expect(s[0]!.spanAttribution).toBeUndefined();
    expect(j.stats()).toMatchObject({ pending: 2, overflow: 1, untagged: 1 });
    j.drain(100_000n * MS);
    expect(s[1]!.spanAttribution).toBe('exact');
  });

  it('evicting an interval taints its thread: a sample there is untagged, not wrongly exact', () => {
    const j = new SpanProfileJoiner({ periodNs: PERIOD_NS, maxDelayMs: 100, maxIntervals: 2 });
    request(j, span('a', 1, 5, 100, 300)); // evicted by c
    const b = request(j, span('b', 1, 5, 200, 400));
    request(j, span('c', 1, 9, 100, 400));
    const overlap = sample(1, 5, 250); // a and b were both in flight: must not become exact b
    const afterTaint = sample(1, 5, 350); // only b, after a's end: exact again
    j.addSamples([overlap, afterTaint]);
    j.drain(10_000n * MS);
    expect(overlap.spanAttribution).toBeUndefined();
    expect(afterTaint.spanId).toBe(b.spanId);
    expect(j.stats()).toMatchObject({ evictedIntervals: 1, tainted: 1 });
  });

  it('evicting an open interval taints until its response is seen', () => {
    const j = new SpanProfileJoiner({ periodNs: PERIOD_NS, maxDelayMs: 100, maxIntervals: 1 });
    const a = span('a', 1, 5, 100, 500);
    started(j, a);
    const b = request(j, span('b', 1, 5, 200, 600)); // evicts open a
    j.spanEnded(a); // a's end closes the taint at 500
    const during = sample(1, 5, 300);
    const after = sample(1, 5, 550);
    j.addSamples([during, after]);
    j.drain(10_000n * MS);
    expect(during.spanAttribution).toBeUndefined();
    expect(after.spanId).toBe(b.spanId);
  });

  it('a sample arriving after its intervals were forgotten is untagged and counted late', () => {
    const j = new SpanProfileJoiner({ periodNs: PERIOD_NS, maxDelayMs: 100 });
    request(j, span('a', 1, 5, 100, 200));
    j.drain(10_000n * MS); // forgets intervals ended before 10 000 − 2 × 100 ms
    expect(j.stats().intervals).toBe(0);
    const late = sample(1, 5, 150);
    j.addSamples([late]);
    j.drain(10_001n * MS);
    expect(late.spanAttribution).toBeUndefined();
    expect(j.stats()).toMatchObject({ late: 1 });
  });

  it('force drains everything pending regardless of time', () => {
    const j = new SpanProfileJoiner({ periodNs: PERIOD_NS, maxDelayMs: 3000 });
    const a = request(j, span('a', 1, 5, 100, 200));
    const s1 = sample(1, 5, 150);
    j.addSamples([s1]);
    expect(j.drain(200n * MS)).toEqual([]);
    expect(j.drain(200n * MS, true)).toEqual([s1]);
    expect(s1.spanId).toBe(a.spanId);
  });

  it('rejects bad options with the option named', () => {
    expect(() => new SpanProfileJoiner({ periodNs: 0n })).toThrow(/periodNs must be a positive bigint/);
    expect(() => new SpanProfileJoiner({ periodNs: 1n, maxDelayMs: -1 })).toThrow(/maxDelayMs/);
    expect(() => new SpanProfileJoiner({ periodNs: 1n, maxIntervals: 0 })).toThrow(/maxIntervals must be a positive integer/);
  });
});

describe('SpanProfileJoiner: span CPU annotation', () => {
  it('cpu time = samples × period; hottest = most frequent named user leaf; profile id = span id', () => {
    const j = new SpanProfileJoiner({ periodNs: PERIOD_NS, maxDelayMs: 100 });
    const a = request(j, span('a', 1, 5, 0, 1000));
    const user = (leaf: string) => [frame(leaf), frame('handler'), frame('main')];
    const samples = [
      sample(1, 5, 10, user('burn_slow')),
      sample(1, 5, 20, user('burn_slow')),
      sample(1, 5, 30, [frame('copy_user_generic', 'kernel'), frame('write'), frame('handler')]),
      sample(1, 5, 40, [frame('server+0x1234', 'native', false), frame('parse'), frame('handler')]),
      sample(1, 5, 50, [frame('copy_user_generic', 'kernel'), frame('write'), frame('handler')]),
      sample(1, 5, 60, [frame('copy_user_generic', 'kernel'), frame('write'), frame('handler')]),
    ];
    j.addSamples(samples);
    j.drain(10_000n * MS, true);
    const out = j.annotate(a);
    expect(out.attributes).toEqual({
      'http.route': '/a',
      'hotspan.cpu.samples': 6,
      'hotspan.cpu.time': 0.06,
      'hotspan.cpu.hottest_function': 'write', // kernel leaf skipped for the user frame under it
      'pyroscope.profile.id': a.spanId,
    });
    expect(a.attributes).toEqual({ 'http.route': '/a' }); // the input span is not mutated
  });

  it('a span with no samples: measured zero, no profile id; CLIENT spans unchanged', () => {
    const j = new SpanProfileJoiner({ periodNs: PERIOD_NS, maxDelayMs: 100 });
    const a = request(j, span('a', 1, 5, 0, 1000));
    j.drain(10_000n * MS);
    expect(j.annotate(a).attributes).toEqual({ 'http.route': '/a', 'hotspan.cpu.samples': 0, 'hotspan.cpu.time': 0 });
    const c = span('c', 1, 5, 0, 1000, { kind: 'client' });
    expect(j.annotate(c)).toBe(c);
  });

  it('holdEndedSpans: drainSpans hands spans out annotated once their samples are decided', () => {
    const j = new SpanProfileJoiner({ periodNs: PERIOD_NS, maxDelayMs: 1000, holdEndedSpans: true });
    const a = span('a', 1, 5, 100, 200);
    started(j, a);
    j.spanEnded(a);
    j.addSamples([sample(1, 5, 150), sample(1, 5, 160)]);
    expect(j.drainSpans(1100n * MS)).toEqual([]); // 200 + 1000 > 1100
    // Due by time, but the sampler (delivering recently) has shown nothing past 160 ms yet.
    expect(j.drainSpans(1250n * MS)).toEqual([]);
    j.addSamples([sample(1, 9, 240)]); // the sampler got past the span's end
    const [out] = j.drainSpans(1300n * MS);
    expect(out!.attributes['hotspan.cpu.samples']).toBe(2);
    expect(j.drain(1300n * MS)).toHaveLength(3);
  });
});

/** Mulberry32: a tiny seeded PRNG so the random timeline is the same on every run. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('SpanProfileJoiner against a brute-force oracle', () => {
  it('random overlapping requests on 4 threads, events and samples delivered late and shuffled', () => {
    const rand = rng(42);
    const spans: Span[] = [];
    for (let i = 0; i < 400; i++) {
      const tid = 1 + Math.floor(rand() * 4);
      const startMs = Math.floor(rand() * 20_000);
      spans.push(span(i.toString(16), 1, tid, startMs, startMs + 1 + Math.floor(rand() * 300)));
    }
    const samples: CpuSample[] = [];
    for (let t = 0; t < 20_400; t += 3) samples.push(sample(1, 1 + (t % 4), t));

    const j = new SpanProfileJoiner({ periodNs: PERIOD_NS, maxDelayMs: 500 });
    // Deliver in 100 ms ticks; each event/sample shows up 0–400 ms after it happened.
    type Ev = { atMs: number; run: () => void };
    const events: Ev[] = [];
    for (const s of spans) {
      events.push({ atMs: Number(s.startMonoNs / MS) + Math.floor(rand() * 400), run: () => started(j, s) });
      events.push({ atMs: Number(s.endMonoNs / MS) + Math.floor(rand() * 400), run: () => j.spanEnded(s) });
    }
    for (const s of samples) events.push({ atMs: Number(s.timeMonoNs / MS) + Math.floor(rand() * 400), run: () => j.addSamples([s]) });
    events.sort((a, b) => a.atMs - b.atMs);
    const out: CpuSample[] = [];
    let next = 0;
    for (let tick = 0; tick <= 22_000; tick += 100) {
      while (next < events.length && events[next]!.atMs <= tick) events[next++]!.run();
      out.push(...j.drain(BigInt(tick) * MS));
    }
    out.push(...j.drain(22_000n * MS, true));
    expect(out).toHaveLength(samples.length);

    let exact = 0;
    let ambiguous = 0;
    for (const s of samples) {
      const inFlight = spans.filter((sp) => sp.requestTid === s.tid && sp.startMonoNs <= s.timeMonoNs && s.timeMonoNs <= sp.endMonoNs);
      if (inFlight.length === 1) {
        expect(s).toMatchObject({ spanAttribution: 'exact', spanId: inFlight[0]!.spanId, traceId: inFlight[0]!.traceId });
        exact++;
      } else if (inFlight.length > 1) {
        expect(s).toMatchObject({ spanAttribution: 'ambiguous', spanCandidates: inFlight.length });
        expect(s.spanId).toBeUndefined();
        ambiguous++;
      } else {
        expect(s.spanAttribution).toBeUndefined();
      }
    }
    // The timeline must exercise all three outcomes for the comparison to mean something.
    expect(exact).toBeGreaterThan(200);
    expect(ambiguous).toBeGreaterThan(20);
    expect(j.stats()).toMatchObject({ tagged: exact, ambiguous, late: 0, tainted: 0, overflow: 0 });
  });
});

describe('SpanProfileJoiner: network watermark', () => {
  it('while the network side is busy but behind, samples past its latest event wait instead of being decided', () => {
    const j = new SpanProfileJoiner({ periodNs: PERIOD_NS, maxDelayMs: 1000 });
    request(j, span('a', 1, 5, 100, 5000));
    const s1 = sample(1, 5, 1000);
    j.addSamples([s1]);
    j.networkProgress(500n * MS); // busy: events up to 500 ms delivered at "now" 2000 ms
    expect(j.drain(2000n * MS)).toEqual([]);
    // The overlapping request shows up once the network side catches up: ambiguous, not exact a.
    request(j, span('b', 1, 5, 900, 1200));
    j.networkProgress(1500n * MS);
    expect(j.drain(2100n * MS)).toEqual([s1]);
    expect(s1).toMatchObject({ spanAttribution: 'ambiguous', spanCandidates: 2 });
  });

  it('a quiet network side (no progress for maxDelay) does not hold samples back', () => {
    const j = new SpanProfileJoiner({ periodNs: PERIOD_NS, maxDelayMs: 100 });
    j.networkProgress(500n * MS);
    j.drain(600n * MS);
    const s1 = sample(1, 5, 1000);
    j.addSamples([s1]);
    expect(j.drain(1200n * MS)).toEqual([s1]);
  });

  it('a network side that never catches up: samples released untagged after 10 × maxDelay, counted stale', () => {
    const j = new SpanProfileJoiner({ periodNs: PERIOD_NS, maxDelayMs: 100 });
    request(j, span('a', 1, 5, 100, 5000));
    const s1 = sample(1, 5, 1000);
    j.addSamples([s1]);
    for (let now = 1100; now <= 2000; now += 100) {
      j.networkProgress(200n * MS);
      j.drain(BigInt(now) * MS);
    }
    expect(s1.spanAttribution).toBeUndefined();
    expect(j.stats()).toMatchObject({ stale: 1, pending: 0 });
  });
});

it('the span name comes from the ended span when the start did not know it', () => {
  const j = new SpanProfileJoiner({ periodNs: PERIOD_NS, maxDelayMs: 100 });
  const a = span('a', 1, 5, 100, 300);
  j.requestStarted({ pid: 1, tid: 5, startMonoNs: a.startMonoNs, traceId: a.traceId, spanId: a.spanId, spanName: '' });
  j.spanEnded(a);
  const s1 = sample(1, 5, 200);
  j.addSamples([s1]);
  j.drain(10_000n * MS);
  expect(s1.spanName).toBe('GET /a');
});
