/**
 * Per-thread request intervals for the span ↔ profile join: which SERVER requests a thread was
 * handling at a given CLOCK_MONOTONIC instant. Pure data structure, no I/O.
 *
 * An interval runs from the request's start (the read of its first bytes, syscall exit) to the end
 * of its response (the last write, syscall exit) on the thread that read it. While the response is
 * not seen yet the interval is open: the request is still in flight, so it is a candidate for any
 * later sample on that thread.
 *
 * Memory is bounded: at most `maxIntervals` intervals are kept. Evicting one means samples on its
 * thread may miss a candidate, so the thread is marked unreliable over the evicted interval
 * ("tainted"; until its response is seen if it was open): its samples there stay untagged rather
 * than risk an exact tag that should have been ambiguous.
 */

export interface RequestInterval {
  traceId: string;
  spanId: string;
  spanName: string;
  threadKey: ThreadKey;
  startMonoNs: bigint;
  /** Undefined while the response has not been seen. */
  endMonoNs?: bigint;
  /** The response was written by another thread: when the reader let go of it is unknown. */
  handoff: boolean;
}

/** (pid, tid) as one number: looked up for every sample, so no string is built per sample. */
export type ThreadKey = number;

/** Linux pid_max is at most 2^22 (PID_MAX_LIMIT): pid × 2^22 + tid is unique and below 2^44. */
const PID_LIMIT = 4_194_304;

export function threadKey(pid: number, tid: number): ThreadKey {
  return pid * PID_LIMIT + tid;
}

/** Candidates of one lookup: the intervals containing the instant, or why none can be trusted. */
export type Lookup = { kind: 'candidates'; intervals: readonly RequestInterval[] } | { kind: 'tainted' };

/** Most samples find no request on their thread: one shared answer instead of an object per sample. */
const NO_CANDIDATES: Lookup = Object.freeze({ kind: 'candidates', intervals: Object.freeze([]) as readonly RequestInterval[] });
const TAINTED: Lookup = Object.freeze({ kind: 'tainted' });

export class ThreadIntervals {
  private readonly byThread = new Map<ThreadKey, RequestInterval[]>();
  /** By span id; Map order = insertion order, used to evict the oldest. */
  private readonly bySpan = new Map<string, RequestInterval>();
  /** Thread key → the time range in which its candidate list may be incomplete (open: no end yet). */
  private readonly tainted = new Map<ThreadKey, { fromMonoNs: bigint; toMonoNs?: bigint }>();
  /** Evicted intervals still open, by span id: their end closes their thread's taint. */
  private readonly evictedOpen = new Map<string, ThreadKey>();
  evicted = 0;

  constructor(private readonly maxIntervals: number) {}

  get size(): number {
    return this.bySpan.size;
  }

  openCount(): number {
    let n = 0;
    for (const iv of this.bySpan.values()) if (iv.endMonoNs === undefined) n++;
    return n;
  }

  get(spanId: string): RequestInterval | undefined {
    return this.bySpan.get(spanId);
  }

  add(iv: RequestInterval): void {
    if (this.bySpan.has(iv.spanId)) return;
    while (this.bySpan.size >= this.maxIntervals) this.evictOldest();
    this.bySpan.set(iv.spanId, iv);
    let list = this.byThread.get(iv.threadKey);
    if (!list) this.byThread.set(iv.threadKey, (list = []));
    list.push(iv);
  }

  /** Intervals on the thread containing `tMonoNs` (start ≤ t ≤ end; open intervals never end). */
  lookup(key: ThreadKey, tMonoNs: bigint): Lookup {
    if (this.tainted.size !== 0) {
      const taint = this.tainted.get(key);
      if (taint && tMonoNs >= taint.fromMonoNs && (taint.toMonoNs === undefined || tMonoNs <= taint.toMonoNs)) return TAINTED;
    }
    const list = this.byThread.get(key);
    if (list === undefined) return NO_CANDIDATES;
    let intervals: RequestInterval[] | undefined;
    for (const iv of list) {
      if (iv.startMonoNs <= tMonoNs && (iv.endMonoNs === undefined || tMonoNs <= iv.endMonoNs)) (intervals ??= []).push(iv);
    }
    return intervals === undefined ? NO_CANDIDATES : { kind: 'candidates', intervals };
  }

  /**
   * Forgets closed intervals that ended before `beforeMonoNs`, and taints that have outlived it
   * (samples that old are no longer looked up). Returns the forgotten intervals.
   */
  prune(beforeMonoNs: bigint): RequestInterval[] {
    const out: RequestInterval[] = [];
    // In place: called every tick, and most lists lose nothing.
    for (const [key, list] of this.byThread) {
      let kept = 0;
      for (const iv of list) {
        if (iv.endMonoNs !== undefined && iv.endMonoNs < beforeMonoNs) {
          this.bySpan.delete(iv.spanId);
          out.push(iv);
        } else list[kept++] = iv;
      }
      list.length = kept;
      if (kept === 0) this.byThread.delete(key);
    }
    return out;
  }

  /**
   * The response of a span that is not (or no longer) held was seen. Returns true when it was an
   * evicted open interval: its thread's taint now ends there.
   */
  endEvicted(spanId: string, endMonoNs: bigint): boolean {
    const key = this.evictedOpen.get(spanId);
    if (key === undefined) return false;
    this.evictedOpen.delete(spanId);
    const taint = this.tainted.get(key);
    // Another evicted request still open on the thread keeps the taint open.
    const othersOpen = [...this.evictedOpen.values()].includes(key);
    if (taint && taint.toMonoNs === undefined && !othersOpen) taint.toMonoNs = endMonoNs;
    return true;
  }

  /** Drops closed taints that ended before `beforeMonoNs` and open ones started before `openBeforeMonoNs`. */
  pruneTaints(beforeMonoNs: bigint, openBeforeMonoNs: bigint): void {
    for (const [key, t] of this.tainted) {
      if (t.toMonoNs !== undefined ? t.toMonoNs < beforeMonoNs : t.fromMonoNs < openBeforeMonoNs) this.tainted.delete(key);
    }
  }

  private evictOldest(): void {
    const first = this.bySpan.values().next();
    if (first.done) return;
    const iv = first.value;
    this.bySpan.delete(iv.spanId);
    const list = this.byThread.get(iv.threadKey);
    if (list) {
      const rest = list.filter((x) => x !== iv);
      if (rest.length) this.byThread.set(iv.threadKey, rest);
      else this.byThread.delete(iv.threadKey);
    }
    // One merged range per thread keeps taints bounded by the number of threads.
    const prev = this.tainted.get(iv.threadKey);
    const fromMonoNs = prev && prev.fromMonoNs < iv.startMonoNs ? prev.fromMonoNs : iv.startMonoNs;
    const open = iv.endMonoNs === undefined || (prev !== undefined && prev.toMonoNs === undefined);
    const toMonoNs = open ? undefined : prev?.toMonoNs !== undefined && prev.toMonoNs > iv.endMonoNs! ? prev.toMonoNs : iv.endMonoNs!;
    this.tainted.set(iv.threadKey, toMonoNs === undefined ? { fromMonoNs } : { fromMonoNs, toMonoNs });
    if (iv.endMonoNs === undefined) {
      if (this.evictedOpen.size >= this.maxIntervals) this.evictedOpen.delete(this.evictedOpen.keys().next().value as string);
      this.evictedOpen.set(iv.spanId, iv.threadKey);
    }
    this.evicted++;
  }
}
