/**
 * Acceptance (issue 11): loading a big binary's symbols never stalls the agent's event loop.
 *
 * A generated program with 200 000 functions (a 16 MB ELF whose .symtab/.strtab took ~2 s to read,
 * parse and sort on the event loop before the loader worker) runs next to a normal busy process
 * while the real `hotspan agent` runs, and a short-lived process (~250 ms) starts while the big
 * load is in flight. Checked:
 *   - the agent's own `hotspan_event_loop_delay_seconds` max, scraped every second over the load,
 *     stays under LOOP_BOUND_MS (or, on a host so loaded that the agent's baseline without the
 *     big binary is already slower, under twice that baseline);
 *   - the big binary's frames are named, each location's name equal to llvm-symbolizer's on the file;
 *   - the busy process's samples keep flowing, named, in every window over the load;
 *   - the short-lived process keeps its names (its file is opened at first sight and loads after it exits).
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildFixtures, FIXTURES_BIN, requireRoot } from './support/env.js';
import { closedPort, killAgents, sleep, startAgent, windowFiles } from './support/agent.js';
import { killAll, startFixture } from './support/procs.js';
import { readPprof } from './support/pprof.js';
import { fileOffsetToVaddr, llvmSymbolizerFunctions } from './symbols-helpers.js';

const root = requireRoot('big-binary symbol loading next to the real agent');
const tmp = mkdtempSync(join(tmpdir(), 'hotspan-bigbin-'));
/**
 * Longest event-loop stall allowed while the big binary loads. Loaded on the loop (before the
 * worker) this binary held it 1.9-2.7 s here; off it, the agent's worst second was 311 ms at a
 * load average of 34-46 on 2 cores (in-process, with nothing else running: 31 ms synchronous, loop
 * max 155 ms at load 24). The bound leaves room for a shared CI host, and none for the old path.
 */
const LOOP_BOUND_MS = 500;
const FUNCTIONS = 200_000;

