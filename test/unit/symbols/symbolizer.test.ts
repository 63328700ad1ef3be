// Symbolizer over a fake procfs (procRoot option): container perf-map lookup by
// namespace pid, placeholders for unknown and vanished processes. No root needed.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { Symbolizer } from '../../../src/symbols/index.js';

const root = mkdtempSync(`${tmpdir()}/hotspan-fakeproc-`);
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A containerised process: host pid 4242, pid 7 inside its pid namespace. */
function fakeProcess(): { procRoot: string; perfMap: string } {
  const procRoot = `${root}/proc`;
  const containerRoot = `${root}/container`;
  mkdirSync(`${procRoot}/4242`, { recursive: true });
  mkdirSync(`${containerRoot}/tmp`, { recursive: true });
  writeFileSync(
    `${procRoot}/4242/maps`,
    [
      '7f0000000000-7f0000100000 r-xp 00000000 00:00 0 ',
      '7f0000200000-7f0000201000 rw-p 00000000 00:00 0 ',
      '7f0000300000-7f0000301000 r-xp 00001000 fe:00 99999999                   /does/not/exist/libgone.so',
      '',
    ].join('\n'),
  );
  writeFileSync(`${procRoot}/4242/status`, 'Name:\tnode\nPid:\t4242\nNSpid:\t4242\t7\n');
  symlinkSync(containerRoot, `${procRoot}/4242/root`);
  const perfMap = `${containerRoot}/tmp/perf-7.map`;
  writeFileSync(perfMap, '7f0000001000 100 JS:*handler file:///app/server.js:42:3\n');
  return { procRoot, perfMap };
}

describe('Symbolizer (fake procfs)', () => {
  const { procRoot, perfMap } = fakeProcess();

  it('finds the perf map of a containerised process by its namespace pid, and re-reads it on a miss', () => {
    const sym = new Symbolizer({ procRoot });
    const [f] = sym.userFrames(4242, [0x7f0000001010n]);
    expect(f).toEqual({ name: 'handler', kind: 'v8js', address: 0x7f0000001010n, module: 'perf-map', file: '/app/server.js', line: 42, resolved: true });
    // Not in the map yet: placeholder. Then the JIT appends it and the next miss reads it.
    expect(sym.userFrames(4242, [0x7f0000002010n])[0]).toMatchObject({ name: '[unknown]', resolved: false, module: '[anon]' });
    appendFileSync(perfMap, '7f0000002000 40 JS:~later /app/lib.js:7\n');
    expect(sym.userFrames(4242, [0x7f0000002010n])[0]).toMatchObject({ name: 'later', kind: 'v8js', line: 7 });
  });

  it("does not name a process's JIT frames from an earlier process's map of the same pid", () => {
    // pid 4343 started 1 s ago (starttime: clock ticks of CLOCK_MONOTONIC, 1 s before now); its
    // /tmp/perf-4343.map was last written a minute ago, by whoever had the pid before.
    mkdirSync(`${procRoot}/4343`, { recursive: true });
    writeFileSync(`${procRoot}/4343/maps`, '7f0000000000-7f0000100000 r-xp 00000000 00:00 0 \n');
    writeFileSync(`${procRoot}/4343/status`, 'Name:\tnode\nPid:\t4343\nNSpid:\t4343\n');
    const startTicks = process.hrtime.bigint() / 10_000_000n - 100n;
    writeFileSync(`${procRoot}/4343/stat`, `4343 (node (a) b) S 1 ${'0 '.repeat(17)}${startTicks} 0 0\n`);
    const hostRoot = `${root}/host4343`;
    mkdirSync(`${hostRoot}/tmp`, { recursive: true });
    symlinkSync(hostRoot, `${procRoot}/4343/root`);
    const map = `${hostRoot}/tmp/perf-4343.map`;
    writeFileSync(map, '7f0000001000 100 JS:*someoneElses /old.js:1:1\n');
    const minuteAgo = (Date.now() - 60_000) / 1000;
    utimesSync(map, minuteAgo, minuteAgo);
    const sym = new Symbolizer({ procRoot });
    expect(sym.userFrames(4343, [0x7f0000001010n])[0]).toMatchObject({ name: '[unknown]', resolved: false });
    // Written now (after the start): its own.
    writeFileSync(map, '7f0000001000 100 JS:*mine /new.js:1:1\n');
    expect(new Symbolizer({ procRoot }).userFrames(4343, [0x7f0000001010n])[0]).toMatchObject({ name: 'mine', resolved: true });
  });

  it('keeps unreadable files as module+0xoffset and addresses outside every mapping as [unknown]', () => {
    const sym = new Symbolizer({ procRoot, mapsRereadIntervalMs: 0 });
    const frames = sym.userFrames(4242, [0x7f0000300010n, 0x7f0000200010n, 0x1000n]);
    // File offset = 0x10 into the mapping + its 0x1000 file offset.
    expect(frames[0]).toMatchObject({ name: 'libgone.so+0x1010', kind: 'native', module: 'libgone.so', resolved: false });
    expect(frames[0]!.mapping).toEqual({ path: '/does/not/exist/libgone.so', start: 0x7f0000300000n, end: 0x7f0000301000n, fileOffset: 0x1000n });
    // Non-executable mappings are not code: [unknown], as is an unmapped address.
    expect(frames[1]).toMatchObject({ name: '[unknown]', resolved: false });
    expect(frames[2]).toMatchObject({ name: '[unknown]', kind: 'unknown', resolved: false });
    expect(sym.stats()).toMatchObject({ misses: 3, cachedProcesses: 1 });
  });

  it('returns placeholders for a process that does not exist, never throws', () => {
    const sym = new Symbolizer({ procRoot });
    expect(sym.userFrames(999999, [0x401000n, 0x401010n]).map((f) => f.name)).toEqual(['[unknown]', '[unknown]']);
    expect(sym.executableBuildId(999999)).toBeUndefined();
    sym.forgetProcess(999999);
    expect(sym.stats().cachedProcesses).toBe(0);
  });

  it('backs off re-reading the maps of a process whose misses stay misses, and comes back when one resolves', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const sym = new Symbolizer({ procRoot, mapsRereadIntervalMs: 100 });
      // A junk return address (no frame pointers) on every sample, 20 samples a second for 10 s.
      for (let t = 0; t < 10_000; t += 50) {
        sym.userFrames(4242, [0x7f0000001010n, 0x1000n]);
        vi.advanceTimersByTime(50);
      }
      // Every 100 ms would be 100 reads; doubling from 100 ms to 5 s is 7 (plus the first).
      const reads = sym.stats().mapsReads;
      expect(reads).toBeGreaterThanOrEqual(5);
      expect(reads).toBeLessThanOrEqual(9);
      // A real new mapping: found by the next re-read (≤ 5 s away), and the base interval is back.
      appendFileSync(`${procRoot}/4242/maps`, '7f0000500000-7f0000501000 r-xp 00000000 00:00 0 \n');
      vi.advanceTimersByTime(5000);
      expect(sym.userFrames(4242, [0x7f0000500010n])[0]).toMatchObject({ module: '[anon]' });
      const afterHit = sym.stats().mapsReads;
      vi.advanceTimersByTime(100);
      sym.userFrames(4242, [0x2000n]);
      expect(sym.stats().mapsReads).toBe(afterHit + 1);
    } finally {
      vi.useRealTimers();
    }
  });
});
