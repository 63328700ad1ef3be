// Kernel symbolization against /proc/kallsyms read here directly (needs root for
// real addresses).
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { KallsymsError, Symbolizer } from '../../src/symbols/index.js';
import { haveRoot } from './symbols-helpers.js';

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
});

