// User-space symbolization of live fixture processes, checked against readelf, nm
// and addr2line on the same files.
import { copyFileSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Symbolizer } from '../../src/symbols/index.js';
import {
  llvmSymbolizerFunctions,
  buildFixtures,
  fileOffsetToVaddr,
  FIXTURE_BIN,
  haveRoot,
  loadSegments as loadSegmentsOf,
  mapsOf,
  nmSymbol,
  run,
  runtimeAddress,
  settledFrames,
  startFixture,
  type Fixture,
  vaddrToFileOffset,
} from './symbols-helpers.js';

const LIBC = run('sh', ['-c', "ldd /bin/true | awk '/libc.so/ {print $3}'"]).trim();
const running: Fixture[] = [];

async function start(name: string, mapped = `${FIXTURE_BIN}/${name}`): Promise<Fixture> {
  const f = await startFixture(`${FIXTURE_BIN}/${name}`, ['30'], mapped);
  running.push(f);
  return f;
}

beforeAll(buildFixtures);
afterAll(async () => {
  await Promise.all(running.map((f) => f.stop()));
});

describe('executables', () => {
  for (const name of ['split', 'split-pie', 'split-nopie']) {
    it(`names burn_a/burn_b/burn_c in a live ${name} (load bias from PT_LOAD)`, async () => {
      const file = `${FIXTURE_BIN}/${name}`;
      const f = await start(name);
      const sym = new Symbolizer();
      for (const fn of ['burn_a', 'burn_b', 'burn_c', 'main']) {
        const { vaddr, size } = nmSymbol(file, fn);
        const addr = runtimeAddress(f.pid, file, file, vaddr);
        const [leaf, caller] = await settledFrames(sym, f.pid, [addr + BigInt(size >> 1), addr + 1n]);
        expect(leaf).toMatchObject({ name: fn, kind: 'native', module: name, resolved: true });
        expect(leaf!.address).toBe(addr + BigInt(size >> 1));
        expect(leaf!.mapping?.path).toBe(file);
        expect(leaf!.mapping?.buildId).toBe(/Build ID: ([0-9a-f]+)/.exec(run('readelf', ['-n', file]))![1]);
        // Non-leaf: addr+1 is looked up as addr, still inside fn; address reported as given.
        expect(caller).toMatchObject({ name: fn, address: addr + 1n, resolved: true });
      }
      expect(sym.executableBuildId(f.pid)).toBe(/Build ID: ([0-9a-f]+)/.exec(run('readelf', ['-n', file]))![1]);
    });
  }

  it('agrees with llvm-symbolizer on 300 addresses across the text mapping', async () => {
    const file = `${FIXTURE_BIN}/split`;
    const f = await start('split');
    const text = mapsOf(f.pid).find((m) => m.path === file && m.perms.includes('x'))!;
    const sym = new Symbolizer();
    // Only the file-backed part of the mapping (the last page is zero-filled past p_filesz).
    const seg = loadSegmentsOf(file).find((s) => BigInt(s.offset) <= text.fileOffset && text.fileOffset < BigInt(s.offset + s.fileSize))!;
    const span = seg.offset + seg.fileSize - Number(text.fileOffset);
    const addrs = Array.from({ length: 300 }, (_, i) => text.start + BigInt(Math.floor(((i + 0.5) * span) / 300)));
    const frames = addrs.flatMap((a) => sym.userFrames(f.pid, [a]));
    // Handed out while split's symbols load in the worker; renamed in place when they land.
    await sym.settled();
    const vaddrs = addrs.map((a) => fileOffsetToVaddr(file, Number(a - text.start + text.fileOffset)));
    const truth = llvmSymbolizerFunctions(file, vaddrs);
    let named = 0;
    frames.forEach((frame, i) => {
      if (truth[i] !== '??' && !frame.resolved) {
        // addr2line falls back to the nearest preceding symbol even past its st_size
        // (alignment padding after _start); we only name addresses inside a symbol.
        const { vaddr, size } = nmSymbol(file, truth[i]!);
        expect(vaddrs[i]! >= vaddr + size, `0x${vaddrs[i]!.toString(16)} is inside ${truth[i]}`).toBe(true);
      } else if (truth[i] !== '??') {
        expect(frame.name, `0x${vaddrs[i]!.toString(16)}`).toBe(truth[i]);
        named++;
      } else {
        // No DWARF there (crt start-up code, PLT, padding): ours is a symtab name or a placeholder.
        expect(frame.resolved ? /^[_a-z]/.test(frame.name) : frame.name === `split+0x${Number(addrs[i]! - text.start + text.fileOffset).toString(16)}`).toBe(
          true,
        );
      }
    });
    expect(named).toBeGreaterThan(20);
  });
});

