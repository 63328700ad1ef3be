import { describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { Profile as PprofProfile, StringTable } from 'pprof-format';
import {
  filter,
  fromFolded,
  fromPprof,
  fromWindows,
  merge,
  profileFromBytes,
  loadInput,
  parseSelector,
  toFolded,
  toPprof,
  totals,
} from '../../../src/flamegraph/index.js';
import type { ProfileWindow } from '../../../src/profiling/types.js';

const FOLDED = 'main;a;b 5\nmain;a 3\nmain;c 2\n';

describe('folded text', () => {
  it('round-trips, summing duplicates and sorting', () => {
    const p = fromFolded('main;c 2\nmain;a;b 5\nmain;a 1\nmain;a 2\n');
    expect(toFolded(p)).toBe('main;a 3\nmain;a;b 5\nmain;c 2\n');
    expect(totals(p).samples).toBe(10);
  });

  it('keeps spaces inside frame names (C++ signatures)', () => {
    const p = fromFolded('main;std::vector<int, std::allocator<int> >::push_back(int const&) 4\n');
    expect(p.names).toContain('std::vector<int, std::allocator<int> >::push_back(int const&)');
  });

  it('counts and skips malformed lines, ignores comments and blanks', () => {
    const p = fromFolded('# comment\n\nmain;a 3\nno-count-here\nmain;;b 2\nmain;a -1\nmain;x NaN\n');
    expect(p.malformed).toBe(4);
    expect(toFolded(p)).toBe('main;a 3\n');
  });

  it('derives CPU time from the period', () => {
    const p = fromFolded('main 4\n', { periodNs: 1e7, durationNs: 1e9 });
    expect(totals(p).cpuNs).toBe(4e7);
  });
});

describe('pprof', () => {
  it('round-trips through toPprof/fromPprof with labels and durations', () => {
    const p = fromFolded(FOLDED, { periodNs: 1e7, durationNs: 2e9 });
    p.stacks[0] = { ...p.stacks[0]!, labels: { thread: 'worker' } };
    const back = fromPprof(toPprof(p));
    expect(toFolded(back)).toBe(toFolded(p));
    expect(back.durationNs).toBe(2e9);
    expect(back.periodNs).toBe(1e7);
    expect(totals(back).cpuNs).toBe(10 * 1e7);
    expect(filter(back, { thread: 'worker' }).stacks).toHaveLength(1);
  });

  it('expands inlined lines (line[0] innermost) and names unsymbolized locations by mapping offset', () => {
    const st = new StringTable();
    const prof = new PprofProfile({
      sampleType: [{ type: st.dedup('cpu'), unit: st.dedup('nanoseconds') }],
      periodType: { type: st.dedup('cpu'), unit: st.dedup('nanoseconds') },
      period: 1_000_000,
      mapping: [{ id: 1, memoryStart: 0x400000, memoryLimit: 0x500000, fileOffset: 0, filename: st.dedup('/usr/bin/app') }],
      function: [
        { id: 1, name: st.dedup('main') },
        { id: 2, name: st.dedup('outer') },
        { id: 3, name: st.dedup('inlined_leaf') },
      ],
      location: [
        { id: 1, mappingId: 1, address: 0x401000, line: [{ functionId: 1 }] },
        { id: 2, mappingId: 1, address: 0x402000, line: [{ functionId: 3 }, { functionId: 2 }] },
        { id: 3, mappingId: 1, address: 0x40abcd, line: [] },
      ],
      sample: [
        { locationId: [2, 1], value: [5_000_000] },
        { locationId: [3, 1], value: [2_000_000] },
        { locationId: [99, 1], value: [1_000_000] },
      ],
      stringTable: st,
    });
    const p = fromPprof(gzipSync(prof.encode()));
    expect(toFolded(p)).toBe('main;app+0xabcd 2\nmain;outer;inlined_leaf 5\n');
    expect(totals(p).cpuNs).toBe(7_000_000);
    expect(p.malformed).toBe(1);
  });

  it('gives a clear error for bytes that are not a profile', () => {
    expect(() => fromPprof(gzipSync(Buffer.from([0xff, 0xff, 0xff, 0xff])))).toThrow(/not a pprof profile.*fix/);
  });
});

function window(pid: number, service: string, buildId: string, startSec: number, stacks: string[][]): ProfileWindow {
  const startUnixNs = BigInt(startSec) * 1_000_000_000n;
  return {
    startUnixNs,
    endUnixNs: startUnixNs + 10_000_000_000n,
    periodNs: 10_000_000n,
    process: { pid, name: `${service}-bin`, buildId, serviceName: service },
    samples: stacks.map((leafFirst, i) => ({
      timeUnixNs: startUnixNs,
      timeMonoNs: 0n,
      pid,
      tid: pid + (i % 2),
      cpu: 0,
      threadName: i % 2 ? 'worker' : 'main',
      processName: `${service}-bin`,
      frames: leafFirst.map((name) => ({ name, kind: 'native' as const, address: 0n, module: 'app', resolved: true })),
      ...(i === 0 ? { spanName: 'GET /cart' } : {}),
    })),
  };
}

describe('windows, merge, filter', () => {
  it('converts leaf-first samples to root-first stacks with labels', () => {
    const p = fromWindows([
      window(7, 'checkout', 'b1', 100, [
        ['leaf', 'main'],
        ['leaf', 'main'],
        ['other', 'main'],
      ]),
    ]);
    expect(toFolded(p)).toBe('main;leaf 2\nmain;other 1\n');
    expect(p.durationNs).toBe(10e9);
    expect(totals(p).cpuNs).toBe(3 * 10_000_000);
    expect(filter(p, { thread: 'worker' }).stacks.map((s) => s.samples)).toEqual([1]);
    expect(filter(p, { span: 'GET /cart' }).stacks).toHaveLength(1);
    expect(filter(p, { service: 'checkout', version: 'b1', pid: '7' }).stacks.length).toBeGreaterThan(0);
    expect(filter(p, { version: 'other' }).stacks).toHaveLength(0);
  });

  it('merges processes side by side over their common wall span, and windows in a row', () => {
    const a = fromWindows([window(1, 's', 'b', 100, [['x']])]);
    const b = fromWindows([window(2, 's', 'b', 100, [['x'], ['y']])]);
    const c = fromWindows([window(3, 's', 'b', 110, [['x']])]);
    const m = merge([a, b, c]);
    expect(toFolded(m)).toBe('x 3\ny 1\n');
    expect(m.durationNs).toBe(20e9);
    expect(merge([fromFolded('a 1\n', { durationNs: 5 }), fromFolded('a 2\nb 1\n', { durationNs: 7 })]).durationNs).toBe(12);
  });

  it('parses selectors and rejects bad ones with a fix', () => {
    expect(parseSelector('service=checkout,version=1.4.2')).toEqual({ service: 'checkout', version: '1.4.2' });
    expect(() => parseSelector('service')).toThrow(/fix: write key=value/);
  });
});

describe('inputs', () => {
  it('tells pprof from folded text by content', () => {
    const p = fromFolded(FOLDED);
    expect(toFolded(profileFromBytes(toPprof(p)))).toBe(toFolded(p));
    expect(toFolded(profileFromBytes(Buffer.from(FOLDED)))).toBe(toFolded(p));
    expect(() => profileFromBytes(Buffer.from('just words\n'))).toThrow(/no folded stacks.*fix/);
  });

  it('asks for a store for selectors, and names missing files', async () => {
    await expect(loadInput('service=checkout,version=1.4.2')).rejects.toThrow(/no store directory given; fix: pass --data-dir/);
    await expect(loadInput('/nonexistent/base.pb.gz')).rejects.toThrow(/neither a file nor a selector/);
  });
});
