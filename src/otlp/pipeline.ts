/**
 * One signal's path from `export*()` to the wire: a bounded queue that drops the oldest item when
 * full (and counts it), batching by size (maxExportBatchSize) and time (scheduledDelayMs), one
 * request in flight, and retries with exponential backoff + jitter on retryable outcomes.
 *
 * Contract with callers: push() is synchronous, O(batch), never throws and never waits on the
 * network — the agent keeps profiling whatever the backend does. Memory is bounded by
 * maxQueueSize items (and maxQueueWeight) plus maxConcurrentExports batches in flight (each at
 * most maxExportBatchSize items and maxBatchWeight).
 *
 * Delivery: a batch is re-sent until it succeeds, fails permanently, exceeds backoff.maxElapsedMs,
 * or shutdown's deadline passes; items are counted in exactly one of exported / dropped.
 */
import { backoffDelayMs, type BackoffPolicy, type ExportResult } from './retry.js';
import type { Signal } from './types.js';

/** How long shutdown waits past its deadline for sends already in flight to land. */
const SHUTDOWN_SETTLE_MS = 250;

/** What a batch becomes before it is sent: protobuf/JSON bytes, or (in-process) a request object with its estimated size. */
export interface Body {
  readonly byteLength: number;
}

export interface Encoded<B extends Body = Uint8Array> {
  body: B;
  /** Items in the batch that could not be encoded (skipped). */
  malformed: number;
  firstError?: string;
}

export interface PipelineOptions<T, B extends Body = Uint8Array> {
  signal: Signal;
  maxQueueSize: number;
  maxExportBatchSize: number;
  scheduledDelayMs: number;
  /**
   * Optional second bound for items of very different sizes (profile windows): the queue also
   * drops oldest while the summed weight would exceed maxQueueWeight. The newest item always stays.
   */
  weightOf?: (item: T) => number;
  maxQueueWeight?: number;
  /** With weightOf: a batch stops before exceeding this weight (batches in flight count against memory too). */
  maxBatchWeight?: number;
  /** Records an item stands for (default 1), e.g. the windows in one pre-encoded profiles request; stats count records. */
  countOf?: (item: T) => number;
  /** Requests in flight at once (default 1). More hides round trips; each holds one encoded batch. */
  maxConcurrentExports?: number;
  backoff: BackoffPolicy;
  encode(batch: T[]): Encoded<B>;
  send(body: B, timeoutMs?: number): Promise<ExportResult>;
  log(message: string): void;
}

export interface SignalStats {
  /** Items the backend accepted (partial-success rejections excluded). */
  exported: number;
  /** Items lost for any reason (overflow + permanent failure + retries exhausted + shutdown). */
  dropped: number;
  /** Of dropped: evicted because the queue was full. */
  droppedOverflow: number;
  /** Re-sent requests. */
  retries: number;
  queueDepth: number;
  /** Items the backend reported rejected in a partial-success response. */
  rejected: number;
  /** Items skipped because they could not be encoded. */
  malformed: number;
  /** Requests sent (first attempts and retries). */
  requests: number;
  /** Encoded bytes sent (first attempts and retries); in-process: the requests' estimated encoded size. */
  bytesSent: number;
}

export function emptyStats(): SignalStats {
  return { exported: 0, dropped: 0, droppedOverflow: 0, retries: 0, queueDepth: 0, rejected: 0, malformed: 0, requests: 0, bytesSent: 0 };
}

export class SignalPipeline<T, B extends Body = Uint8Array> {
  /** Items queued; the live part is queue[head..]. A head index makes drop-oldest O(1). */
  private queue: T[] = [];
  private head = 0;
  private weight = 0;
  /** Records queued (sum of countOf), reported as queueDepth. */
  private queuedRecords = 0;
  private readonly counts = emptyStats();
  private timer: NodeJS.Timeout | undefined;
  private inFlight = 0;
  /** Resolvers waiting for any in-flight export to finish (flush). */
  private waiters: Array<() => void> = [];
  private closed = false;
  private flushing = 0;
  private kickPending = false;
  /** Time after which retries stop (set by shutdown). */
  private deadline = Infinity;
  private readonly sleepers = new Set<() => void>();
  private failing = false;

  constructor(private readonly o: PipelineOptions<T, B>) {}

