/**
 * Span ↔ profile join: tags each CPU sample with the SERVER span whose request its thread was
 * handling when the sample was taken, and sums each span's CPU.
 *
 * Rule (never a guess): a sample on thread T at CLOCK_MONOTONIC t is
 *   - exact      when exactly one request read by T was in flight on T at t
 *                (from the read of its first bytes to the write of the end of its response);
 *   - ambiguous  when several were (event-loop servers): no span id, `spanCandidates` = how many;
 *   - untagged   when none was, or when the join cannot be sure (see below).
 * Samples and network events reach user space through different ring buffers, each a little late,
 * so a sample waits `maxDelayMs` before its fate is decided: by then every request that could
 * contain it has announced its start (and, if it ended before t, its end).
 *
 * Not sure → untagged, counted: the thread's interval list lost an entry to the memory bound
 * (`tainted`); the sample came later than the intervals are kept (`late`); the pending queue was
 * full (`overflow`); the only candidate's response was written by another thread, so when this
 * thread let go of it is unknown (`handoff`).
 *
 * Tags are written onto the CpuSample objects themselves (the same objects the Profiler put in its
 * windows), and the decided samples are also returned by `drain`.
 */
import type { CpuSample } from '../profiling/index.js';
import { ThreadIntervals, threadKey, type RequestInterval } from './join-intervals.js';
import { SpanCpuTable, withCpuAttributes } from './span-cpu.js';
import type { Span } from './types.js';

export interface JoinOptions {
  /** Sampling period (1e9 / frequency), for CPU time = samples × period. */
  periodNs: bigint;
  /** How long samples wait for their thread's request intervals to be known (default 3000). */
  maxDelayMs?: number;
  /** Most samples waiting for a decision; beyond it the oldest are released untagged (default 200 000). */
  maxPendingSamples?: number;
  /** Most request intervals kept, open or closed (default 100 000). */
  maxIntervals?: number;
  /** Most spans with CPU totals kept until annotated (default 100 000). */
  maxSpans?: number;
  /**
   * Keep ended SERVER spans until their samples are decided and hand them out annotated from
   * `drainSpans` (default false: the caller holds them and calls `annotate`).
   */
  holdEndedSpans?: boolean;
}

export interface JoinStats {
  tagged: number;
  ambiguous: number;
  untagged: number;
  pending: number;
  /** Of `untagged`: released early because the pending queue was full. */
  overflow: number;
  /** Of `untagged`: arrived after the intervals of their time were forgotten. */
  late: number;
  /** Of `untagged`: on a thread whose interval list had lost an entry to the memory bound. */
  tainted: number;
  /** Of `untagged`: sole candidate answered by another thread. */
  handoff: number;
  openIntervals: number;
  intervals: number;
  evictedIntervals: number;
  evictedSpanTotals: number;
  /** Ended spans dropped from the hold queue because it was full (holdEndedSpans). */
  droppedHeldSpans: number;
}

export interface RequestStartedEvent {
  pid: number;
  tid: number;
  startMonoNs: bigint;
  traceId: string;
  spanId: string;
  spanName: string;
}

const NS_PER_MS = 1_000_000n;
/** Open requests this old no longer taint (or hold) anything: a response never seen. */
const OPEN_TAINT_MAX_NS = 10n * 60n * 1_000_000_000n;

export class SpanProfileJoiner {
  private readonly periodNs: bigint;
  private readonly maxDelayNs: bigint;
  private readonly maxPending: number;
  private readonly maxHeldSpans: number;
  private readonly holdSpans: boolean;
  private readonly intervals: ThreadIntervals;
  private readonly cpu: SpanCpuTable;
  private pending: CpuSample[] = [];
  private decided: CpuSample[] = [];
  private held: Span[] = [];
  /** Closed intervals that ended at or before this were forgotten; older samples are late. */
  private forgottenBeforeMonoNs = -1n;
  private readonly counts = { tagged: 0, ambiguous: 0, untagged: 0, overflow: 0, late: 0, tainted: 0, handoff: 0, droppedHeldSpans: 0 };

