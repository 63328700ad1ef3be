/**
 * Benchmark: diff of two synthetic profiles with 100k unique stacks each, against Google
 * pprof -top -diff_base on the same files, side by side. Prints figures; asserts nothing.
 *
 *   node --import tsx test/bench/flamegraph-diff.ts
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { diff, fromFolded, loadInput, toPprof, type Profile } from '../../src/flamegraph/index.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const PPROF = join(ROOT, 'test/fixtures/bin/pprof');
const UNIQUE_STACKS = 100_000;
const FUNCTIONS = 5_000;
const RUNS = 5;

/** Deterministic PRNG (mulberry32) so both runs and both tools see the same profiles. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 100k distinct stacks, depth 8..31, names from a 5k vocabulary, counts 1..50. */
export function syntheticFolded(seed: number): string {
  const r = rng(seed);
  const seen = new Set<string>();
  const lines: string[] = [];
  while (lines.length < UNIQUE_STACKS) {
    const depth = 8 + Math.floor(r() * 24);
    const frames = ['main'];
    for (let i = 1; i < depth; i++) {
      const fn = Math.floor(r() * FUNCTIONS);
      frames.push(`pkg${fn % 50}.fn_${fn}`);
    }
    const key = frames.join(';');
    if (seen.has(key)) continue;
    seen.add(key);
    lines.push(`${key} ${1 + Math.floor(r() * 50)}`);
  }
  return `${lines.join('\n')}\n`;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/**
 * CPU milliseconds (user + system) of this process spent in fn. The bench machine is shared,
 * so wall time mostly measures waiting for a core; CPU time is what the work costs.
 */
function cpuMs(fn: () => void): number {
  const t0 = process.cpuUsage();
  fn();
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / 1000;
}

function wallMs(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

/** CPU ms (user + sys) of a child process, from bash's `time`. */
function childCpuMs(cmd: string, args: string[]): number {
  const quoted = [cmd, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const out = execFileSync('bash', ['-c', `TIMEFORMAT='%U %S'; { time ${quoted} >/dev/null 2>&1; } 2>&1`], { encoding: 'utf8' });
  const [user, sys] = out.trim().split(/\s+/).map(Number);
  return (user! + sys!) * 1000;
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'hotspan-bench-flame-'));
  try {
    const base: Profile = fromFolded(syntheticFolded(1), { periodNs: 1e7, durationNs: 60e9 });
    const head: Profile = fromFolded(syntheticFolded(2), { periodNs: 1e7, durationNs: 60e9 });
    const basePath = join(dir, 'base.pb.gz');
    const headPath = join(dir, 'head.pb.gz');
    writeFileSync(basePath, toPprof(base));
    writeFileSync(headPath, toPprof(head));

    diff(base, head); // warm-up (JIT)
    const diffCpu = median(Array.from({ length: RUNS }, () => cpuMs(() => diff(base, head))));
    const diffWall = median(Array.from({ length: RUNS }, () => wallMs(() => diff(base, head))));
    const framesOnlyCpu = median(Array.from({ length: RUNS }, () => cpuMs(() => diff(base, head, { stacks: false }))));
    const e2eCpu: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = process.cpuUsage();
      const [b, h] = await Promise.all([loadInput(basePath), loadInput(headPath)]);
      diff(b, h);
      const d = process.cpuUsage(t0);
      e2eCpu.push((d.user + d.system) / 1000);
    }
    const endToEndCpu = median(e2eCpu);

    let pprofCpu: number | undefined;
    let pprofWall: number | undefined;
    if (existsSync(PPROF)) {
      const args = ['-top', '-sample_index=samples', '-nodecount=20', '-diff_base', basePath, headPath];
      pprofCpu = median(Array.from({ length: 3 }, () => childCpuMs(PPROF, args)));
      pprofWall = wallMs(() => execFileSync(PPROF, args, { stdio: 'ignore' }));
    }
    const load = (await import('node:os')).loadavg()[0]!.toFixed(1);
    const out = [
      `flamegraph diff: ${UNIQUE_STACKS} unique stacks per side, ${FUNCTIONS} functions; median of ${RUNS}; load average ${load} on ${(await import('node:os')).cpus().length} cores`,
      `  hotspan diff in memory (frames + stacks): ${diffCpu.toFixed(1)} ms CPU, ${diffWall.toFixed(1)} ms wall  (target ≤ 100 ms)`,
      `  hotspan diff in memory (frames only):     ${framesOnlyCpu.toFixed(1)} ms CPU`,
      `  hotspan load 2 pprof files + diff:        ${endToEndCpu.toFixed(1)} ms CPU`,
      pprofCpu === undefined
        ? '  pprof -top -diff_base: not built (bash deploy/setup.sh --dev)'
        : `  pprof -top -diff_base, same files:       ${pprofCpu.toFixed(1)} ms CPU, ${pprofWall!.toFixed(1)} ms wall` +
          `  → hotspan load+diff uses ${(pprofCpu / endToEndCpu).toFixed(1)}× less CPU`,
    ];
    console.log(out.join('\n'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
