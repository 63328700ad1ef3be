// The ELF reader against binutils (readelf, nm) on the fixtures and on libc.
import { beforeAll, describe, expect, it } from 'vitest';
import { bufferSource, ElfFormatError, fileOffsetToVaddr, fileSource, readElfHeaders, readFunctionSymbols } from '../../../src/symbols/elf.js';
import { readElfSymbols, lookupVaddr } from '../../../src/symbols/elf-symbols.js';
import { buildFixtures, FIXTURE_BIN, run } from './fixtures.js';

const LIBC = run('sh', ['-c', "ldd /bin/true | awk '/libc.so/ {print $3}'"]).trim();

function headersOf(path: string) {
  const src = fileSource(path);
  try {
    return readElfHeaders(src);
  } finally {
    src.close();
  }
}

/** PT_LOAD rows from `readelf -lW`: offset, vaddr, filesz, memsz (numbers). */
function readelfLoads(path: string) {
  return run('readelf', ['-lW', path])
    .split('\n')
    .filter((l) => /^\s+LOAD\s/.test(l))
    .map((l) => {
      const f = l.trim().split(/\s+/);
      return { fileOffset: Number(f[1]), vaddr: Number(f[2]), fileSize: Number(f[4]), memSize: Number(f[5]) };
    });
}

/** Defined function symbols from nm: Map vaddr → names. */
function nmFunctions(path: string, dynamic: boolean): Map<number, Set<string>> {
  const out = new Map<number, Set<string>>();
  const args = ['--defined-only', '-S', ...(dynamic ? ['-D'] : []), path];
  for (const line of run('nm', args).split('\n')) {
    // "addr size type name", or "addr type name" when the symbol has no size.
    const f = line.trim().split(/\s+/);
    if (f.length === 3) f.splice(1, 0, '0');
    if (f.length < 4 || !/^[tTwWi]$/.test(f[2]!)) continue;
    const addr = parseInt(f[0]!, 16);
    if (addr === 0) continue;
    const name = f[3]!.replace(/@.*$/, '');
    if (!out.has(addr)) out.set(addr, new Set());
    out.get(addr)!.add(name);
  }
  return out;
}

/** Defined FUNC/IFUNC symbols of one table, parsed from `readelf -sW`: Map vaddr → names. */
function readelfFunctions(path: string, table: '.symtab' | '.dynsym'): Map<number, Set<string>> {
  const out = new Map<number, Set<string>>();
  let inTable = false;
  for (const line of run('readelf', ['-sW', path]).split('\n')) {
    const header = /^Symbol table '([^']+)'/.exec(line);
    if (header) {
      inTable = header[1] === table;
      continue;
    }
    if (!inTable) continue;
    // "  25: 0000000000001181    44 FUNC    GLOBAL DEFAULT   15 burn_a"
    const f = line.trim().split(/\s+/);
    if (f.length < 8 || !/^\d+:$/.test(f[0]!) || !/^(FUNC|IFUNC)$/.test(f[3]!) || f[6] === 'UND') continue;
    const addr = parseInt(f[1]!, 16);
    if (addr === 0) continue;
    const name = f[7]!.replace(/@.*$/, '');
    if (!out.has(addr)) out.set(addr, new Set());
    out.get(addr)!.add(name);
  }
  return out;
}

beforeAll(buildFixtures);