  constructor(opts: JoinOptions) {
    if (typeof opts.periodNs !== 'bigint' || opts.periodNs <= 0n) {
      throw new Error(`SpanProfileJoiner: periodNs must be a positive bigint (1e9 / frequencyHz), got ${String(opts.periodNs)}`);
    }
    const maxDelayMs = opts.maxDelayMs ?? 3000;
    if (!Number.isInteger(maxDelayMs) || maxDelayMs < 0) {
      throw new Error(`SpanProfileJoiner: maxDelayMs must be a non-negative integer, got ${maxDelayMs}`);
    }
    for (const k of ['maxPendingSamples', 'maxIntervals', 'maxSpans'] as const) {
      const v = opts[k];
      if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new Error(`SpanProfileJoiner: ${k} must be a positive integer, got ${v}`);
    }
    this.periodNs = opts.periodNs;
    this.maxDelayNs = BigInt(maxDelayMs) * NS_PER_MS;
    this.maxPending = opts.maxPendingSamples ?? 200_000;
    this.intervals = new ThreadIntervals(opts.maxIntervals ?? 100_000);
    this.cpu = new SpanCpuTable(opts.maxSpans ?? 100_000);
    this.maxHeldSpans = opts.maxSpans ?? 100_000;
    this.holdSpans = opts.holdEndedSpans ?? false;
  }

  /** A server request started on (pid, tid) at startMonoNs: from onRequestStart, ids fixed then. */
  requestStarted(s: RequestStartedEvent): void {
    this.intervals.add({
      traceId: s.traceId,
      spanId: s.spanId,
      spanName: s.spanName,
      threadKey: threadKey(s.pid, s.tid),
      startMonoNs: s.startMonoNs,
      handoff: false,
    });
  }

  /** The span finished. SERVER spans close their interval (or add it, if its start was never announced). */
  spanEnded(span: Span): void {
    if (span.kind !== 'server') return;
    const handoff = span.responseTid !== undefined && span.responseTid !== span.requestTid;
    const iv = this.intervals.get(span.spanId);
    if (iv) {
      iv.endMonoNs = span.endMonoNs;
      iv.handoff = handoff;
    } else if (!this.intervals.endEvicted(span.spanId, span.endMonoNs) && span.endMonoNs > this.forgottenBeforeMonoNs) {
      this.intervals.add({
        traceId: span.traceId,
        spanId: span.spanId,
        spanName: span.name,
        threadKey: threadKey(span.pid, span.requestTid),
        startMonoNs: span.startMonoNs,
        endMonoNs: span.endMonoNs,
        handoff,
      });
    }
    if (this.holdSpans) {
      if (this.held.length >= this.maxHeldSpans) {
        this.held.shift();
        this.counts.droppedHeldSpans++;
      }
      this.held.push(span);
    }
  }

  addSamples(samples: readonly CpuSample[]): void {
    for (const s of samples) this.pending.push(s);
    if (this.pending.length > this.maxPending) {
      // Deciding early could miss a request not announced yet; untagged is never wrong.
      const excess = this.pending.splice(0, this.pending.length - this.maxPending);
      for (const s of excess) {
        this.counts.untagged++;
        this.counts.overflow++;
        this.decided.push(s);
      }
    }
  }

  /** Samples whose fate is decided, in arrival order. Call periodically, and with force=true on shutdown. */
  drain(nowMonoNs: bigint, force = false): CpuSample[] {
    this.decide(nowMonoNs, force);
    const out = this.decided;
    this.decided = [];
    return out;
  }

