// JIT frames from a live `node --perf-basic-prof` process: addresses and expected
// names come from the perf map file read here; the symbolizer must find them
// through the process's anonymous executable mappings, re-reading the growing map.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { Symbolizer } from '../../src/symbols/index.js';
import { mapsOf, nmSymbol, REPO_ROOT, runtimeAddress, settledFrames, startFixture, type Fixture } from './symbols-helpers.js';

const SCRIPT = `${REPO_ROOT}test/fixtures/js/split.js`;
/** Each burn function's line in the script, read from it (the truth the perf map's names are held to). */
const LINES: Record<string, number> = Object.fromEntries(
  readFileSync(SCRIPT, 'utf8')
    .split('\n')
    .flatMap((l, i) => {
      const m = /^function (burn[ABC])\(/.exec(l);
      return m ? [[m[1]!, i + 1] as const] : [];
    }),
);
let node: Fixture | undefined;
// --perf-basic-prof also drops an isolate-*.log into the working directory.
const cwd = mkdtempSync(`${tmpdir()}/hotspan-jit-`);

afterAll(async () => {
  await node?.stop();
  // node never removes its perf map.
  if (node) rmSync(`/tmp/perf-${node.pid}.map`, { force: true });
  rmSync(cwd, { recursive: true, force: true });
});

/** Waits until the map has an optimised (`JS:*`) entry for every burner. */
async function waitForOptimised(pid: number, startedMs: number): Promise<Map<string, { start: bigint; size: bigint }>> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const found = new Map<string, { start: bigint; size: bigint }>();
    let text = '';
    try {
      // pids are reused (pid_max 32768) and node never removes its map: one left by an earlier
      // process with this pid is not this one's until node has rewritten it.
      const path = `/tmp/perf-${pid}.map`;
      if (statSync(path).mtimeMs >= startedMs) text = readFileSync(path, 'utf8');
    } catch {
      // not written yet
    }
    for (const line of text.split('\n')) {
      const m = /^([0-9a-f]+) ([0-9a-f]+) JS:\*(burn[ABC]) /.exec(line);
      if (m) found.set(m[3]!, { start: BigInt(`0x${m[1]}`), size: BigInt(`0x${m[2]}`) });
    }
    if (found.size === 3) return found;
    if (Date.now() > deadline) throw new Error(`node did not optimise burnA/B/C within 20 s (have ${[...found.keys()]})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('perf maps (node --perf-basic-prof)', () => {
  it('names JIT frames burnA/burnB/burnC with kind v8js, file and line', async () => {
    const startedMs = Date.now() - 1; // mtime granularity
    node = await startFixture(process.execPath, ['--perf-basic-prof', SCRIPT, '30'], process.execPath, cwd);
    const sym = new Symbolizer({ mapsRereadIntervalMs: 0 });
    // Touch the process before the functions are compiled: the perf map must be
    // re-read on the later miss, not only on first open.
    sym.userFrames(node.pid, [0x10n]);
    const code = await waitForOptimised(node.pid, startedMs);
    for (const [fn, { start, size }] of code) {
      const addr = start + size / 2n;
      // The JIT code lives in an anonymous executable mapping, not a file.
      const row = mapsOf(node.pid).find((m) => addr >= m.start && addr < m.end)!;
      expect(row.path === '' || row.path.startsWith('[anon')).toBe(true);
      const [frame] = sym.userFrames(node.pid, [addr]);
      expect(frame).toMatchObject({ name: fn, kind: 'v8js', module: 'perf-map', file: SCRIPT, line: LINES[fn], resolved: true });
    }
    // Native frames of the same process still come from ELF: node's own main() (nm as truth).
    const exe = process.execPath;
    const main = nmSymbol(exe, 'main');
    const [mainFrame] = await settledFrames(sym, node.pid, [runtimeAddress(node.pid, exe, exe, main.vaddr + 1)]);
    expect(mainFrame).toMatchObject({ name: 'main', kind: 'native', module: 'node', resolved: true });
  });
});