describe('shared libraries', () => {
  it('names lib_burn in libburn.so at its random load address', async () => {
    const lib = `${FIXTURE_BIN}/libburn.so`;
    const f = await start('uselib', lib);
    const { vaddr, size } = nmSymbol(lib, 'lib_burn');
    const addr = runtimeAddress(f.pid, lib, lib, vaddr);
    const [frame] = await settledFrames(new Symbolizer(), f.pid, [addr + BigInt(size - 1)]);
    expect(frame).toMatchObject({ name: 'lib_burn', module: 'libburn.so', resolved: true });
    expect(frame!.mapping?.path).toBe(lib);
  });

  it('names libc addresses as nm -D does (one of the aliases of the containing function)', async () => {
    const f = await start('split', LIBC);
    const libcPath = mapsOf(f.pid).find((m) => m.path.endsWith('/libc.so.6'))!.path;
    const sym = new Symbolizer();
    const rows = run('nm', ['-D', '-S', '--defined-only', LIBC])
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((r) => r.length === 4 && /^[TtiW]$/.test(r[2]!) && parseInt(r[1]!, 16) > 0);
    const byAddr = new Map<number, string[]>();
    for (const r of rows) byAddr.set(parseInt(r[0]!, 16), [...(byAddr.get(parseInt(r[0]!, 16)) ?? []), r[3]!.replace(/@.*$/, '')]);
    const sample = rows.filter((_, i) => i % 20 === 0);
    for (const r of sample) {
      const vaddr = parseInt(r[0]!, 16);
      const size = parseInt(r[1]!, 16);
      const probeVaddr = vaddr + (size >> 1);
      const containing = rows
        .map((x) => ({ a: parseInt(x[0]!, 16), s: parseInt(x[1]!, 16) }))
        .filter((x) => x.a <= probeVaddr && probeVaddr < x.a + x.s)
        .sort((x, y) => y.a - x.a)[0]!;
      const [frame] = await settledFrames(sym, f.pid, [runtimeAddress(f.pid, libcPath, LIBC, probeVaddr)]);
      expect(byAddr.get(containing.a), `${r[3]} +${size >> 1}`).toContain(frame!.name);
      expect(frame!.module).toBe('libc.so.6');
    }
    expect(sample.length).toBeGreaterThan(50);
  });
});

