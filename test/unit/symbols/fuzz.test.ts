/**
 * Fuzzing in CI (fixed seed, counts printed): the ELF reader + symbol tables, the perf-map
 * parser and reader, and the demangler wrapper get mutated and generated hostile input; every
 * case must end within a time bound, read a bounded number of bytes, and fail only with the
 * reader's own error type. HOTSPAN_FUZZ_CASES=1000000 runs a million cases per fuzzer on demand
 * (HOTSPAN_FUZZ_SEED picks another seed). The two inputs that once hung or blinded the agent are
 * kept as regression cases.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { beforeAll, describe, expect, it } from 'vitest';
import { bufferSource, ElfFormatError, readElfHeaders, readFunctionSymbols, type ByteSource } from '../../../src/symbols/elf.js';
import { readElfSymbolsFrom, lookupVaddr } from '../../../src/symbols/elf-symbols.js';
import { classifyJitName, parsePerfMapLine, PerfMap, PERF_MAP_BOUNDS } from '../../../src/symbols/perf-map.js';
import { demangle, demangleNow, demanglerLoadError, DEMANGLE_BOUNDS } from '../../../src/symbols/demangle.js';
import { failureCount } from '../../../src/workload-files/index.js';
import { caseCount, FUZZ_SEED, int, pick, rng } from '../../fuzz/rng.js';
import { mutateElf, withWrappingNote } from '../../fuzz/elf-mutate.js';
import { perfMapLine } from '../../fuzz/perf-map-gen.js';
import { explodingName, mangledName } from '../../fuzz/mangled-gen.js';
import { buildFixtures, FIXTURE_BIN } from './fixtures.js';

/**
 * CPU time one case may take (the thread's own user+system time, so a host loaded by other work
 * does not count against it; wall times are printed beside).
 */
const CASE_MAX_MS = 250;

/** Milliseconds of CPU this process has used (user + system). */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function countingSource(buf: Buffer): ByteSource & { bytes: number } {
  const inner = bufferSource('fuzz', buf);
  const src = {
    name: 'fuzz',
    size: buf.length,
    bytes: 0,
    read(offset: number, length: number) {
      const out = inner.read(offset, length);
      src.bytes += out.length;
      return out;
    },
    close() {},
  };
  return src;
}

function parseAll(buf: Buffer): { ms: number; bytes: number; error?: unknown } {
  const src = countingSource(buf);
  const t0 = cpuMs();
  let error: unknown;
  try {
    const headers = readElfHeaders(src);
    for (const which of ['.symtab', '.dynsym'] as const) {
      try {
        readFunctionSymbols(src, headers, which);
      } catch (err) {
        if (!(err instanceof ElfFormatError)) throw err;
      }
    }
    const syms = readElfSymbolsFrom(src, headers);
    for (const seg of headers.loads.slice(0, 4)) lookupVaddr(syms, seg.vaddr + 0x40);
  } catch (err) {
    error = err;
  }
  return { ms: cpuMs() - t0, bytes: src.bytes, error };
}