  private count(items: readonly T[]): number {
    if (!this.o.countOf) return items.length;
    let n = 0;
    for (const item of items) n += this.o.countOf(item);
    return n;
  }

  /** Records lost before they reached the queue (conversion failures, staging overflow), for stats. */
  noteDropped(n: number, reason: 'malformed' | 'overflow'): void {
    this.counts.dropped += n;
    if (reason === 'malformed') this.counts.malformed += n;
    else this.counts.droppedOverflow += n;
  }

  /** Parts of records skipped during conversion (e.g. profile samples) that did not drop a record. */
  noteMalformedParts(n: number): void {
    this.counts.malformed += n;
  }

  /** Enough queued for a full batch: by weight when batches are cut by weight, else by item count. */
  private fullBatchQueued(): boolean {
    if (this.o.weightOf && this.o.maxBatchWeight !== undefined && this.weight >= this.o.maxBatchWeight) return true;
    return this.depth >= this.o.maxExportBatchSize;
  }

  private get depth(): number {
    return this.queue.length - this.head;
  }

  /** Removes up to n items from the front; with weights, also stops before a batch outweighs maxBatchWeight. */
  private take(n: number): T[] {
    let end = Math.min(this.queue.length, this.head + n);
    if (this.o.weightOf && this.o.maxBatchWeight !== undefined) {
      let w = 0;
      for (let i = this.head; i < end; i++) {
        w += this.o.weightOf(this.queue[i]!);
        if (w > this.o.maxBatchWeight && i > this.head) {
          end = i;
          break;
        }
      }
    }
    const batch = this.queue.slice(this.head, end);
    this.head = end;
    if (this.o.weightOf) for (const item of batch) this.weight -= this.o.weightOf(item);
    this.queuedRecords -= this.count(batch);
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return batch;
  }

  push(items: readonly T[]): void {
    if (this.closed) {
      this.counts.dropped += this.count(items);
      return;
    }
    const maxWeight = this.o.maxQueueWeight ?? Infinity;
    for (const item of items) {
      const w = this.o.weightOf ? this.o.weightOf(item) : 0;
      while (this.depth > 0 && (this.depth >= this.o.maxQueueSize || this.weight + w > maxWeight)) {
        // Drop oldest: recent data is worth more to someone looking at a live system.
        const oldest = this.queue[this.head]!;
        if (this.o.weightOf) this.weight -= this.o.weightOf(oldest);
        (this.queue as Array<T | undefined>)[this.head++] = undefined;
        const n = this.o.countOf ? this.o.countOf(oldest) : 1;
        this.queuedRecords -= n;
        this.counts.dropped += n;
        this.counts.droppedOverflow += n;
      }
      this.queue.push(item);
      this.weight += w;
      this.queuedRecords += this.o.countOf ? this.o.countOf(item) : 1;
    }
    if (this.head > this.o.maxQueueSize) this.take(0);
    this.schedule();
  }

  stats(): SignalStats {
    return { ...this.counts, queueDepth: this.queuedRecords };
  }

  /** Sends everything queued now; resolves when the queue is empty or the deadline passed. */
  async flush(): Promise<void> {
    this.flushing++;
    try {
      while ((this.depth > 0 || this.inFlight > 0) && Date.now() < this.deadline) {
        this.kick();
        if (this.inFlight === 0) break; // nothing could start (deadline passed)
        await new Promise<void>((resolve) => this.waiters.push(resolve));
      }
    } finally {
      this.flushing--;
    }
  }