describe('stripped binaries and separate debug info', () => {
  it('stripped: split-stripped+0xOFF placeholder; llvm-symbolizer on the unstripped file names OFF', async () => {
    const file = `${FIXTURE_BIN}/split-stripped`;
    const unstripped = `${FIXTURE_BIN}/split-stripped.unstripped`;
    const f = await start('split-stripped');
    const { vaddr } = nmSymbol(unstripped, 'burn_b');
    const addr = runtimeAddress(f.pid, file, unstripped, vaddr + 5);
    const sym = new Symbolizer();
    const [frame] = await settledFrames(sym, f.pid, [addr]);
    expect(frame!.resolved).toBe(false);
    const m = /^split-stripped\+0x([0-9a-f]+)$/.exec(frame!.name);
    expect(m, frame!.name).not.toBeNull();
    const offset = parseInt(m![1]!, 16);
    expect(llvmSymbolizerFunctions(unstripped, [fileOffsetToVaddr(unstripped, offset)])).toEqual(['burn_b']);
    expect(sym.stats().misses).toBe(1);
  });

  it('debuglink: names come from split-debuglink.debug next to the binary', async () => {
    const file = `${FIXTURE_BIN}/split-debuglink`;
    const f = await start('split-debuglink');
    const { vaddr } = nmSymbol(`${FIXTURE_BIN}/split-debuglink.debug`, 'burn_c');
    const [frame] = await settledFrames(new Symbolizer(), f.pid, [runtimeAddress(f.pid, file, file, vaddr + 2)]);
    expect(frame).toMatchObject({ name: 'burn_c', resolved: true, module: 'split-debuglink' });
  });

  it('build-id: names come from <debugDir>/.build-id/xx/rest.debug', async () => {
    const file = `${FIXTURE_BIN}/split-stripped`;
    const buildId = /Build ID: ([0-9a-f]+)/.exec(run('readelf', ['-n', file]))![1]!;
    const debugDir = mkdtempSync(`${tmpdir()}/hotspan-debug-`);
    try {
      run('mkdir', ['-p', `${debugDir}/.build-id/${buildId.slice(0, 2)}`]);
      run('objcopy', [
        '--only-keep-debug',
        `${FIXTURE_BIN}/split-stripped.unstripped`,
        `${debugDir}/.build-id/${buildId.slice(0, 2)}/${buildId.slice(2)}.debug`,
      ]);
      const f = await start('split-stripped');
      const { vaddr } = nmSymbol(`${FIXTURE_BIN}/split-stripped.unstripped`, 'burn_a');
      const [frame] = await settledFrames(new Symbolizer({ debugDirs: [debugDir] }), f.pid, [runtimeAddress(f.pid, file, file, vaddr + 2)]);
      expect(frame).toMatchObject({ name: 'burn_a', resolved: true });
    } finally {
      rmSync(debugDir, { recursive: true, force: true });
    }
  });
});

describe('C++', () => {
  it('demangles hotspan::fixture::Burner::spin(int) as nm -C does', async () => {
    const file = `${FIXTURE_BIN}/cxx_rust`;
    const f = await start('cxx_rust');
    const { vaddr } = nmSymbol(file, '_ZN7hotspan7fixture6Burner4spinEi');
    const [frame] = await settledFrames(new Symbolizer(), f.pid, [runtimeAddress(f.pid, file, file, vaddr + 4)]);
    const nmC = run('nm', ['-C', '--defined-only', file])
      .split('\n')
      .find((l) => l.startsWith(vaddr.toString(16).padStart(16, '0')))!;
    expect(frame!.name).toBe('hotspan::fixture::Burner::spin(int)');
    expect(nmC.slice(19)).toBe(frame!.name);
  });
});

