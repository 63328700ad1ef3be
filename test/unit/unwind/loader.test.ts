// The table loader against a recording fake of the BPF maps: what it writes, in what
// order, the LRU budget with counted evictions, and processes unloaded before their
// table's id can be reused.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { UNWIND_PROC_LAYOUT } from '../../../src/events/decode.js';
import { buildTableSync, executableMappings, UnwindLoader, type UnwindMaps } from '../../../src/unwind/index.js';

class FakeMaps implements UnwindMaps {
  readonly maps = new Map<string, Map<number, Buffer>>();
  readonly log: string[] = [];
  mapUpdate(map: string, key: Buffer, value: Buffer): void {
    const k = key.readUInt32LE(0);
    if (!this.maps.has(map)) this.maps.set(map, new Map());
    this.maps.get(map)!.set(k, Buffer.from(value));
    this.log.push(`${map}:set:${k}`);
  }
  mapDelete(map: string, key: Buffer): boolean {
    const k = key.readUInt32LE(0);
    this.log.push(`${map}:del:${k}`);
    return this.maps.get(map)?.delete(k) ?? false;
  }
  size(map: string): number {
    return this.maps.get(map)?.size ?? 0;
  }
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});
function sleeper(): number {
  const c = spawn('/bin/sleep', ['30'], { stdio: 'ignore' });
  children.push(c);
  return c.pid!;
}
async function started(pid: number) {
  for (let i = 0; i < 100; i++) {
    const { readFileSync } = await import('node:fs');
    if (readFileSync(`/proc/${pid}/maps`, 'utf8').includes('libc')) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('executableMappings', () => {
  it('keeps file-backed executable mappings only', () => {
    const text = [
      '55d0c0000000-55d0c0001000 r--p 00000000 08:01 123 /usr/bin/x',
      '55d0c0001000-55d0c0002000 r-xp 00001000 08:01 123 /usr/bin/x',
      '7f0000000000-7f0000001000 r-xp 00000000 00:00 0 ',
      '7f0000002000-7f0000003000 r-xp 00000000 08:01 77 /lib/gone.so (deleted)',
      '7ffd00000000-7ffd00001000 r-xp 00000000 00:00 0 [vdso]',
    ].join('\n');
    expect(executableMappings(text)).toEqual([{ start: 0x55d0c0001000n, end: 0x55d0c0002000n, offset: 0x1000n, path: '/usr/bin/x', fileId: '08:01:123' }]);
  });
});

describe('UnwindLoader', () => {
  it('loads pages, then the table entry, then the process; one table per file for every process', async () => {
    const maps = new FakeMaps();
    const loader = new UnwindLoader(maps);
    const a = sleeper();
    const b = sleeper();
    await started(a);
    await started(b);
    loader.notePids([a, b]);
    await loader.idle();
    const st = loader.stats();
    expect(st.processesLoaded).toBe(2);
    expect(st.tablesBuilt).toBe(st.tablesLoaded); // b reused a's tables (same files, same build ids)
    expect(st.tableBytes).toBe(maps.size('unwind_pages') * 3072);
    // Order: every page of a table precedes its table entry, which precedes the proc entry.
    const firstProc = maps.log.findIndex((l) => l.startsWith('unwind_procs'));
    const lastTable = maps.log.findLastIndex((l) => l.startsWith('unwind_tables'));
    expect(lastTable).toBeLessThan(firstProc);
    const proc = maps.maps.get('unwind_procs')!.get(a)!;
    const count = proc.readUInt32LE(0);
    expect(count).toBeGreaterThanOrEqual(2); // sleep + libc + ld.so
    let prev = 0n;
    for (let i = 0; i < count; i++) {
      const o = UNWIND_PROC_LAYOUT.fields.mappings + i * 32;
      const start = proc.readBigUInt64LE(o);
      expect(start).toBeGreaterThan(prev); // sorted for the BPF binary search
      expect(proc.readBigUInt64LE(o + 8)).toBeGreaterThan(start);
      expect(proc.readUInt32LE(o + 24)).toBeGreaterThan(0);
      prev = start;
    }
  }, 60_000);

  it('a budget smaller than the working set evicts least recently used tables, counts it, and unloads their processes first', async () => {
    const maps = new FakeMaps();
    const a = sleeper();
    await started(a);
    const probe = new UnwindLoader(new FakeMaps());
    probe.notePids([a]);
    await probe.idle();
    const sleepSetBytes = probe.stats().tableBytes; // sleep + libc + ld.so
    // Room for that set plus python3's own table less one page: loading python3 must evict.
    const pythonPages = Math.ceil(buildTableSync('/usr/bin/python3.11').rowCount / 256);
    const loader = new UnwindLoader(maps, { budgetBytes: sleepSetBytes + (pythonPages - 1) * 3072, evictedCooldownMs: 300 });
    loader.notePids([a]);
    await loader.idle();
    expect(loader.stats().evictions).toBe(0);
    const py = spawn('/usr/bin/python3', ['-c', 'import time; time.sleep(30)'], { stdio: 'ignore' });
    children.push(py);
    await started(py.pid!);
    await new Promise((r) => setTimeout(r, 300));
    loader.notePids([py.pid!]);
    await loader.idle();
    const st = loader.stats();
    expect(st.evictions).toBeGreaterThan(0);
    expect(st.tableBytes).toBeLessThanOrEqual(st.budgetBytes);
    expect(maps.size('unwind_pages') * 3072).toBe(st.tableBytes);
    // The sleeper lost a table: it was unloaded (frame pointers, counted in BPF) before the id was freed.
    const unloadA = maps.log.indexOf(`unwind_procs:del:${a}`);
    const firstPageDel = maps.log.findIndex((l) => l.startsWith('unwind_pages:del'));
    expect(unloadA).toBeGreaterThanOrEqual(0);
    expect(unloadA).toBeLessThan(firstPageDel);
    expect(st.processesLoaded).toBe(1);
    // Noted again at once, it stays on frame pointers (no evict-rebuild round trip); after the
    // cooldown it comes back, within budget (evicting python3's now).
    loader.notePids([a]);
    await loader.idle();
    expect(maps.maps.get('unwind_procs')!.has(a)).toBe(false);
    await new Promise((r) => setTimeout(r, 350));
    loader.notePids([a]);
    await loader.idle();
    expect(maps.maps.get('unwind_procs')!.has(a)).toBe(true);
    expect(loader.stats().tableBytes).toBeLessThanOrEqual(st.budgetBytes);
  }, 60_000);

  it('forgetProcess releases an exited process: its mapping list goes, counted once; its tables stay for others', async () => {
    const maps = new FakeMaps();
    const loader = new UnwindLoader(maps);
    const a = sleeper();
    await started(a);
    loader.notePids([a]);
    expect(await loader.whenLoaded(a, 30_000)).toBe(true);
    const tables = loader.stats().tablesLoaded;
    children[0]!.kill('SIGKILL');
    loader.forgetProcess(a);
    loader.forgetProcess(a);
    expect(maps.log).toContain(`unwind_procs:del:${a}`);
    expect(maps.size('unwind_procs')).toBe(0);
    expect(loader.stats()).toMatchObject({ processesLoaded: 0, processesForgotten: 1, tablesLoaded: tables });
    expect(await loader.whenLoaded(a, 1000)).toBe(false);
  }, 60_000);
});
