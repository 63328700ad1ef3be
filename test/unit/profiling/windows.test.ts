import { describe, expect, it } from 'vitest';
import { WindowAggregator, type CpuSample, type ProfileWindow } from '../../../src/profiling/index.js';

const S = 1_000_000_000n;

function sample(pid: number, timeUnixNs: bigint): CpuSample {
  return { timeUnixNs, timeMonoNs: timeUnixNs, pid, tid: pid, cpu: 0, threadName: 't', processName: 'p', frames: [] };
}

function aggregator(staggerMs?: number) {
  const out: ProfileWindow[] = [];
  const asked: number[] = [];
  const agg = new WindowAggregator(
    10_000,
    10_101_010n,
    (pid, comm) => {
      asked.push(pid);
      return { pid, name: comm };
    },
    (w) => out.push(w),
    2_000,
    staggerMs,
  );
  return { agg, out, asked };
}

describe('WindowAggregator', () => {
  it('keeps windows aligned but hands them over spread across processes, not all at once', () => {
    const { agg, out } = aggregator(5_000);
    const pids = Array.from({ length: 200 }, (_, i) => 1000 + i);
    for (const pid of pids) agg.add(sample(pid, 3n * S));
    // Every process moved on to the next window at 10 s: none is handed over yet.
    for (const pid of pids) agg.add(sample(pid, 10n * S + 1n));
    expect(out).toHaveLength(0);
    const closedBy = (t: bigint) => {
      agg.flushExpired(t);
      return out.length;
    };
    // Not before end + grace; all by end + grace + stagger; in between, in many small steps.
    expect(closedBy(12n * S - 1n)).toBe(0);
    const steps: number[] = [];
    for (let t = 12n * S; t <= 17n * S; t += S / 2n) steps.push(closedBy(t));
    expect(steps.at(-1)).toBe(200);
    const perTick = steps.map((n, i) => n - (steps[i - 1] ?? 0));
    expect(Math.max(...perTick)).toBeLessThan(40); // 200 windows over ~10 ticks: no tick takes them all
    for (const w of out) {
      expect(w.startUnixNs).toBe(0n);
      expect(w.endUnixNs).toBe(10n * S);
      expect(w.samples).toHaveLength(1);
    }
  });

  it('gives a late sample to the previous window while that one is still open', () => {
    const { agg, out, asked } = aggregator(0);
    agg.add(sample(7, 9n * S));
    agg.add(sample(7, 10n * S + 5n));
    agg.add(sample(7, 9n * S + 500n)); // arrived late, after the process's first sample of the next window
    agg.flushExpired(12n * S);
    expect(out.map((w) => [w.startUnixNs, w.samples.length])).toEqual([[0n, 2]]);
    agg.flushAll();
    expect(out.map((w) => [w.startUnixNs, w.samples.length])).toEqual([
      [0n, 2],
      [10n * S, 1],
    ]);
    expect(asked).toEqual([7, 7]); // process info asked once per window, not per sample
  });

  it('hands over a window still waiting when its process is two windows on', () => {
    const { agg, out } = aggregator(5_000);
    agg.add(sample(9, 1n * S));
    agg.add(sample(9, 11n * S));
    agg.add(sample(9, 21n * S));
    expect(out.map((w) => w.startUnixNs)).toEqual([0n]);
    agg.flushAll();
    expect(out.map((w) => w.startUnixNs)).toEqual([0n, 10n * S, 20n * S]);
    expect(agg.openCount).toBe(0);
  });
});
