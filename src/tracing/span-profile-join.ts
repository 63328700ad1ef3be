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
 * thread let go of it is unknown (`handoff`); the network side, fed through `networkProgress`, was
 * too far behind to know the sample's requests (`stale`).
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
  /** Of `untagged`: the network side never caught up with them (10 × maxDelay). */
  stale: number;
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
/** A sample still undecidable after this many maxDelays is released untagged (network side stuck). */
const STALE_FACTOR = 10n;

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
  /** Latest event time the network side has delivered (networkProgress). */
  private networkWatermarkMonoNs = -1n;
  private progressed = false;
  /** Latest sample time seen, and when samples last arrived (drain's clock). */
  private sampleWatermarkMonoNs = -1n;
  private samplesArrived = false;
  private lastSamplesSeenMonoNs: bigint | undefined;
  /** Every sample taken up to here has been decided (as of the last decide). */
  private completeMonoNs = -1n;
  private lastProgressSeenMonoNs: bigint | undefined;
  private readonly counts = { tagged: 0, ambiguous: 0, untagged: 0, overflow: 0, late: 0, tainted: 0, handoff: 0, stale: 0, droppedHeldSpans: 0 };

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
      // The start may not know the name yet (no method/route in RequestStart).
      iv.spanName = span.name;
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

  /**
   * The network side has delivered its events up to `eventMonoNs` (call with each connection event
   * or data chunk's time; cheap). Optional: without it samples are decided maxDelay after they were
   * taken; with it, also never past what the network side has delivered while it is busy, so a
   * lagging capture cannot turn an ambiguous sample into a wrong exact one.
   */
  networkProgress(eventMonoNs: bigint): void {
    if (eventMonoNs > this.networkWatermarkMonoNs) this.networkWatermarkMonoNs = eventMonoNs;
    this.progressed = true;
  }

  addSamples(samples: readonly CpuSample[]): void {
    for (const s of samples) {
      this.pending.push(s);
      if (s.timeMonoNs > this.sampleWatermarkMonoNs) this.sampleWatermarkMonoNs = s.timeMonoNs;
    }
    if (samples.length) this.samplesArrived = true;
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

  /**
   * Samples whose fate is decided, in arrival order. Call periodically, and with force=true on
   * shutdown once the network side has delivered everything (capture closed): all pending samples
   * are then decided with what is known.
   */
  drain(nowMonoNs: bigint, force = false): CpuSample[] {
    this.decide(nowMonoNs, force);
    const out = this.decided;
    this.decided = [];
    return out;
  }

  /**
   * With holdEndedSpans: the held SERVER spans whose samples are all decided (ended ≥ maxDelay
   * ago and before what the sampler and network side have delivered; all on force), annotated. Also decides due samples (returned by the next `drain`).
   */
  drainSpans(nowMonoNs: bigint, force = false): Span[] {
    this.decide(nowMonoNs, force);
    const ready: Span[] = [];
    const keep: Span[] = [];
    for (const span of this.held) {
      if (force || span.endMonoNs <= this.completeMonoNs) ready.push(this.annotate(span));
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
      stale: this.counts.stale,
      openIntervals: this.intervals.openCount(),
      intervals: this.intervals.size,
      evictedIntervals: this.intervals.evicted,
      evictedSpanTotals: this.cpu.evicted,
      droppedHeldSpans: this.counts.droppedHeldSpans,
    };
  }

  /**
   * Latest instant up to which samples can be decided. Normally now − maxDelay; while the network
   * side is active but behind (its latest event older than that), no later than its latest event:
   * deciding past it could miss a request not yet announced and tag exactly what is ambiguous.
   */
  private decidableUpTo(nowMonoNs: bigint): bigint {
    if (this.progressed) {
      this.lastProgressSeenMonoNs = nowMonoNs;
      this.progressed = false;
    }
    const dueBefore = nowMonoNs - this.maxDelayNs;
    const active = this.lastProgressSeenMonoNs !== undefined && nowMonoNs - this.lastProgressSeenMonoNs < this.maxDelayNs;
    return active && this.networkWatermarkMonoNs < dueBefore ? this.networkWatermarkMonoNs : dueBefore;
  }

  /**
   * Up to when every sample has been seen and decided: `upTo`, or earlier while the sampler is
   * delivering but behind (its latest sample older than upTo). Intervals and span totals are kept
   * until a maxDelay past this, so a slow sampler makes no sample late.
   */
  private completeUpTo(nowMonoNs: bigint, upTo: bigint): bigint {
    if (this.samplesArrived) {
      this.lastSamplesSeenMonoNs = nowMonoNs;
      this.samplesArrived = false;
    }
    const active = this.lastSamplesSeenMonoNs !== undefined && nowMonoNs - this.lastSamplesSeenMonoNs < this.maxDelayNs;
    return active && this.sampleWatermarkMonoNs < upTo ? this.sampleWatermarkMonoNs : upTo;
  }

  private decide(nowMonoNs: bigint, force: boolean): void {
    const upTo = this.decidableUpTo(nowMonoNs);
    this.completeMonoNs = force ? nowMonoNs : this.completeUpTo(nowMonoNs, upTo);
    const staleBefore = nowMonoNs - STALE_FACTOR * this.maxDelayNs;
    // Compacted in place: this runs every tick over every pending sample.
    const pending = this.pending;
    let kept = 0;
    for (const s of pending) {
      if (force || s.timeMonoNs <= upTo) {
        this.tag(s);
        this.decided.push(s);
      } else if (s.timeMonoNs <= staleBefore) {
        // Past what the network side has delivered: release untagged rather than guess.
        this.untag(s, 'stale');
        this.decided.push(s);
      } else pending[kept++] = s;
    }
    pending.length = kept;
    if (force) return;
    // Keep one more maxDelay of intervals for stragglers.
    const forgetBefore = this.completeMonoNs - this.maxDelayNs;
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

  private untag(s: CpuSample, why?: 'late' | 'tainted' | 'handoff' | 'stale'): void {
    this.counts.untagged++;
    if (why) this.counts[why]++;
  }
}
