// Pure parsers on captured real text: kallsyms, /proc/PID/maps, V8 perf maps.
import { appendFileSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { KallsymsError, parseKallsyms } from '../../../src/symbols/kallsyms.js';
import { classifyJitName, parsePerfMapLine, PerfMap } from '../../../src/symbols/perf-map.js';
import { findMapping, parseProcMaps } from '../../../src/symbols/proc-maps.js';

// Captured from /proc/kallsyms on Linux 6.18 (as root), plus two broken lines.
const KALLSYMS = `ffffffff81000000 T _stext
ffffffff816b7430 t do_sys_openat2
ffffffff816b7560 T do_sys_open
ffffffff82a00000 D some_data
garbage line
ffffffffzz000000 T bad_hex
ffffffffc0201000 t ftrace_trampoline\t[__builtin__ftrace]
ffffffffc0a10000 t nft_do_chain\t[nf_tables]
`;

describe('parseKallsyms', () => {
  const { table, malformedLines } = parseKallsyms(KALLSYMS);

  it('finds the containing text symbol and its module', () => {
    expect(table.lookup(0xffffffff816b7430n + 4n)?.name).toBe('do_sys_openat2');
    expect(table.lookup(0xffffffff816b7560n)?.name).toBe('do_sys_open');
    expect(table.lookup(0xffffffffc0a10010n)).toMatchObject({ name: 'nft_do_chain', tag: 'nf_tables' });
    expect(table.lookup(0xffffffff816b7430n)?.start).toBe(0xffffffff816b7430n);
  });

  it('keeps full 64-bit precision (addresses above 2^53)', () => {
    expect(table.lookup(0xffffffff816b755fn)?.name).toBe('do_sys_openat2');
    expect(table.lookup(0xffffffff816b7560n)?.name).toBe('do_sys_open');
  });

  it('skips data symbols and counts malformed lines', () => {
    expect(table.size).toBe(5);
    expect(malformedLines).toBe(2);
    expect(table.lookup(0xffffffff80000000n)).toBeUndefined();
  });

  it('explains hidden kernel pointers', () => {
    expect(() => parseKallsyms('0000000000000000 T _stext\n0000000000000000 t foo\n')).toThrow(KallsymsError);
    expect(() => parseKallsyms('0000000000000000 T _stext\n')).toThrow(/kptr_restrict/);
  });
});

// Captured from `cat /proc/PID/maps` of test/fixtures/bin/split.
const MAPS = `561e1b7f8000-561e1b7f9000 r--p 00000000 fe:00 5333455                    /work/main/test/fixtures/bin/split
561e1b7f9000-561e1b7fa000 r-xp 00001000 fe:00 5333455                    /work/main/test/fixtures/bin/split
7f27f0661000-7f27f07b7000 r-xp 00026000 fe:00 339380                     /usr/lib/x86_64-linux-gnu/libc.so.6
7f27f0830000-7f27f0832000 r-xp 00000000 00:00 0                          [vdso]
7f27f0900000-7f27f0a00000 rwxp 00000000 00:00 0 
7f27f0b00000-7f27f0b01000 r-xp 00001000 fe:00 42                         /tmp/gone (deleted)
not a maps line
`;

describe('parseProcMaps', () => {
  const { mappings, malformedLines } = parseProcMaps(MAPS);
  it('parses ranges, offsets, paths and deleted markers', () => {
    expect(mappings).toHaveLength(6);
    expect(malformedLines).toBe(1);
    expect(mappings[1]).toMatchObject({ start: 0x561e1b7f9000n, end: 0x561e1b7fa000n, perms: 'r-xp', fileOffset: 0x1000n, inode: 5333455, deleted: false });
    expect(mappings[4]).toMatchObject({ path: '', perms: 'rwxp' });
    expect(mappings[5]).toMatchObject({ path: '/tmp/gone', deleted: true });
  });
  it('finds the mapping that contains an address', () => {
    expect(findMapping(mappings, 0x7f27f0661000n)).toBe(2);
    expect(findMapping(mappings, 0x7f27f07b6fffn)).toBe(2);
    expect(findMapping(mappings, 0x7f27f07b7000n)).toBe(-1);
    expect(findMapping(mappings, 0n)).toBe(-1);
  });
});

describe('perf maps', () => {
  it('parses START SIZE name lines (hex, no 0x)', () => {
    expect(parsePerfMapLine('7fee45fc8080 30c JS:*burnA file:///x/split.js:9:15')).toEqual({
      start: 0x7fee45fc8080n,
      size: 0x30cn,
      rawName: 'JS:*burnA file:///x/split.js:9:15',
    });
    expect(parsePerfMapLine('zzz 10 foo')).toBeUndefined();
    expect(parsePerfMapLine('1000')).toBeUndefined();
  });

  it('cleans V8 names: prefixes, tier markers, file:line', () => {
    // Lines as node 20 writes them with --perf-basic-prof, and older LazyCompile ones.
    expect(classifyJitName('JS:*burnA file:///work/x/split.js:9:15')).toEqual({ name: 'burnA', kind: 'v8js', file: '/work/x/split.js', line: 9 });
    expect(classifyJitName('JS:^burnB file:///work/x/split.js:13:15')).toMatchObject({ name: 'burnB', line: 13 });
    expect(classifyJitName('JS:~burnC file:///work/x/split.js:17:15')).toMatchObject({ name: 'burnC', line: 17 });
    expect(classifyJitName('JS:+maglevd /a/b.js:2:1')).toMatchObject({ name: 'maglevd', file: '/a/b.js', line: 2 });
    expect(classifyJitName('LazyCompile:*fib /path/x.js:3')).toEqual({ name: 'fib', kind: 'v8js', file: '/path/x.js', line: 3 });
    expect(classifyJitName('Script:~ file:///work/x/split.js:1:1')).toMatchObject({ name: '(anonymous)', kind: 'v8js', line: 1 });
    expect(classifyJitName('JS:*Module._compile node:internal/modules/cjs/loader:1364:14')).toMatchObject({
      name: 'Module._compile',
      file: 'node:internal/modules/cjs/loader',
      line: 1364,
    });
    expect(classifyJitName('Builtin:ArrayPrototypePush')).toEqual({ name: 'Builtin:ArrayPrototypePush', kind: 'native' });
  });

  it('reads appended lines on refresh and lets later entries win', () => {
    const path = `${mkdtempSync(`${tmpdir()}/perfmap-`)}/perf-1.map`;
    writeFileSync(path, '1000 100 JS:*first /a.js:1:1\n2000 10');
    const pm = new PerfMap(path);
    expect(pm.refresh()).toBe(true);
    expect(pm.lookup(0x1050n)?.name).toBe('first');
    expect(pm.lookup(0x2005n)).toBeUndefined(); // partial line not yet complete
    appendFileSync(path, '0 JS:*second /a.js:2:1\n1000 100 JS:*replaced /a.js:3:1\nbroken\n');
    pm.refresh();
    expect(pm.lookup(0x2005n)?.name).toBe('second');
    expect(pm.lookup(0x1050n)?.name).toBe('replaced');
    expect(pm.lookup(0x1100n)).toBeUndefined();
    expect(pm.malformedLines).toBe(1);
    expect(new PerfMap(`${path}.missing`).refresh()).toBe(false);
  });

  it('leaves a map written before its process started unread until the process rewrites it', () => {
    const path = `${mkdtempSync(`${tmpdir()}/perfmap-`)}/perf-2.map`;
    writeFileSync(path, '1000 100 JS:*earlierProcess /old.js:1:1\n');
    const startedMs = Date.now();
    // Written a minute before this pid's process started: an earlier process's with the same pid.
    utimesSync(path, (startedMs - 60_000) / 1000, (startedMs - 60_000) / 1000);
    const pm = new PerfMap(path, { processStartMs: startedMs });
    expect(pm.refresh()).toBe(false);
    expect(pm.lastError).toBe('stale');
    expect(pm.lookup(0x1050n)).toBeUndefined();
    // Without the start time the stale name would be read as this process's.
    expect(new PerfMap(path).refresh()).toBe(true);
    // The process truncates and writes its own map: read from then on.
    writeFileSync(path, '1000 100 JS:*mine /new.js:1:1\n');
    expect(pm.refresh()).toBe(true);
    expect(pm.lookup(0x1050n)?.name).toBe('mine');
  });
});