describe('process lifecycle', () => {
  it('reads maps once, re-reads only for an address outside every mapping, and after forgetProcess', async () => {
    const file = `${FIXTURE_BIN}/split`;
    const f = await start('split');
    const sym = new Symbolizer({ mapsRereadIntervalMs: 0 });
    const addr = runtimeAddress(f.pid, file, file, nmSymbol(file, 'burn_a').vaddr);
    for (let i = 0; i < 50; i++) sym.userFrames(f.pid, [addr, addr + 8n]);
    await sym.settled();
    expect(sym.stats()).toMatchObject({ mapsReads: 1, cachedProcesses: 1 });
    const [outside] = sym.userFrames(f.pid, [0x10n]);
    expect(outside).toMatchObject({ name: '[unknown]', resolved: false });
    expect(sym.stats().mapsReads).toBe(2);
    sym.forgetProcess(f.pid);
    expect(sym.stats().cachedProcesses).toBe(0);
    expect(sym.userFrames(f.pid, [addr])[0]!.name).toBe('burn_a');
    expect(sym.stats().mapsReads).toBe(3);
  });

  it('stays correct when the file cache is smaller than the working set (LRU evicts, reloads)', async () => {
    const file = `${FIXTURE_BIN}/split`;
    const f = await start('split', LIBC);
    const libcPath = mapsOf(f.pid).find((m) => m.path.endsWith('/libc.so.6'))!.path;
    const sym = new Symbolizer({ maxCachedFiles: 1 });
    const burnA = runtimeAddress(f.pid, file, file, nmSymbol(file, 'burn_a').vaddr + 1);
    const getpid = nmSymbol(LIBC, 'getpid', true);
    const libcAddr = runtimeAddress(f.pid, libcPath, LIBC, getpid.vaddr + 1);
    for (let i = 0; i < 3; i++) {
      // One cached file: each lookup evicts the other, whose symbols load again in the worker.
      expect((await settledFrames(sym, f.pid, [burnA]))[0]!.name).toBe('burn_a');
      expect(['getpid', '__getpid']).toContain((await settledFrames(sym, f.pid, [libcAddr]))[0]!.name);
    }
    expect(sym.stats().cachedFiles).toBe(1);
    expect(sym.stats().fileLoads).toBe(6);
  });

  it('a process that exits between maps read and lookup gives frames, never throws', async () => {
    const file = `${FIXTURE_BIN}/exiting`;
    const f = await startFixture(file, []);
    const sym = new Symbolizer();
    const fn = nmSymbol(file, 'burn_until_exit');
    const addr = runtimeAddress(f.pid, file, file, fn.vaddr + 1);
    const libcText = mapsOf(f.pid).find((m) => m.path.endsWith('libc.so.6') && m.perms.includes('x'))!;
    // Warm only the maps (an address in a mapping whose file is not loaded yet is fine).
    expect(sym.userFrames(f.pid, [0x10n])[0]!.resolved).toBe(false);
    await new Promise<void>((resolve) => f.child.once('exit', () => resolve()));
    const frames = await settledFrames(sym, f.pid, [addr, libcText.start + 0x100n, 0x20n]);
    expect(frames).toHaveLength(3);
    // Same root as ours, so the file can still be opened by path; otherwise a placeholder.
    expect(['burn_until_exit', `exiting+0x${vaddrToFileOffset(file, fn.vaddr + 1).toString(16)}`]).toContain(frames[0]!.name);
    expect(frames[2]).toMatchObject({ name: '[unknown]', resolved: false });
    sym.forgetProcess(f.pid);
    expect(sym.userFrames(f.pid, [addr, addr])).toEqual([
      { name: '[unknown]', kind: 'unknown', address: addr, module: '[unknown]', resolved: false },
      { name: '[unknown]', kind: 'unknown', address: addr, module: '[unknown]', resolved: false },
    ]);
    expect(sym.executableBuildId(f.pid)).toBeUndefined();
  });

  it('a deleted executable is read through /proc/PID/map_files', async () => {
    if (!haveRoot('map_files of a deleted binary')) return;
    const dir = mkdtempSync(`${tmpdir()}/hotspan-deleted-`);
    const copy = `${dir}/split-copy`;
    copyFileSync(`${FIXTURE_BIN}/split`, copy);
    run('chmod', ['+x', copy]);
    const f = await startFixture(copy, ['30']);
    running.push(f);
    const addr = runtimeAddress(f.pid, copy, copy, nmSymbol(copy, 'burn_b').vaddr + 3);
    unlinkSync(copy);
    rmSync(dir, { recursive: true });
    expect(mapsOf(f.pid).some((m) => m.path === `${copy} (deleted)`)).toBe(true);
    const [frame] = await settledFrames(new Symbolizer(), f.pid, [addr]);
    expect(frame).toMatchObject({ name: 'burn_b', resolved: true, module: 'split-copy' });
  });
});

