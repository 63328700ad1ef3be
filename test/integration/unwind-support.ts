// Shared by the unwind-*.test.ts files: samples a process with the .eh_frame walker on,
// counting only samples taken after its tables were loaded (before that the kernel
// walks it by frame pointers and says so in a counter, checked separately), and
// independent ground truth: addr2line on the raw PCs and perf's own DWARF unwinder.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RawCpuSample } from '../../src/events/decode.js';
import { CpuSampler, type SamplerCounters } from '../../src/profiling/sampler.js';
import { readElfCfi } from '../../src/unwind/index.js';

export interface UnwoundRun {
  samples: RawCpuSample[];
  counters: SamplerCounters;
  mapsText: string;
  loadMs: number;
}

/** Samples `pid` for `seconds` once its unwind tables are in the kernel. */
export async function sampleWithUnwinding(pid: number, seconds: number): Promise<UnwoundRun> {
  const samples: RawCpuSample[] = [];
  let fromNs = -1n;
  const sampler = CpuSampler.start({ pid, unwind: { onError: (e) => console.warn('unwind:', e.message) } }, (batch) => {
    if (fromNs >= 0n) for (const s of batch) if (s.timeMonoNs > fromNs) samples.push(s);
  });
  try {
    const t0 = Date.now();
    // The loader builds tables on this event loop; a loaded CI host may take a few seconds.
    while (sampler.unwindStats()!.processesLoaded < 1) {
      if (Date.now() - t0 > 90_000) throw new Error(`unwind tables for ${pid} not loaded after 90 s: ${JSON.stringify(sampler.unwindStats())}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const loadMs = Date.now() - t0;
    fromNs = process.hrtime.bigint(); // CLOCK_MONOTONIC, like bpf_ktime_get_ns
    const mapsText = readFileSync(`/proc/${pid}/maps`, 'utf8');
    await new Promise((r) => setTimeout(r, seconds * 1000));
    sampler.stop();
    return { samples, counters: sampler.counters(), mapsText, loadMs };
  } finally {
    sampler.stop();
  }
}

/** Function names of a user stack by addr2line (leaf first); '?' where it cannot tell. */
export function addr2lineNames(mapsText: string, stacks: bigint[][], onlyFile: string): string[][] {
  const maps = mapsText
    .split('\n')
    .map((l) => /^([0-9a-f]+)-([0-9a-f]+) \S+ ([0-9a-f]+) \S+ \d+\s+(\/.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => !!m && m[4] === onlyFile)
    .map((m) => ({ start: BigInt('0x' + m[1]), end: BigInt('0x' + m[2]), offset: BigInt('0x' + m[3]) }));
  const segs = readElfCfi(onlyFile).execSegments;
  const toVaddr = (addr: bigint): bigint | undefined => {
    const m = maps.find((x) => addr >= x.start && addr < x.end);
    if (!m) return undefined;
    const fileOff = addr - m.start + m.offset;
    const s = segs.find((g) => fileOff >= BigInt(g.fileOffset) && fileOff < BigInt(g.fileOffset + g.fileSize));
    return s ? fileOff - BigInt(s.fileOffset) + BigInt(s.vaddr) : undefined;
  };
  const wanted = new Map<string, string>();
  const keyed = stacks.map((st) =>
    st.map((a, i) => {
      const v = toVaddr(i === 0 ? a : a - 1n); // return addresses point after the call
      if (v === undefined) return undefined;
      const k = '0x' + v.toString(16);
      wanted.set(k, '?');
      return k;
    }),
  );
  const list = [...wanted.keys()];
  for (let i = 0; i < list.length; i += 2000) {
    const chunk = list.slice(i, i + 2000);
    const out = execFileSync('addr2line', ['-f', '-e', onlyFile, ...chunk], { encoding: 'utf8', maxBuffer: 64 << 20 }).split('\n');
    chunk.forEach((k, j) => wanted.set(k, out[j * 2] ?? '?'));
  }
  return keyed.map((st) => st.map((k) => (k === undefined ? '(other)' : wanted.get(k)!)));
}

/** True when `names` (leaf first) holds `chain` (leaf first) as consecutive frames. */
export function hasChain(names: string[], chain: string[]): boolean {
  for (let i = 0; i + chain.length <= names.length; i++) if (chain.every((c, j) => names[i + j] === c)) return true;
  return false;
}

/** perf record --call-graph dwarf on the same process: each sample's symbol names, leaf first. */
export async function perfDwarfStacks(pid: number, seconds: number): Promise<string[][]> {
  const dir = mkdtempSync(join(tmpdir(), 'hotspan-unwind-perf-'));
  const data = join(dir, 'perf.data');
  await new Promise<void>((resolve, reject) => {
    const p = spawn('perf', ['record', '-q', '-F', '99', '--call-graph', 'dwarf', '-p', String(pid), '-o', data, '--', 'sleep', String(seconds)], {
      stdio: 'ignore',
    });
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`perf record exited ${code}`))));
  });
  const text = execFileSync('perf', ['script', '-i', data, '-F', 'ip,sym'], { encoding: 'utf8', maxBuffer: 256 << 20, stdio: ['ignore', 'pipe', 'ignore'] });
  return text
    .split(/\n\s*\n/)
    .map((block) =>
      block
        .split('\n')
        .map((l) => /^\s*[0-9a-f]+\s+(\S+)/.exec(l)?.[1])
        .filter((s): s is string => !!s),
    )
    .filter((s) => s.length > 0);
}