describe('readElfHeaders', () => {
  for (const name of ['split', 'split-nopie', 'libburn.so', 'split-stripped']) {
    it(`matches readelf on ${name}`, () => {
      const path = `${FIXTURE_BIN}/${name}`;
      const h = headersOf(path);
      const readelfId = /Build ID: ([0-9a-f]+)/.exec(run('readelf', ['-n', path]))![1];
      expect(h.buildId).toBe(readelfId);
      expect(h.loads.map(({ fileOffset, vaddr, fileSize, memSize }) => ({ fileOffset, vaddr, fileSize, memSize }))).toEqual(readelfLoads(path));
    });
  }

  it('matches readelf on libc', () => {
    const h = headersOf(LIBC);
    expect(h.buildId).toBe(/Build ID: ([0-9a-f]+)/.exec(run('readelf', ['-n', LIBC]))![1]);
    expect(h.loads.map(({ fileOffset, vaddr, fileSize, memSize }) => ({ fileOffset, vaddr, fileSize, memSize }))).toEqual(readelfLoads(LIBC));
  });

  it('reads the .gnu_debuglink name and CRC as objcopy wrote them', () => {
    const h = headersOf(`${FIXTURE_BIN}/split-debuglink`);
    const dump = run('readelf', ['--string-dump=.gnu_debuglink', `${FIXTURE_BIN}/split-debuglink`]);
    expect(dump).toContain(h.debugLink!.fileName);
    expect(h.debugLink!.fileName).toBe('split-debuglink.debug');
    const crc = run('sh', ['-c', `python3 -c "import zlib,sys;print(zlib.crc32(open(sys.argv[1],'rb').read()))" ${FIXTURE_BIN}/split-debuglink.debug`]).trim();
    expect(h.debugLink!.crc32).toBe(Number(crc));
  });

  it('rejects non-ELF input, 32-bit and big-endian ELF with the reason', () => {
    expect(() => readElfHeaders(bufferSource('text', Buffer.from('#!/bin/sh\necho hi\n')))).toThrow(/text: not a supported ELF file: bad magic/);
    const elf32 = Buffer.alloc(64);
    elf32.write('\x7fELF', 0, 'latin1');
    elf32[4] = 1;
    elf32[5] = 1;
    expect(() => readElfHeaders(bufferSource('x32', elf32))).toThrow(ElfFormatError);
    expect(() => readElfHeaders(bufferSource('x32', elf32))).toThrow(/class 1 \(only 64-bit/);
    const be = Buffer.from(elf32);
    be[4] = 2;
    be[5] = 2;
    expect(() => readElfHeaders(bufferSource('be', be))).toThrow(/only little endian/);
  });

  it('reports truncated section headers instead of reading garbage', () => {
    const real = run('sh', ['-c', `head -c 200 ${FIXTURE_BIN}/split | base64 -w0`]);
    const cut = Buffer.from(real, 'base64');
    expect(() => readElfHeaders(bufferSource('cut', cut))).toThrow(/truncated/);
  });
});

describe('readFunctionSymbols', () => {
  it('.symtab of split equals readelf -s', () => {
    const path = `${FIXTURE_BIN}/split`;
    const src = fileSource(path);
    const syms = readFunctionSymbols(src, readElfHeaders(src), '.symtab');
    src.close();
    const ours = new Map<number, Set<string>>();
    for (const s of syms) {
      if (!ours.has(s.value)) ours.set(s.value, new Set());
      ours.get(s.value)!.add(s.name);
    }
    expect(ours).toEqual(readelfFunctions(path, '.symtab'));
    expect([...ours.values()].some((names) => names.has('burn_b'))).toBe(true);
  });

  it('.dynsym of libc equals readelf -s', () => {
    const src = fileSource(LIBC);
    const syms = readFunctionSymbols(src, readElfHeaders(src), '.dynsym');
    src.close();
    const ours = new Map<number, Set<string>>();
    for (const s of syms) {
      if (!ours.has(s.value)) ours.set(s.value, new Set());
      ours.get(s.value)!.add(s.name);
    }
    expect(ours.size).toBeGreaterThan(1000);
    expect(ours).toEqual(readelfFunctions(LIBC, '.dynsym'));
  });
});

describe('readElfSymbols', () => {
  it('names every address inside libc functions as one of nm -D aliases of the containing function', () => {
    const syms = readElfSymbols(LIBC);
    const sized = run('nm', ['--defined-only', '-D', '-S', LIBC])
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f.length === 4 && /^[tTiW]$/.test(f[2]!) && parseInt(f[1]!, 16) > 0)
      .map((f) => ({ addr: parseInt(f[0]!, 16), size: parseInt(f[1]!, 16) }));
    const nm = nmFunctions(LIBC, true);
    let checked = 0;
    for (const s of sized.filter((_, i) => i % 7 === 0)) {
      const probe = s.addr + Math.floor(s.size / 2);
      const name = lookupVaddr(syms, probe);
      // Nested symbols exist (a smaller function inside a larger one); accept the
      // innermost nm symbol containing the probe.
      const containing = sized.filter((t) => t.addr <= probe && probe < t.addr + t.size).sort((a, b) => b.addr - a.addr)[0]!;
      expect(nm.get(containing.addr)).toContain(name);
      checked++;
    }
    expect(checked).toBeGreaterThan(100);
  });

  it('uses the debuglink file for a stripped binary and nothing for a plain stripped one', () => {
    const linked = readElfSymbols(`${FIXTURE_BIN}/split-debuglink`);
    expect(linked.source).toBe('debug-file');
    expect(linked.debugFile).toBe(`${FIXTURE_BIN}/split-debuglink.debug`);
    const nm = nmFunctions(`${FIXTURE_BIN}/split-debuglink.full`, false);
    const burnB = [...nm].find(([, names]) => names.has('burn_b'))![0];
    expect(lookupVaddr(linked, burnB + 3)).toBe('burn_b');

    const stripped = readElfSymbols(`${FIXTURE_BIN}/split-stripped`);
    expect(stripped.source).not.toBe('symtab');
    expect(lookupVaddr(stripped, burnB + 3)).toBeUndefined();
  });

  it('maps file offsets to vaddrs through PT_LOAD (non-PIE: offset 0x1000 → 0x401000)', () => {
    const loads = readelfLoads(`${FIXTURE_BIN}/split-nopie`);
    const text = loads.find((l) => l.fileOffset === 0x1000)!;
    expect(fileOffsetToVaddr(headersOf(`${FIXTURE_BIN}/split-nopie`).loads, 0x1010)).toBe(text.vaddr + 0x10);
    expect(fileOffsetToVaddr([], 0x1010)).toBeUndefined();
  });
});