  /** Stops accepting, flushes until deadlineMs from now, counts what is left as dropped. */
  async shutdown(deadlineMs: number): Promise<void> {
    this.closed = true;
    this.deadline = Date.now() + deadlineMs;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, deadlineMs)));
    await Promise.race([this.flush(), timeout]);
    clearTimeout(timer);
    for (const wake of [...this.sleepers]) wake();
    // A send in flight was given the deadline as its timeout and lands about now: wait for it
    // briefly, so its items are counted (exported or dropped) before shutdown returns (a test
    // once read 74 of 75 windows accounted for).
    const settleBy = Date.now() + SHUTDOWN_SETTLE_MS;
    while (this.inFlight > 0 && Date.now() < settleBy) {
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, settleBy - Date.now()).unref();
      });
    }
    this.counts.dropped += this.count(this.queue.slice(this.head));
    this.queue = [];
    this.head = 0;
    this.weight = 0;
    this.queuedRecords = 0;
    if (this.timer) clearTimeout(this.timer);
  }

  /** Starts exports for full batches soon, or arms the batch timer for a partial one. */
  private schedule(): void {
    if (this.fullBatchQueued()) {
      // Encoding a batch can take milliseconds (profiles): do it on a later tick, not inside the caller's push().
      if (!this.kickPending && this.inFlight < this.maxConcurrent()) {
        this.kickPending = true;
        setImmediate(() => {
          this.kickPending = false;
          this.kick();
        });
      }
    } else if (!this.timer && this.depth > 0 && !this.closed) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.kick(true);
      }, this.o.scheduledDelayMs);
      this.timer.unref();
    }
  }

  private maxConcurrent(): number {
    return this.o.maxConcurrentExports ?? 1;
  }

  /** Starts as many exports as concurrency allows; partial batches only when `partial` or flushing. */
  private kick(partial = false): void {
    while (this.inFlight < this.maxConcurrent() && this.depth > 0 && Date.now() < this.deadline) {
      if (!this.fullBatchQueued() && !partial && this.flushing === 0 && !this.closed) break;
      const batch = this.take(this.o.maxExportBatchSize);
      this.inFlight++;
      this.exportBatch(batch)
        .catch((err) => {
          this.counts.dropped += this.count(batch);
          this.o.log(`otlp ${this.o.signal}: exporter bug, batch lost: ${(err as Error).stack ?? err}`);
        })
        .finally(() => {
          this.inFlight--;
          const waiters = this.waiters;
          this.waiters = [];
          for (const w of waiters) w();
          this.schedule();
        });
    }
    if (this.timer && this.depth === 0) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  private async exportBatch(batch: T[]): Promise<void> {
    let encoded: Encoded<B>;
    try {
      encoded = this.o.encode(batch);
    } catch (err) {
      this.counts.malformed += this.count(batch);
      this.counts.dropped += this.count(batch);
      this.o.log(`otlp ${this.o.signal}: cannot encode a batch of ${batch.length}, dropped: ${(err as Error).message}`);
      return;
    }
    if (encoded.malformed > 0) {
      this.counts.malformed += encoded.malformed;
      this.counts.dropped += encoded.malformed;
      this.o.log(`otlp ${this.o.signal}: skipped ${encoded.malformed} malformed item(s), first: ${encoded.firstError}`);
    }
    const items = this.count(batch) - encoded.malformed;
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      const remaining = this.deadline - Date.now();
      if (remaining <= 0) {
        this.counts.dropped += items;
        return;
      }
      if (attempt > 1) this.counts.retries++;
      this.counts.requests++;
      this.counts.bytesSent += encoded.body.byteLength;
      const result = await this.o.send(encoded.body, Number.isFinite(remaining) ? remaining : undefined);
      if (result.kind === 'success') {
        if (this.failing) this.o.log(`otlp ${this.o.signal}: export recovered after ${attempt} attempt(s)`);
        this.failing = false;
        const rejected = Math.min(result.rejected, items);
        this.counts.rejected += rejected;
        this.counts.exported += items - rejected;
        if (rejected > 0 || result.errorMessage) {
          this.o.log(`otlp ${this.o.signal}: backend rejected ${rejected} of ${items}: ${result.errorMessage}`);
        }
        return;
      }
      if (result.kind === 'failure') {
        this.counts.dropped += items;
        this.o.log(`otlp ${this.o.signal}: export failed permanently (code ${result.code}: ${result.message}); ${items} dropped`);
        return;
      }
      if (!this.failing) this.o.log(`otlp ${this.o.signal}: export failed (code ${result.code}: ${result.message}); retrying`);
      this.failing = true;
      const delayMs = backoffDelayMs(this.o.backoff, attempt, result.retryAfterMs);
      if (Date.now() - started + delayMs > this.o.backoff.maxElapsedMs) {
        this.counts.dropped += items;
        this.o.log(`otlp ${this.o.signal}: gave up after ${attempt} attempts over ${Date.now() - started} ms; ${items} dropped`);
        return;
      }
      await this.sleep(Math.min(delayMs, Math.max(0, this.deadline - Date.now())));
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(t);
        this.sleepers.delete(wake);
        resolve();
      };
      const t = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }
}
