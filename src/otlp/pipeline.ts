/**
 * One signal's path from `export*()` to the wire: a bounded queue that drops the oldest item when
 * full (and counts it), batching by size (maxExportBatchSize) and time (scheduledDelayMs), one
 * request in flight, and retries with exponential backoff + jitter on retryable outcomes.
 *
 * Contract with callers: push() is synchronous, O(batch), never throws and never waits on the
 * network — the agent keeps profiling whatever the backend does. Memory is bounded by
 * maxQueueSize items plus the one batch in flight.
 *
 * Delivery: a batch is re-sent until it succeeds, fails permanently, exceeds backoff.maxElapsedMs,
 * or shutdown's deadline passes; items are counted in exactly one of exported / dropped.
 */
import { backoffDelayMs, type BackoffPolicy, type ExportResult } from './retry.js';
import type { Signal } from './types.js';

export interface Encoded {
  body: Uint8Array;
  /** Items in the batch that could not be encoded (skipped). */
  malformed: number;
  firstError?: string;
}

export interface PipelineOptions<T> {
  signal: Signal;
  maxQueueSize: number;
  maxExportBatchSize: number;
  scheduledDelayMs: number;
  backoff: BackoffPolicy;
  encode(batch: T[]): Encoded;
  send(body: Uint8Array, timeoutMs?: number): Promise<ExportResult>;
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
  /** Encoded bytes sent (first attempts and retries). */
  bytesSent: number;
}

export function emptyStats(): SignalStats {
  return { exported: 0, dropped: 0, droppedOverflow: 0, retries: 0, queueDepth: 0, rejected: 0, malformed: 0, requests: 0, bytesSent: 0 };
}

export class SignalPipeline<T> {
  private queue: T[] = [];
  private readonly counts = emptyStats();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private closed = false;
  /** Time after which retries stop (set by shutdown). */
  private deadline = Infinity;
  private wake: (() => void) | undefined;
  private failing = false;

  constructor(private readonly o: PipelineOptions<T>) {}

  push(items: readonly T[]): void {
    if (this.closed) {
      this.counts.dropped += items.length;
      return;
    }
    for (const item of items) {
      if (this.queue.length >= this.o.maxQueueSize) {
        // Drop oldest: recent data is worth more to someone looking at a live system.
        this.queue.shift();
        this.counts.dropped++;
        this.counts.droppedOverflow++;
      }
      this.queue.push(item);
    }
    if (this.queue.length >= this.o.maxExportBatchSize) this.kickSoon();
    else if (!this.timer && !this.running && this.queue.length > 0) {
      this.timer = setTimeout(() => this.kick(), this.o.scheduledDelayMs);
      this.timer.unref();
    }
  }

  stats(): SignalStats {
    return { ...this.counts, queueDepth: this.queue.length };
  }

  /** Sends everything queued now; resolves when the queue is empty or the deadline passed. */
  async flush(): Promise<void> {
    while (this.queue.length > 0 || this.running) {
      if (Date.now() >= this.deadline) return;
      this.kick();
      await this.running;
    }
  }

  /** Stops accepting, flushes until deadlineMs from now, counts what is left as dropped. */
  async shutdown(deadlineMs: number): Promise<void> {
    this.closed = true;
    this.deadline = Date.now() + deadlineMs;
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, deadlineMs).unref());
    await Promise.race([this.flush(), timeout]);
    this.wake?.();
    this.counts.dropped += this.queue.length;
    this.queue = [];
    if (this.timer) clearTimeout(this.timer);
  }

  private kickPending = false;

  /** Encoding a batch can take milliseconds (profiles): do it on a later tick, not inside the caller's push(). */
  private kickSoon(): void {
    if (this.kickPending || this.running) return;
    this.kickPending = true;
    setImmediate(() => {
      this.kickPending = false;
      this.kick();
    });
  }

  private kick(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.running) return;
    this.running = this.drain()
      .catch((err) => this.o.log(`otlp ${this.o.signal}: exporter bug, batch lost: ${(err as Error).stack ?? err}`))
      .finally(() => {
        this.running = undefined;
        if (this.queue.length > 0 && !this.closed) this.push([]);
      });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && Date.now() < this.deadline) {
      const batch = this.queue.splice(0, this.o.maxExportBatchSize);
      await this.exportBatch(batch);
      // Below a full batch, wait for the timer again (batching by time).
      if (this.queue.length < this.o.maxExportBatchSize && !this.closed) break;
    }
  }

  private async exportBatch(batch: T[]): Promise<void> {
    let encoded: Encoded;
    try {
      encoded = this.o.encode(batch);
    } catch (err) {
      this.counts.malformed += batch.length;
      this.counts.dropped += batch.length;
      this.o.log(`otlp ${this.o.signal}: cannot encode a batch of ${batch.length}, dropped: ${(err as Error).message}`);
      return;
    }
    if (encoded.malformed > 0) {
      this.counts.malformed += encoded.malformed;
      this.counts.dropped += encoded.malformed;
      this.o.log(`otlp ${this.o.signal}: skipped ${encoded.malformed} malformed item(s), first: ${encoded.firstError}`);
    }
    const items = batch.length - encoded.malformed;
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
        this.o.log(`otlp ${this.o.signal}: export failed permanently (grpc code ${result.code}: ${result.message}); ${items} dropped`);
        return;
      }
      if (!this.failing) this.o.log(`otlp ${this.o.signal}: export failed (grpc code ${result.code}: ${result.message}); retrying`);
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
      const t = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        this.wake = undefined;
        resolve();
      };
    });
  }
}