describe('fuzz: ELF reader and symbol tables', () => {
  let seeds: Buffer[];
  beforeAll(() => {
    buildFixtures();
    seeds = ['split', 'split-stripped', 'split-debuglink', 'split-debuglink.debug', 'libburn.so', 'cxx_rust'].map((f) => readFileSync(join(FIXTURE_BIN, f)));
  });

  it('regression: a PT_NOTE with namesz 0xFFFFFFF1 ends the note walk (it looped forever)', () => {
    const elf = withWrappingNote(seeds[0]!);
    const r = parseAll(elf);
    expect(r.error).toBeUndefined();
    expect(r.ms).toBeLessThan(CASE_MAX_MS);
    // The binary still runs: the kernel does not read PT_NOTE.
    const dir = mkdtempSync(join(tmpdir(), 'hotspan-fuzz-'));
    writeFileSync(join(dir, 'wrap'), elf, { mode: 0o755 });
    const run = spawnSync(join(dir, 'wrap'), [], { timeout: 1000, stdio: 'ignore' });
    // It executes (no ENOEXEC): it either finishes or is still burning CPU when stopped.
    expect((run.error as NodeJS.ErrnoException | undefined)?.code ?? 'ETIMEDOUT').toBe('ETIMEDOUT');
    rmSync(dir, { recursive: true });
  });

  it('mutated ELF files: bounded time and bytes per case, only ElfFormatError', () => {
    const r = rng(FUZZ_SEED);
    const cases = caseCount(20_000);
    const rssBefore = process.memoryUsage().rss;
    let failed = 0;
    let worstMs = 0;
    let worstBytes = 0;
    for (let i = 0; i < cases; i++) {
      const seed = pick(r, seeds);
      const buf = mutateElf(r, seed);
      const res = parseAll(buf);
      if (res.error !== undefined) {
        failed++;
        if (!(res.error instanceof ElfFormatError)) {
          throw new Error(`case ${i}: ${(res.error as Error).stack}\ninput (base64): ${buf.toString('base64')}`);
        }
      }
      worstMs = Math.max(worstMs, res.ms);
      worstBytes = Math.max(worstBytes, res.bytes);
      // Parsing reads the headers, tables and notes it needs: a small multiple of the file.
      expect(res.bytes, `case ${i}`).toBeLessThanOrEqual(8 * buf.length + 64 * 1024);
      expect(res.ms, `case ${i}`).toBeLessThan(CASE_MAX_MS);
    }
    const rssGrowthMb = (process.memoryUsage().rss - rssBefore) / 1e6;
    console.log(
      `ELF fuzz: ${cases} cases (seed ${FUZZ_SEED}), ${failed} rejected with ElfFormatError, worst ${worstMs.toFixed(1)} ms, worst ${worstBytes} bytes read, RSS +${rssGrowthMb.toFixed(0)} MB`,
    );
    expect(rssGrowthMb).toBeLessThan(300);
  });
});

describe('fuzz: perf-map parser and reader', () => {
  it('generated lines: bounded time, bounded names, addresses within 64 bits', () => {
    const r = rng(FUZZ_SEED + 1);
    const cases = caseCount(20_000);
    let parsed = 0;
    for (let i = 0; i < cases; i++) {
      const line = perfMapLine(r);
      const t0 = cpuMs();
      const e = parsePerfMapLine(line);
      if (e) {
        parsed++;
        expect(e.start).toBeLessThan(1n << 64n);
        expect(e.rawName.length).toBeLessThanOrEqual(PERF_MAP_BOUNDS.maxLineChars);
        const sym = classifyJitName(e.rawName);
        expect(sym.name.length).toBeLessThanOrEqual(PERF_MAP_BOUNDS.maxLineChars);
      }
      expect(cpuMs() - t0, `line ${i}`).toBeLessThan(CASE_MAX_MS);
    }
    console.log(`perf-map line fuzz: ${cases} cases (seed ${FUZZ_SEED + 1}), ${parsed} parsed`);
  });

  it('generated files grown in chunks: each refresh bounded, entries bounded, lookups answer', () => {
    const r = rng(FUZZ_SEED + 2);
    const dir = mkdtempSync(join(tmpdir(), 'hotspan-fuzz-pm-'));
    const cases = Math.max(50, Math.floor(caseCount(20_000) / 200));
    let refreshes = 0;
    for (let i = 0; i < cases; i++) {
      const path = join(dir, `perf-${i}.map`);
      writeFileSync(path, '');
      const pm = new PerfMap(path, { root: '/' });
      for (let k = 0; k < 1 + int(r, 6); k++) {
        const lines = Array.from({ length: int(r, 200) }, () => perfMapLine(r));
        appendFileSync(path, lines.join('\n') + (r() < 0.7 ? '\n' : ''));
        const t0 = cpuMs();
        expect(pm.refresh()).toBe(true);
        refreshes++;
        expect(cpuMs() - t0).toBeLessThan(CASE_MAX_MS);
        expect(pm.size).toBeLessThanOrEqual(PERF_MAP_BOUNDS.maxEntries);
        pm.lookup(BigInt(int(r, 2 ** 48)));
      }
      rmSync(path);
    }
    rmSync(dir, { recursive: true });
    console.log(`perf-map file fuzz: ${cases} files, ${refreshes} refreshes (seed ${FUZZ_SEED + 2})`);
  });

  it('regression: a directory or FIFO where the perf map should be is refused at once, counted', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hotspan-fuzz-pm-'));
    mkdirSync(join(dir, 'perf-1.map'));
    execFileSync('mkfifo', [join(dir, 'perf-2.map')]);
    const before = failureCount('not-regular');
    const t0 = performance.now(); // wall time: a FIFO would block, not burn CPU
    expect(new PerfMap(join(dir, 'perf-1.map'), { root: '/' }).refresh()).toBe(false);
    expect(new PerfMap(join(dir, 'perf-2.map'), { root: '/' }).refresh()).toBe(false);
    expect(performance.now() - t0).toBeLessThan(5_000);
    expect(failureCount('not-regular')).toBe(before + 2);
    rmSync(dir, { recursive: true });
  });
});

