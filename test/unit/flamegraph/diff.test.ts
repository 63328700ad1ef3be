import { describe, expect, it } from 'vitest';
import { diff, fromFolded, poissonRateZ, twoProportionZ, zForAlpha } from '../../../src/flamegraph/index.js';

describe('statistics', () => {
  it('zForAlpha is the two-sided normal quantile', () => {
    expect(zForAlpha(0.05)).toBeCloseTo(1.959964, 5);
    expect(zForAlpha(0.001)).toBeCloseTo(3.290527, 5);
    expect(() => zForAlpha(0)).toThrow(/alpha/);
  });

  it('two-proportion z by hand: 50/100 vs 70/100', () => {
    // pooled p = 0.6, se = sqrt(0.6*0.4*(2/100)) = 0.069282; z = 0.2/0.069282
    expect(twoProportionZ(50, 100, 70, 100)).toBeCloseTo(2.886751, 5);
    expect(twoProportionZ(100, 100, 100, 100)).toBe(0);
  });

  it('Poisson rate z by hand: 100 in 1 s vs 150 in 1 s', () => {
    // n = 250, q = 0.5: (150 - 125) / sqrt(62.5)
    expect(poissonRateZ(100, 1, 150, 1)).toBeCloseTo(3.162278, 5);
  });
});

describe('diff', () => {
  const base = fromFolded('main;a 500\nmain;b 500\n', { periodNs: 1e7, durationNs: 10e9 });
  const head = fromFolded('main;a 500\nmain;b 500\nmain;c 500\n', { periodNs: 1e7, durationNs: 10e9 });

  it('computes self/total, shares, raw deltas and CPU-s/s per frame', () => {
    const d = diff(base, head);
    const c = d.frames.find((f) => f.name === 'c')!;
    expect(c.change).toBe('new');
    expect(c.deltaSelfSamples).toBe(500);
    expect(c.head.selfShare).toBeCloseTo(1 / 3, 10);
    expect(c.rate!.deltaTotalCpuPerSec).toBeCloseTo(0.5, 10);
    const a = d.frames.find((f) => f.name === 'a')!;
    expect(a.change).toBe('shrank');
    expect(a.deltaTotalShare).toBeCloseTo(1 / 3 - 1 / 2, 10);
    expect(a.rate!.deltaTotalCpuPerSec).toBe(0);
    expect(a.rate!.significant).toBe(false);
    const main = d.frames.find((f) => f.name === 'main')!;
    expect(main.deltaTotalShare).toBe(0);
    expect(main.significant).toBe(false);
    expect(main.rate!.significant).toBe(true);
    expect(d.regressions.map((f) => f.name)).toEqual(['c']);
    expect(d.improvements.map((f) => f.name).sort()).toEqual(['a', 'b']);
    expect(d.base.cpuPerSec).toBeCloseTo(1, 10);
    expect(d.head.cpuPerSec).toBeCloseTo(1.5, 10);
  });

  it('counts a recursive frame once per stack in total, as pprof cum does', () => {
    const d = diff(fromFolded('main;f;f;f 10\n'), fromFolded('main;f;f 10\nmain 10\n'));
    const f = d.frames.find((x) => x.name === 'f')!;
    expect(f.base.totalSamples).toBe(10);
    expect(f.head.totalSamples).toBe(10);
    expect(f.base.selfSamples).toBe(10);
  });

  it('handles frames on one side only', () => {
    const d = diff(fromFolded('main;old 100\nmain 100\n'), fromFolded('main;new 100\nmain 100\n'));
    expect(d.frames.find((f) => f.name === 'old')!.change).toBe('gone');
    expect(d.frames.find((f) => f.name === 'new')!.change).toBe('new');
    expect(d.stacks.find((s) => s.frames.join(';') === 'main;old')!.headSamples).toBe(0);
  });

  it('does not flag a change sampling noise explains, nor a tiny significant one', () => {
    // 52 vs 48 of 100: z ≈ 0.57.
    const noisy = diff(fromFolded('main;a 48\nmain;b 52\n'), fromFolded('main;a 52\nmain;b 48\n'));
    expect(noisy.regressions).toEqual([]);
    expect(noisy.improvements).toEqual([]);
    // 0.3 pp on 10 M samples: z is huge, but below the 0.5 pp minimum effect.
    const tiny = diff(fromFolded('main;a 5000000\nmain;b 5000000\n'), fromFolded('main;a 5030000\nmain;b 4970000\n'));
    expect(Math.abs(tiny.frames.find((f) => f.name === 'a')!.zSelf)).toBeGreaterThan(10);
    expect(tiny.regressions).toEqual([]);
    // ...and it is flagged once the minimum effect is lowered.
    expect(
      diff(fromFolded('main;a 5000000\nmain;b 5000000\n'), fromFolded('main;a 5030000\nmain;b 4970000\n'), { minShareDelta: 0.001 }).regressions.map(
        (f) => f.name,
      ),
    ).toEqual(['a']);
  });

  it('leaves CPU-s/s out when a side has no duration', () => {
    const d = diff(fromFolded('main 1\n'), fromFolded('main 1\n', { durationNs: 1e9 }));
    expect(d.frames[0]!.rate).toBeUndefined();
  });

  it('keeps the maxStacks largest stack changes (and every significant one), largest first', () => {
    // Stack s_i has i samples in head and none in base: |Δshare| grows with i.
    const head = fromFolded(Array.from({ length: 50 }, (_, i) => `main;s_${i + 1} ${i + 1}\n`).join(''));
    const base = fromFolded('main;other 1000\n');
    const d = diff(base, head, { maxStacks: 5, minShareDelta: 1, alpha: 1e-12 });
    expect(d.stacks.map((s) => s.frames.join(';'))).toEqual(['main;other', 'main;s_50', 'main;s_49', 'main;s_48', 'main;s_47']);
    const all = diff(base, head, { maxStacks: 1000 });
    expect(all.stacks).toHaveLength(51);
    expect(all.stacks.filter((s) => s.significant).length).toBeGreaterThan(5);
    expect(diff(base, head, { maxStacks: 2 }).stacks.length).toBe(all.stacks.filter((s) => s.significant).length);
  });
});