  /**
   * With holdEndedSpans: the held SERVER spans whose samples are all decided (ended ≥ maxDelay
   * ago, or all on force), annotated. Also decides due samples (returned by the next `drain`).
   */
  drainSpans(nowMonoNs: bigint, force = false): Span[] {
    this.decide(nowMonoNs, force);
    const ready: Span[] = [];
    const keep: Span[] = [];
    for (const span of this.held) {
      if (force || span.endMonoNs + this.maxDelayNs <= nowMonoNs) ready.push(this.annotate(span));
      else keep.push(span);
    }
    this.held = keep;
    return ready;
  }

  /**
   * The span with `hotspan.cpu.*` and `pyroscope.profile.id` (see README.md). Complete once the
   * samples up to span end + maxDelay have been drained (drain(now) with now ≥ end + maxDelay);
   * call it before end + 2 × maxDelay, when the span's totals are forgotten. Releases the totals.
   */
  annotate(span: Span): Span {
    const out = withCpuAttributes(span, this.cpu.get(span.spanId), this.periodNs);
    this.cpu.delete(span.spanId);
    return out;
  }

  stats(): JoinStats {
    return {
      tagged: this.counts.tagged,
      ambiguous: this.counts.ambiguous,
      untagged: this.counts.untagged,
      pending: this.pending.length,
      overflow: this.counts.overflow,
      late: this.counts.late,
      tainted: this.counts.tainted,
      handoff: this.counts.handoff,
      openIntervals: this.intervals.openCount(),
      intervals: this.intervals.size,
      evictedIntervals: this.intervals.evicted,
      evictedSpanTotals: this.cpu.evicted,
      droppedHeldSpans: this.counts.droppedHeldSpans,
    };
  }

  private decide(nowMonoNs: bigint, force: boolean): void {
    const dueBefore = nowMonoNs - this.maxDelayNs;
    const keep: CpuSample[] = [];
    for (const s of this.pending) {
      if (force || s.timeMonoNs <= dueBefore) {
        this.tag(s);
        this.decided.push(s);
      } else keep.push(s);
    }
    this.pending = keep;
    if (force) return;
    // Samples up to `dueBefore` are decided; keep one more maxDelay of intervals for stragglers.
    const forgetBefore = dueBefore - this.maxDelayNs;
    for (const iv of this.intervals.prune(forgetBefore)) {
      if (iv.endMonoNs! > this.forgottenBeforeMonoNs) this.forgottenBeforeMonoNs = iv.endMonoNs!;
      // Totals not annotated by now (span end + 2 × maxDelay) never will be: do not let them pile up.
      this.cpu.delete(iv.spanId);
    }
    this.intervals.pruneTaints(forgetBefore, nowMonoNs - OPEN_TAINT_MAX_NS);
  }

  private tag(s: CpuSample): void {
    if (s.timeMonoNs <= this.forgottenBeforeMonoNs) {
      this.untag(s, 'late');
      return;
    }
    const found = this.intervals.lookup(threadKey(s.pid, s.tid), s.timeMonoNs);
    if (found.kind === 'tainted') {
      this.untag(s, 'tainted');
      return;
    }
    const c = found.intervals;
    if (c.length === 0) {
      this.untag(s);
    } else if (c.length === 1) {
      const iv = c[0]!;
      if (iv.handoff) this.untag(s, 'handoff');
      else this.tagExact(s, iv);
    } else {
      s.spanAttribution = 'ambiguous';
      s.spanCandidates = c.length;
      this.counts.ambiguous++;
      for (const iv of c) this.cpu.addAmbiguous(iv.spanId);
    }
  }

  private tagExact(s: CpuSample, iv: RequestInterval): void {
    s.traceId = iv.traceId;
    s.spanId = iv.spanId;
    s.spanName = iv.spanName;
    s.spanAttribution = 'exact';
    this.counts.tagged++;
    this.cpu.addExact(iv.spanId, s);
  }

  private untag(s: CpuSample, why?: 'late' | 'tainted' | 'handoff'): void {
    this.counts.untagged++;
    if (why) this.counts[why]++;
  }
}