describe('fuzz: demangler wrapper', () => {
  it('regression: a 189-character name that demangles to millions of characters stays mangled; the caller never waits', async () => {
    expect(demanglerLoadError()).toBeUndefined(); // the worker's first start is waited for once
    const name = explodingName(18);
    const t0 = cpuMs();
    const first = demangleNow(name);
    expect(cpuMs() - t0).toBeLessThan(CASE_MAX_MS);
    expect(first === undefined || first === name).toBe(true);
    const deadline = Date.now() + 30_000;
    let out = first;
    while (out === undefined && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 20));
      out = demangleNow(name);
    }
    expect(out).toBe(name);
  });

  it('generated names: the hot-path call never blocks, every name settles bounded', async () => {
    const r = rng(FUZZ_SEED + 3);
    const cases = Math.max(1000, Math.floor(caseCount(20_000) / 4));
    let changed = 0;
    let worstMs = 0;
    const pending = new Set<string>();
    expect(demangleNow('_ZN4test3fooEv')).toBe('test::foo()'); // one-time WASM compile, not a case
    const check = (name: string, out: string) => {
      if (out !== name) changed++;
      expect(out.length, name).toBeLessThanOrEqual(Math.max(name.length, DEMANGLE_BOUNDS.maxOutputChars));
    };
    for (let i = 0; i < cases; i++) {
      const name = mangledName(r);
      const t0 = cpuMs();
      const out = demangleNow(name);
      const ms = cpuMs() - t0;
      worstMs = Math.max(worstMs, ms);
      expect(ms, name).toBeLessThan(CASE_MAX_MS);
      if (out === undefined) pending.add(name);
      else check(name, out);
    }
    // The worker settles every deferred name (kept mangled past a bound) without anyone waiting.
    const deadline = Date.now() + 60_000;
    while (pending.size > 0 && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 20));
      for (const name of pending) {
        const out = demangleNow(name);
        if (out !== undefined) {
          pending.delete(name);
          check(name, out);
        }
      }
    }
    expect(pending.size).toBe(0);
    console.log(`demangle fuzz: ${cases} cases (seed ${FUZZ_SEED + 3}), ${changed} demangled, worst call ${worstMs.toFixed(1)} ms`);
    // Real names still demangle after all that.
    expect(demangle('_ZNSt6vectorIiSaIiEE9push_backERKi')).toBe('std::vector<int, std::allocator<int> >::push_back(int const&)');
  });
});
