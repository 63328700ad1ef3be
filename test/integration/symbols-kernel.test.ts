// Kernel symbolization against /proc/kallsyms read here directly (needs root for
// real addresses).
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { KallsymsError, Symbolizer } from '../../src/symbols/index.js';
import { buildFixtures, FIXTURE_BIN, haveRoot, run, startFixture } from './symbols-helpers.js';

interface KSym {
  addr: bigint;
  type: string;
  name: string;
  module?: string;
}

function kallsyms(): KSym[] {
  return readFileSync('/proc/kallsyms', 'latin1')
    .trim()
    .split('\n')
    .map((line) => {
      const [addr, type, name, module] = line.split(/\s+/);
      return { addr: BigInt(`0x${addr}`), type: type!, name: name!, module: module?.replace(/^\[|\]$/g, '') };
    });
}

describe('kernel frames', () => {
  it('names do_sys_openat2+4 and return addresses as perf does', () => {
    if (!haveRoot('reading real kallsyms addresses')) return;
    const syms = kallsyms();
    const openat2 = syms.find((s) => s.name === 'do_sys_openat2')!;
    const sym = new Symbolizer();
    const [leaf, caller] = sym.kernelFrames([openat2.addr + 4n, openat2.addr + 1n]);
    expect(leaf).toEqual({ name: 'do_sys_openat2', kind: 'kernel', address: openat2.addr + 4n, module: '[kernel.kallsyms]', resolved: true });
    // A return address one byte into the function: addr-1 is the function's first byte.
    expect(caller!.name).toBe('do_sys_openat2');
  });

  it('names 200 text symbols (start+1) as one of the kallsyms names at that address', () => {
    if (!haveRoot('reading real kallsyms addresses')) return;
    const text = kallsyms().filter((s) => /^[tT]$/.test(s.type));
    const byAddr = new Map<bigint, KSym[]>();
    for (const s of text) byAddr.set(s.addr, [...(byAddr.get(s.addr) ?? []), s]);
    const addrs = [...byAddr.keys()].sort((a, b) => (a < b ? -1 : 1));
    const sym = new Symbolizer();
    sym.loadKernelSymbols();
    let checked = 0;
    for (let i = 0; i < addrs.length; i += Math.floor(addrs.length / 200)) {
      const addr = addrs[i]!;
      const next = addrs[i + 1];
      if (next !== undefined && next - addr < 2n) continue;
      const [frame] = sym.kernelFrames([addr + 1n]);
      const names = byAddr.get(addr)!;
      expect(names.map((s) => s.name)).toContain(frame!.name);
      const mod = names.find((s) => s.name === frame!.name)!.module;
      expect(frame!.module).toBe(mod ? `[${mod}]` : '[kernel.kallsyms]');
      checked++;
    }
    expect(checked).toBeGreaterThan(150);
    expect(sym.stats().kernelSymbols).toBeGreaterThan(10_000);
  });

  it('an address below all kernel text is a placeholder, not a throw', () => {
    if (!haveRoot('reading real kallsyms addresses')) return;
    const sym = new Symbolizer();
    const [frame] = sym.kernelFrames([0x1000n]);
    expect(frame).toEqual({ name: '[kernel.kallsyms]+0x1000', kind: 'kernel', address: 0x1000n, module: '[kernel.kallsyms]', resolved: false });
    expect(sym.stats().misses).toBe(1);
  });

  it('hidden kernel pointers give placeholders and a clear loadKernelSymbols error', () => {
    // A fake procfs whose kallsyms has all-zero addresses, as a non-root reader sees it.
    const dir = `${process.env.TMPDIR ?? '/tmp'}/hotspan-fakeproc-${process.pid}`;
    mkdirSync(dir, { recursive: true });
    writeFileSync(`${dir}/kallsyms`, '0000000000000000 T _stext\n0000000000000000 t do_sys_openat2\n');
    try {
      const sym = new Symbolizer({ procRoot: dir });
      expect(sym.kernelFrames([0xffffffff81000010n])[0]).toMatchObject({ resolved: false, kind: 'kernel' });
      expect(sym.stats().kernelError).toMatch(/kptr_restrict/);
      expect(() => sym.loadKernelSymbols()).toThrow(KallsymsError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('agrees with perf on every kernel frame of sampled syscalls stacks', async () => {
    if (!haveRoot('perf record of another process and real kallsyms addresses')) return;
    buildFixtures();
    const f = await startFixture(`${FIXTURE_BIN}/syscalls`, ['10']);
    const data = `/tmp/hotspan-symbols-perf-${process.pid}.data`;
    try {
      run('perf', ['record', '-q', '-e', 'cpu-clock', '-F', '499', '-g', '-p', String(f.pid), '-o', data, '--', 'sleep', '1']);
      // "\tffffffff816bac2b vfs_read ([kernel.kallsyms])" — perf's own kallsyms lookup.
      const perfNames = new Map<bigint, { name: string; dso: string }>();
      for (const line of run('perf', ['script', '-i', data, '-F', 'ip,sym,dso']).split('\n')) {
        const m = /^\s*(ffff[0-9a-f]{12}) (\S+) \((\[[^\]]+\])\)$/.exec(line);
        if (m && m[2] !== '[unknown]') perfNames.set(BigInt(`0x${m[1]}`), { name: m[2]!, dso: m[3]! });
      }
      expect(perfNames.size).toBeGreaterThan(10);
      const aliases = new Map<string, bigint>(kallsyms().map((s) => [s.name, s.addr]));
      const sym = new Symbolizer();
      for (const [ip, truth] of perfNames) {
        const [frame] = sym.kernelFrames([ip]);
        // Equal, or another kallsyms name for the same address.
        if (frame!.name !== truth.name)
          expect(aliases.get(frame!.name), `${ip.toString(16)}: ${frame!.name} vs perf ${truth.name}`).toBe(aliases.get(truth.name));
        expect(frame!.module).toBe(truth.dso);
      }
    } finally {
      await f.stop();
      rmSync(data, { force: true });
    }
  });
});
