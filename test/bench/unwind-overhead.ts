// Benchmark: .eh_frame unwinding vs frame pointers only. Prints, asserts nothing.
//  1. Table build time and size for libc, python3 and node (one cold build each, then warm),
//     and the longest the agent's event loop is held while the loader builds them the way it
//     does in the agent (buildTable: bounded steps, setImmediate between slices): the longest
//     slice between two yields (wall and CPU) and monitorEventLoopDelay's max (issue #11: ≤ ~100 ms).
//  2. The sampler on the same busy processes (the -O2 -fomit-frame-pointer C fixture and
//     Debian's python3) twice, unwinding off then on: kernel-measured BPF run time per
//     sample (kernel.bpf_stats_enabled; tail-called walker runs are inside the entry
//     program's time) and this process's CPU (sampler + table loader + decoding).
//
//   node --import tsx test/bench/unwind-overhead.ts   (BENCH_SECONDS=20 by default)
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CpuSampler } from '../../src/profiling/sampler.js';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { buildTableSteps, buildTableSync } from '../../src/unwind/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tables(): void {
  const libc = execFileSync('sh', ['-c', "ldd /bin/true | awk '/libc.so/ {print $3}'"], { encoding: 'utf8' }).trim();
  const node = execFileSync('sh', ['-c', 'readlink -f "$(command -v node)"'], { encoding: 'utf8' }).trim();
  console.log('table builds (rows, kernel bytes as 3 KiB pages, cold ms, warm ms, heap delta MiB):');
  for (const [name, path] of [
    ['libc', libc],
    ['python3', '/usr/bin/python3.11'],
    ['node', node],
  ] as const) {
    const heap0 = process.memoryUsage().heapUsed;
    let t = performance.now();
    const table = buildTableSync(path);
    const cold = performance.now() - t;
    const heap = (process.memoryUsage().heapUsed - heap0) / 2 ** 20;
    t = performance.now();
    buildTableSync(path);
    const warm = performance.now() - t;
    const pages = Math.ceil(table.rowCount / 256);
    console.log(
      `  ${name.padEnd(8)} ${String(table.rowCount).padStart(8)} rows  ${((pages * 3072) / 2 ** 20).toFixed(2).padStart(6)} MiB  ${cold.toFixed(0).padStart(6)} ms  ${warm.toFixed(0).padStart(6)} ms  ${heap.toFixed(1)} MiB  (${table.stats.fdes} FDEs, ${table.stats.badEntries} bad)`,
    );
  }
}

/** Builds like buildTable (20 ms slices), timing each slice between yields. */
async function loopBlock(path: string): Promise<{ wallMs: number; maxSliceMs: number; maxSliceCpuMs: number; loopDelayMaxMs: number }> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const it = buildTableSteps(path);
  let maxSliceMs = 0;
  let maxSliceCpuMs = 0;
  const t0 = performance.now();
  for (let done = false; !done;) {
    const start = performance.now();
    const cpu0 = process.cpuUsage();
    while (performance.now() < start + 20)
      if (it.next().done) {
        done = true;
        break;
      }
    const cpu = process.cpuUsage(cpu0);
    maxSliceMs = Math.max(maxSliceMs, performance.now() - start);
    maxSliceCpuMs = Math.max(maxSliceCpuMs, (cpu.user + cpu.system) / 1000);
    await new Promise((r) => setImmediate(r));
  }
  const wallMs = performance.now() - t0;
  h.disable();
  return { wallMs, maxSliceMs, maxSliceCpuMs, loopDelayMaxMs: h.max / 1e6 };
}

async function eventLoopBlocks(): Promise<void> {
  const libc = execFileSync('sh', ['-c', "ldd /bin/true | awk '/libc.so/ {print $3}'"], { encoding: 'utf8' }).trim();
  const node = execFileSync('sh', ['-c', 'readlink -f "$(command -v node)"'], { encoding: 'utf8' }).trim();
  console.log('event loop while building in 20 ms slices (longest slice wall / CPU, event-loop delay max; wall includes preemption on a busy host):');
  for (const [name, path] of [
    ['libc', libc],
    ['python3', '/usr/bin/python3.11'],
    ['node', node],
  ] as const) {
    const r = await loopBlock(path);
    console.log(
      `  ${name.padEnd(8)} build ${r.wallMs.toFixed(0).padStart(5)} ms wall  longest slice ${r.maxSliceMs.toFixed(0)} ms wall / ${r.maxSliceCpuMs.toFixed(0)} ms CPU  loop delay max ${r.loopDelayMaxMs.toFixed(0)} ms`,
    );
  }
}

function selfCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

async function sampleRun(unwind: boolean, pid: number): Promise<void> {
  let n = 0;
  const cpu0 = selfCpuSeconds();
  const s = CpuSampler.start({ pid, unwind }, (b) => (n += b.length));
  if (unwind) while (s.unwindStats()!.processesLoaded < 1) await sleep(50);
  const loadCpu = selfCpuSeconds() - cpu0;
  const st0 = s.programStats();
  const c0 = s.counters();
  const cpu1 = selfCpuSeconds();
  await sleep(SECONDS * 1000);
  const st1 = s.programStats();
  const c1 = s.counters();
  const cpu = selfCpuSeconds() - cpu1;
  s.stop();
  const runs = Number(st1.runCount - st0.runCount);
  const ns = Number(st1.runTimeNs - st0.runTimeNs);
  const emitted = Number(c1.emitted - c0.emitted);
  console.log(
    `  unwind=${unwind ? 'on ' : 'off'}  ${emitted} samples  BPF ${(ns / Math.max(runs, 1) / 1000).toFixed(2)} µs/run over ${runs} runs` +
      ` (every CPU's tick runs it; other processes' are filtered), ${(ns / Math.max(emitted, 1) / 1000).toFixed(1)} µs of BPF per emitted sample` +
      `  agent CPU ${((100 * cpu) / SECONDS).toFixed(2)}% of one core` +
      (unwind
        ? `  (table load ${loadCpu.toFixed(2)} s CPU; complete ${c1.unwindComplete}, truncated ${c1.unwindTruncated}, fp frames ${c1.unwindFpFrames})`
        : ''),
  );
}

async function main(): Promise<void> {
  console.log(
    `method: one process per run, ${SECONDS} s each, 99 Hz on every CPU; load average at start ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
  );
  tables();
  await eventLoopBlocks();
  if (process.env.BENCH_TABLES_ONLY) return;
  const prev = readFileSync('/proc/sys/kernel/bpf_stats_enabled', 'utf8').trim();
  writeFileSync('/proc/sys/kernel/bpf_stats_enabled', '1');
  try {
    execFileSync('make', ['-s', '-C', `${ROOT}test/fixtures`], { stdio: 'inherit' });
    for (const [name, cmd, args] of [
      ['C fixture (-O2 -fomit-frame-pointer)', `${ROOT}test/fixtures/bin/unwind_chain`, ['0']],
      ['python3 loop', '/usr/bin/python3', ['-c', 'while True: sum(i * i for i in range(1000))']],
    ] as const) {
      console.log(`${name}, ${SECONDS} s per run:`);
      const child = spawn(cmd, [...args], { stdio: 'ignore' });
      await sleep(300);
      try {
        await sampleRun(false, child.pid!);
        await sampleRun(true, child.pid!);
      } finally {
        child.kill('SIGKILL');
      }
    }
  } finally {
    writeFileSync('/proc/sys/kernel/bpf_stats_enabled', prev);
  }
}

await main();
