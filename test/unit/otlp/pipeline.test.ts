import { describe, expect, it, vi } from 'vitest';
import { SignalPipeline } from '../../../src/otlp/pipeline.js';
import type { ExportResult } from '../../../src/otlp/retry.js';

const ok: ExportResult = { kind: 'success', rejected: 0, errorMessage: '' };
const unavailable: ExportResult = { kind: 'retryable', code: 14, message: 'down' };

function pipeline(opts: {
  send: (batch: number[]) => Promise<ExportResult>;
  maxQueueSize?: number;
  batch?: number;
  delayMs?: number;
  weight?: number;
  batchWeight?: number;
  concurrent?: number;
}) {
  return new SignalPipeline<number>({
    signal: 'traces',
    maxQueueSize: opts.maxQueueSize ?? 100,
    maxExportBatchSize: opts.batch ?? 10,
    scheduledDelayMs: opts.delayMs ?? 20,
    maxConcurrentExports: opts.concurrent ?? 1,
    weightOf: opts.weight ? (n) => n : undefined,
    maxQueueWeight: opts.weight,
    maxBatchWeight: opts.batchWeight,
    backoff: { initialBackoffMs: 5, maxBackoffMs: 20, multiplier: 2, maxElapsedMs: 10_000 },
    log: () => {},
    // The "body" carries the batch's items so the fake backend can see them.
    encode: (batch) => ({ body: Uint8Array.from(batch), malformed: 0 }),
    send: (body) => opts.send([...body]),
  });
}

describe('SignalPipeline', () => {
  it('sends full batches at once and a partial batch after the delay', async () => {
    const sent: Array<{ at: number; items: number[] }> = [];
    const t0 = Date.now();
    const p = pipeline({ send: async (items) => (sent.push({ at: Date.now() - t0, items }), ok), delayMs: 150 });
    p.push(Array.from({ length: 25 }, (_, i) => i));
    await vi.waitFor(() => expect(sent.map((s) => s.items.length)).toEqual([10, 10]), { timeout: 2000, interval: 5 });
    expect(sent[1]!.at).toBeLessThan(140);
    await vi.waitFor(() => expect(sent).toHaveLength(3), { timeout: 5000, interval: 10 });
    expect(sent.map((s) => s.items)).toEqual([
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
      [10, 11, 12, 13, 14, 15, 16, 17, 18, 19],
      [20, 21, 22, 23, 24],
    ]);
    expect(sent[2]!.at).toBeGreaterThanOrEqual(140);
    expect(p.stats()).toMatchObject({ exported: 25, dropped: 0, requests: 3, queueDepth: 0 });
  });

  it('drops the oldest items when the queue is full and counts them', async () => {
    const sent: number[] = [];
    let open = false;
    const p = pipeline({ maxQueueSize: 20, batch: 5, send: async (items) => (open ? (sent.push(...items), ok) : unavailable) });
    p.push(Array.from({ length: 100 }, (_, i) => i));
    await new Promise((r) => setTimeout(r, 30));
    open = true;
    await p.flush();
    const s = p.stats();
    expect(s.droppedOverflow).toBe(s.dropped);
    expect(sent.length + s.dropped).toBe(100);
    expect(new Set(sent).size).toBe(sent.length);
    // The newest 20 survived (plus the first batch that was in flight when the queue overflowed).
    expect(sent.slice(-20)).toEqual(Array.from({ length: 20 }, (_, i) => 80 + i));
    expect(s.retries).toBeGreaterThan(0);
  });

  it('bounds the summed weight as well as the count, always keeping the newest item', async () => {
    const p = pipeline({ maxQueueSize: 100, batch: 100, weight: 50, delayMs: 10_000, send: async () => ok });
    p.push([20, 20, 20]); // 60 > 50: the first is dropped
    expect(p.stats()).toMatchObject({ queueDepth: 2, droppedOverflow: 1 });
    p.push([80]); // heavier than the cap alone: everything older goes, it stays
    expect(p.stats()).toMatchObject({ queueDepth: 1, droppedOverflow: 3 });
    await p.shutdown(100);
  });

  it('cuts batches by weight so in-flight batches stay bounded too', async () => {
    const sent: number[][] = [];
    const p = pipeline({ batch: 100, weight: 1000, batchWeight: 25, send: async (items) => (sent.push(items), ok) });
    p.push([10, 10, 10, 30, 5, 5]);
    await p.flush();
    // 10+10 ≤ 25, +10 would exceed; 30 alone exceeds but a batch always takes one item.
    expect(sent).toEqual([[10, 10], [10], [30], [5, 5]]);
  });

  it('does not retry permanent failures and gives up retrying at the shutdown deadline', async () => {
    let calls = 0;
    const bad = pipeline({ send: async () => (calls++, { kind: 'failure', code: 3, message: 'bad' }) });
    bad.push(Array.from({ length: 10 }, (_, i) => i));
    await bad.flush();
    expect(calls).toBe(1);
    expect(bad.stats()).toMatchObject({ dropped: 10, exported: 0 });

    const down = pipeline({ send: async () => unavailable });
    down.push(Array.from({ length: 35 }, (_, i) => i));
    const t = Date.now();
    await down.shutdown(200);
    expect(Date.now() - t).toBeLessThan(400);
    expect(down.stats()).toMatchObject({ exported: 0, dropped: 35, queueDepth: 0 });
  });

  it('keeps several requests in flight when allowed', async () => {
    let inFlight = 0;
    let peak = 0;
    const p = pipeline({
      concurrent: 3,
      send: async () => {
        peak = Math.max(peak, ++inFlight);
        await new Promise((r) => setTimeout(r, 30));
        inFlight--;
        return ok;
      },
    });
    p.push(Array.from({ length: 60 }, (_, i) => i));
    await p.flush();
    expect(peak).toBe(3);
    expect(p.stats().exported).toBe(60);
  });
});
