import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BpfObject } from '../../src/bpf/index.js';
import { functionFileOffset } from '../../src/symbols/index.js';
import { buildFixtures, FIXTURES_BIN, requireRoot } from './support/env.js';

const root = requireRoot('the native addon against the real kernel');
const CALLS = join(FIXTURES_BIN, 'calls');
const PROBE = join(FIXTURES_BIN, 'addon_probe.bpf.o');

beforeAll(() => {
  if (root) buildFixtures();
});

function key(pid: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(pid);
  return b;
}

describe.runIf(root)('native addon: uprobes, const volatile tunables, maps, ring buffers', () => {
  it('resolves a function’s file offset as nm and readelf do', () => {
    const nm = execFileSync('nm', [CALLS], { encoding: 'utf8' });
    const vaddr = parseInt(/^([0-9a-f]+) T hotspan_probe_target$/m.exec(nm)![1], 16);
    const segs = execFileSync('readelf', ['-lW', CALLS], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.trim().startsWith('LOAD'))
      .map((l) => l.trim().split(/\s+/))
      .map((f) => ({ offset: parseInt(f[1], 16), vaddr: parseInt(f[2], 16), memsz: parseInt(f[5], 16) }));
    const seg = segs.find((s) => vaddr >= s.vaddr && vaddr < s.vaddr + s.memsz)!;
    expect(functionFileOffset(CALLS, 'hotspan_probe_target')).toBe(vaddr - seg.vaddr + seg.offset);
    expect(() => functionFileOffset(CALLS, 'no_such_function')).toThrow(/no function named no_such_function/);
  });

  it('counts every call of a probed function: exactly the fixture’s 1000, delivered through the ring buffer in batches', async () => {
    const obj = BpfObject.load(PROBE);
    try {
      const records: number[] = [];
      let batches = 0;
      const stop = obj.readRingBuffer(
        'events',
        (recs) => {
          batches++;
          for (const r of recs) records.push(r.readUInt32LE(0));
        },
        20,
      );
      obj.attachUprobe('handle_probe_target', { path: CALLS, offset: functionFileOffset(CALLS, 'hotspan_probe_target') });
      const run = spawnSync(CALLS, ['1000']);
      expect(run.status).toBe(0);
      const pid = run.pid!;
      const deadline = Date.now() + 5000;
      while (records.filter((p) => p === pid).length < 1000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      stop();

      expect(obj.mapLookup('hits', key(pid))!.readBigUInt64LE(0)).toBe(1000n);
      expect(records.filter((p) => p === pid).length).toBe(1000);
      // One crossing into JS per batch, not per record.
      expect(batches).toBeLessThan(records.length);

      // Map operations on the same map.
      expect(obj.mapKeys('hits').map((k) => k.readUInt32LE(0))).toContain(pid);
      const v = Buffer.alloc(8);
      v.writeBigUInt64LE(7n);
      obj.mapUpdate('hits', key(pid), v);
      expect(obj.mapLookup('hits', key(pid))!.readBigUInt64LE(0)).toBe(7n);
      expect(obj.mapDelete('hits', key(pid))).toBe(true);
      expect(obj.mapLookup('hits', key(pid))).toBeNull();
      expect(obj.mapDelete('hits', key(pid))).toBe(false);
    } finally {
      obj.close();
    }
  });

  it('sets const volatile tunables before load: a filter on another pid sees none of the calls', () => {
    const obj = BpfObject.load(PROBE, { target_tgid: 1 });
    try {
      obj.attachUprobe('handle_probe_target', { path: CALLS, offset: functionFileOffset(CALLS, 'hotspan_probe_target') });
      const run = spawnSync(CALLS, ['200']);
      expect(run.status).toBe(0);
      expect(obj.mapLookup('hits', key(run.pid!))).toBeNull();
    } finally {
      obj.close();
    }
  });

  it('names an unknown tunable, program or map instead of failing obscurely', () => {
    expect(() => BpfObject.load(PROBE, { no_such_tunable: 1 })).toThrow(/no const volatile variable named no_such_tunable/);
    const obj = BpfObject.load(PROBE);
    try {
      expect(() => obj.attachTracepoint('nope', 'sched', 'sched_process_exec')).toThrow(/find program nope/);
      expect(() => obj.mapLookup('nope', key(1))).toThrow(/find map nope/);
    } finally {
      obj.close();
    }
    expect(() => obj.mapKeys('hits')).toThrow(/closed/);
  });
});