afterEach(async () => {
  killAll();
  await killAgents();
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A program whose hot path (big_hot_outer → big_hot_leaf) sits between two halves of FUNCTIONS fillers. */
function buildBigBinary(dir: string): string {
  const filler = (lo: number, hi: number) => {
    const out: string[] = ['\t.text'];
    for (let i = lo; i < hi; i++) {
      const n = `hotspan_filler_function_number_${String(i).padStart(7, '0')}`;
      out.push(`\t.p2align 4\n\t.globl ${n}\n\t.type ${n}, @function\n${n}:\n\tret\n\t.size ${n}, 1`);
    }
    out.push('\t.section .note.GNU-stack,"",@progbits', '');
    return out.join('\n');
  };
  writeFileSync(join(dir, 'a.s'), filler(0, FUNCTIONS / 2));
  writeFileSync(join(dir, 'b.s'), filler(FUNCTIONS / 2, FUNCTIONS));
  writeFileSync(
    join(dir, 'hot.c'),
    `#include <stdlib.h>
#include <time.h>
static volatile unsigned long sink;
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
__attribute__((noinline)) void big_hot_leaf(void) { for (unsigned long i = 0; i < 20000UL; i++) sink += i; }
__attribute__((noinline)) void big_hot_outer(void) { big_hot_leaf(); __asm__ volatile(""); }
int main(int argc, char **argv) {
  double end = now() + (argc > 1 ? atof(argv[1]) : 30);
  while (now() < end) big_hot_outer();
  return 0;
}
`,
  );
  const bin = join(dir, 'bigsyms');
  execFileSync('gcc', ['-O1', '-fno-omit-frame-pointer', '-o', bin, join(dir, 'a.s'), join(dir, 'hot.c'), join(dir, 'b.s')]);
  return bin;
}

function loopMaxMs(metrics: string): number {
  const v = /hotspan_event_loop_delay_seconds\{quantile="max"\} (\S+)/.exec(metrics)?.[1];
  // The gauge is always exported: a scrape without it says nothing (0 keeps Math.max honest).
  return v === undefined ? 0 : Number(v) * 1000;
}

describe.runIf(root)('symbols of a big binary', () => {
  let big = '';
  beforeAll(() => {
    buildFixtures();
    big = buildBigBinary(tmp);
  }, 180_000);

  it('load off the event loop: loop delay bounded, its frames named as llvm-symbolizer names them, others keep flowing, a short-lived process keeps its names', async () => {
    const nm = execFileSync('nm', [big], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    expect(nm.split('\n').filter((l) => / [Tt] /.test(l)).length).toBeGreaterThan(FUNCTIONS);
    // A copy of split: its own inode, so its symbols are a load of their own, not a cache hit.
    const short = join(tmp, 'split-short');
    copyFileSync(join(FIXTURES_BIN, 'split'), short);
    execFileSync('chmod', ['+x', short]);

    const healthPort = await closedPort();
    const dataDir = join(tmp, 'data');
    // Signals go to a closed port, not the embedded store: on a small shared host the store's
    // synchronous DuckDB appends held the loop for seconds (measured with --cpu-prof), which would
    // drown what this test measures. Window files are written either way.
    const agent = await startAgent(dataDir, ['--otlp-endpoint', `http://127.0.0.1:${await closedPort()}`], {
      HOTSPAN_HEALTH_PORT: String(healthPort),
      HOTSPAN_WINDOW: '2s',
      HOTSPAN_UI_PORT: '0',
    });
    const scrape = async () => (await fetch(`http://127.0.0.1:${healthPort}/metrics`, { signal: AbortSignal.timeout(30_000) })).text();
    // A keep-alive connection the server closed as it was reused resets at once: asked again, not
    // a stall (a stall is a scrape that does not answer: the timeout).
    const metrics = async () => {
      try {
        return await scrape();
      } catch (err) {
        if ((err as Error).name === 'TimeoutError') throw err;
        return scrape();
      }
    };
    const normal = startFixture(join(FIXTURES_BIN, 'split'), ['120']);
    // Warm-up: the agent names every process on the host at start (seconds of stalls on a busy
    // host, as before this change); the baseline starts once three scrapes in a row saw the loop
    // held under a second, or after 90 s.
    let calm = 0;
    for (let t = Date.now(); calm < 3 && Date.now() - t < 90_000;) {
      await sleep(1_000);
      try {
        calm = loopMaxMs(await metrics()) < 1_000 ? calm + 1 : 0;
      } catch {
        calm = 0;
      }
    }
    // The baseline: the agent's own worst loop delay per second with no big binary anywhere.
    let baselineMs = 0;
    for (let i = 0; i < 8; i++) {
      await sleep(1_000);
      baselineMs = Math.max(baselineMs, loopMaxMs(await metrics()));
    }

    const plantedAtMs = Date.now();
    const procs: Record<string, ChildProcess> = { big: startFixture(big, ['60']) };
    await sleep(300);
    procs.short = startFixture(short, ['0.25']);
    let loadMs = 0;
    for (let i = 0; i < 14; i++) {
      await sleep(1_000);
      try {
        loadMs = Math.max(loadMs, loopMaxMs(await metrics()));
      } catch (err) {
        // A scrape that does not answer in 30 s is a stall of at least that long.
        console.log(`scrape failed: ${(err as Error).message}; agent log: ${agent.stderr().slice(-2000)}`);
        loadMs = Number.POSITIVE_INFINITY;
      }
    }
    const stopped = await agent.stop('SIGTERM');
    for (const c of Object.values(procs)) c.kill('SIGKILL');
    normal.kill('SIGKILL');

    const bound = Math.max(LOOP_BOUND_MS, 2 * baselineMs);
    console.log(
      `big binary (${FUNCTIONS} functions): agent event-loop delay max ${loadMs.toFixed(0)} ms while it loaded ` +
        `(baseline ${baselineMs.toFixed(0)} ms, bound ${bound.toFixed(0)} ms), load ${execFileSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).trim()}`,
    );
    expect(stopped.stderr).not.toMatch(/unhandled|uncaught|TypeError|RangeError/i);
    // Soft: the names, the busy process and the short-lived process below are checked either way.
    expect.soft(loadMs).toBeLessThan(bound);

    // The big binary: every location in its mapping named as llvm-symbolizer names it (address-1
    // for return addresses), and its hot function on most samples once the table has landed.
    const bigWindows = windowFiles(dataDir, procs.big!.pid!);
    expect(bigWindows.length).toBeGreaterThan(2);
    const checked = new Map<number, string>();
    let hot = 0;
    let total = 0;
    for (const f of bigWindows) {
      const { profile, samples } = readPprof(f);
      const str = (i: number | bigint) => profile.stringTable.strings[Number(i)]!;
      const mapping = profile.mapping.find((m) => str(m.filename) === big);
      // A window of late samples may hold kernel-only stacks (the process exiting at the kill).
      if (!mapping) continue;
      const fnName = new Map(profile.function.map((fn) => [Number(fn.id), str(fn.name)]));
      for (const loc of profile.location) {
        if (Number(loc.mappingId) !== Number(mapping.id)) continue;
        const name = fnName.get(Number(loc.line[0]!.functionId))!;
        if (name.startsWith('bigsyms+0x')) continue;
        const off = Number(BigInt(loc.address) - BigInt(mapping.memoryStart) + BigInt(mapping.fileOffset));
        checked.set(off, name);
      }
      if (Number(/(\d+)-\d+(\.\d+)?\.pb\.gz$/.exec(f)![1]) < plantedAtMs + 6_000) continue;
      for (const s of samples) {
        total += s.count;
        if (s.stack.includes('big_hot_leaf')) hot += s.count;
      }
    }
    const offsets = [...checked.keys()];
    const at = llvmSymbolizerFunctions(
      big,
      offsets.map((o) => fileOffsetToVaddr(big, o)),
    );
    const before = llvmSymbolizerFunctions(
      big,
      offsets.map((o) => fileOffsetToVaddr(big, o - 1)),
    );
    offsets.forEach((o, i) => expect([at[i], before[i]], `0x${o.toString(16)}`).toContain(checked.get(o)));
    expect([...checked.values()]).toContain('big_hot_leaf');
    expect(total).toBeGreaterThan(20);
    expect(hot / total).toBeGreaterThan(0.8);

    // The busy process: named samples in every window over the load.
    const normalWindows = windowFiles(dataDir, normal.pid!).filter((f) => {
      const start = Number(/(\d+)-\d+(\.\d+)?\.pb\.gz$/.exec(f)![1]);
      return start >= plantedAtMs && start + 2_000 <= plantedAtMs + 14_000;
    });
    expect(normalWindows.length).toBeGreaterThanOrEqual(4);
    for (const f of normalWindows) {
      const names = readPprof(f).samples.flatMap((s) => s.stack);
      expect(names.filter((n) => n === 'burn_a').length, f).toBeGreaterThan(0);
    }

    // The short-lived process: named although it was gone long before its symbols landed.
    const shortNames = windowFiles(dataDir, procs.short!.pid!).flatMap((f) => readPprof(f).samples.flatMap((s) => s.stack));
    expect(shortNames.length).toBeGreaterThan(0);
    expect(shortNames, `short-lived process frames: ${[...new Set(shortNames)].join(', ')}`).toContain('burn_a');
    expect(shortNames.filter((n) => n.startsWith('split-short+0x'))).toEqual([]);
  }, 300_000);
});