describe('special mappings and other mount namespaces', () => {
  it('names [vdso] functions as nm -D names them in a dump of that vdso', async () => {
    const f = await start('split');
    const vdso = mapsOf(f.pid).find((m) => m.path === '[vdso]')!;
    const dumpDir = mkdtempSync(`${tmpdir()}/hotspan-vdso-`);
    const dump = `${dumpDir}/vdso.so`;
    const pages = Number(vdso.end - vdso.start) / 4096;
    run('dd', [`if=/proc/${f.pid}/mem`, `of=${dump}`, 'bs=4096', `skip=${Number(vdso.start) / 4096}`, `count=${pages}`, 'status=none']);
    const fn = nmSymbol(dump, '__vdso_clock_gettime', true);
    const [frame] = await settledFrames(new Symbolizer(), f.pid, [runtimeAddress(f.pid, '[vdso]', dump, fn.vaddr + 4)]);
    // The vdso exports clock_gettime and __vdso_clock_gettime at one address; either is right.
    const sameAddress = run('nm', ['-D', '--defined-only', dump])
      .split('\n')
      .filter((l) => parseInt(l.slice(0, 16), 16) === fn.vaddr)
      .map((l) => l.split(/\s+/)[2]!.replace(/@.*$/, ''));
    expect(sameAddress).toContain(frame!.name);
    expect(frame).toMatchObject({ module: '[vdso]', resolved: true });
    rmSync(dumpDir, { recursive: true, force: true });
  });

  it('names a binary whose path means another file on the host (private mount namespace)', async () => {
    if (!haveRoot('unshare --mount')) return;
    // Host: /tmp/…/prog is cxx_rust. Inside a private mount namespace, split is
    // bind-mounted over it and executed — maps say /tmp/…/prog for both.
    const dir = mkdtempSync(`${tmpdir()}/hotspan-ns-`);
    const prog = `${dir}/prog`;
    copyFileSync(`${FIXTURE_BIN}/cxx_rust`, prog);
    copyFileSync(`${FIXTURE_BIN}/split`, `${dir}/inner`);
    run('chmod', ['+x', prog, `${dir}/inner`]);
    const f = await startFixture('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', `mount --bind ${dir}/inner ${prog} && exec ${prog} 30`], prog);
    running.push(f);
    const inner = `${dir}/inner`;
    const { vaddr } = nmSymbol(inner, 'burn_b');
    const [frame] = await settledFrames(new Symbolizer(), f.pid, [runtimeAddress(f.pid, prog, inner, vaddr + 2)]);
    expect(frame).toMatchObject({ name: 'burn_b', resolved: true, module: 'prog' });
    await f.stop();
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('warm-cache cost', () => {
  it('prints ns per frame for a warm cache', async () => {
    const file = `${FIXTURE_BIN}/split`;
    const f = await start('split', LIBC);
    const sym = new Symbolizer();
    const libc = mapsOf(f.pid).find((m) => m.path.endsWith('libc.so.6') && m.perms.includes('x'))!;
    const stack = ['burn_a', 'burn_b', 'burn_c', 'main'].map((fn) => runtimeAddress(f.pid, file, file, nmSymbol(file, fn).vaddr + 4));
    stack.push(libc.start + 0x1000n, libc.start + 0x20000n, libc.start + 0x50000n, libc.start + 0x90000n);
    // Stop the burner so the measurement does not compete with it for a core.
    f.child.kill('SIGSTOP');
    await settledFrames(sym, f.pid, stack); // warm
    const rounds = 5_000;
    // Best of 5 runs: the host is shared, the minimum is the least disturbed figure.
    let bestNs = Number.POSITIVE_INFINITY;
    let bestCpuNs = Number.POSITIVE_INFINITY;
    for (let run = 0; run < 5; run++) {
      const t0 = process.hrtime.bigint();
      const cpu0 = process.cpuUsage();
      for (let i = 0; i < rounds; i++) sym.userFrames(f.pid, stack);
      const cpu = process.cpuUsage(cpu0);
      bestNs = Math.min(bestNs, Number(process.hrtime.bigint() - t0) / (rounds * stack.length));
      // CPU time excludes the time other tenants of this host held the core.
      bestCpuNs = Math.min(bestCpuNs, ((cpu.user + cpu.system) * 1000) / (rounds * stack.length));
    }
    console.log(
      `symbols: warm user frame lookup ${bestNs.toFixed(0)} ns/frame wall, ${bestCpuNs.toFixed(0)} ns/frame CPU (best of 5 × ${rounds} ${stack.length}-frame stacks)`,
    );
    expect(
      sym
        .userFrames(f.pid, stack)
        .slice(0, 4)
        .map((x) => x.name),
    ).toEqual(['burn_a', 'burn_b', 'burn_c', 'main']);
  });
});
