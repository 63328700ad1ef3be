// The profiler's stack cache, its decoder key, and the pprof encoder's identity interning:
// shared Frame objects and arrays must encode exactly as fresh copies of them do.
import { describe, expect, it } from 'vitest';
import { CPU_SAMPLE_LAYOUT, EventKind, decodeCpuSample } from '../../../src/events/decode.js';
import { buildPprof } from '../../../src/profiling/pprof.js';
import { StackCache } from '../../../src/profiling/stack-cache.js';
import type { CpuSample } from '../../../src/profiling/types.js';
import type { Frame } from '../../../src/symbols/types.js';

function record(kernel: bigint[], user: bigint[]): Buffer {
  const f = CPU_SAMPLE_LAYOUT.fields;
  const buf = Buffer.alloc(CPU_SAMPLE_LAYOUT.size);
  buf.writeUInt32LE(EventKind.CpuSample, f.kind);
  buf.writeUInt32LE(7, f.pid);
  buf.writeInt32LE(kernel.length * 8, f.kstack_bytes);
  buf.writeInt32LE(user.length * 8, f.ustack_bytes);
  kernel.forEach((a, i) => buf.writeBigUInt64LE(a, f.kstack + i * 8));
  user.forEach((a, i) => buf.writeBigUInt64LE(a, f.ustack + i * 8));
  return buf;
}

describe('decodeCpuSample stackKey', () => {
  it('is equal for equal stacks and differs when a frame moves between kernel and user', () => {
    const a = decodeCpuSample(record([0xffffffff81000010n], [0x401000n, 0x401100n]));
    const b = decodeCpuSample(record([0xffffffff81000010n], [0x401000n, 0x401100n]));
    const c = decodeCpuSample(record([0xffffffff81000010n, 0x401000n], [0x401100n]));
    const d = decodeCpuSample(record([0xffffffff81000010n], [0x401000n, 0x401101n]));
    expect(a.stackKey).toBe(b.stackKey);
    expect(new Set([a.stackKey, c.stackKey, d.stackKey]).size).toBe(3);
    expect(a.userStack).toEqual([0x401000n, 0x401100n]);
  });

  it('ignores the bytes past the stack depth (stale data in the record)', () => {
    const a = record([], [0x401000n]);
    const b = record([], [0x401000n]);
    b.writeBigUInt64LE(0xdeadn, CPU_SAMPLE_LAYOUT.fields.ustack + 8);
    b.writeInt32LE(-14, CPU_SAMPLE_LAYOUT.fields.kstack_bytes);
    expect(decodeCpuSample(a).stackKey).toBe(decodeCpuSample(b).stackKey);
  });
});

const named = (name: string, address: bigint): Frame => ({
  name,
  kind: 'native',
  address,
  module: 'app',
  resolved: true,
  mapping: { path: '/app', start: 0x400000n, end: 0x500000n, fileOffset: 0n },
});

describe('StackCache', () => {
  it('keeps named stacks, expires stacks with placeholders, and forgets a process', () => {
    const cache = new StackCache(100, 2000);
    const ok = [named('main', 0x401000n)];
    const partial = [named('main', 0x401000n), { name: '[unknown]', kind: 'unknown', address: 0x10n, module: '[unknown]', resolved: false } as Frame];
    cache.set(1, 'a', ok, 0);
    cache.set(1, 'b', partial, 0);
    expect(cache.get(1, 'a', 1e12)).toBe(ok);
    expect(cache.get(1, 'b', 1999)).toBe(partial);
    expect(cache.get(1, 'b', 2000)).toBeUndefined();
    expect(cache.get(2, 'a', 0)).toBeUndefined();
    cache.forget(1);
    expect(cache.get(1, 'a', 0)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('starts over past its bound', () => {
    const cache = new StackCache(3);
    for (let i = 0; i < 4; i++) cache.set(1, String(i), [], 0);
    expect(cache.size).toBe(1);
    expect(cache.get(1, '3', 0)).toEqual([]);
    expect(cache.get(1, '0', 0)).toBeUndefined();
  });
});

describe('buildPprof with shared frames', () => {
  it('encodes shared Frame objects and arrays exactly as fresh copies', () => {
    const kernel: Frame = { name: 'do_syscall_64', kind: 'kernel', address: 0xffffffff81000010n, module: '[kernel.kallsyms]', resolved: true };
    const jit: Frame = { name: 'handler', kind: 'v8js', address: 0x7f0000001000n, module: 'perf-map', resolved: true };
    const stacks: Frame[][] = [
      [kernel, named('burn_a', 0x401010n), named('main', 0x401100n)],
      [named('burn_b', 0x401020n), named('main', 0x401100n)],
      [jit, named('main', 0x401100n)],
    ];
    const sample = (pid: number, frames: Frame[]): CpuSample => ({
      timeUnixNs: 1n,
      timeMonoNs: 1n,
      pid,
      tid: pid,
      cpu: 0,
      threadName: 't',
      processName: 'p',
      frames,
    });
    // The same arrays again and again (as the profiler hands them out), in two processes:
    // the JIT frame has no mapping, so its location must not be shared between pids.
    const order = [0, 1, 0, 2, 2, 0, 1, 2];
    const shared = [...order.map((i) => sample(1, stacks[i]!)), ...order.map((i) => sample(2, stacks[i]!))];
    const copied = shared.map((s) =>
      sample(
        s.pid,
        s.frames.map((f) => ({ ...f, mapping: f.mapping && { ...f.mapping } })),
      ),
    );
    const input = { periodNs: 10_101_010n, startUnixNs: 0n, endUnixNs: 10n };
    const a = buildPprof({ ...input, samples: shared });
    const b = buildPprof({ ...input, samples: copied });
    expect(Buffer.from(a.encode()).equals(Buffer.from(b.encode()))).toBe(true);
    // 3 stacks × 2 pids, and the JIT location exists once per pid.
    expect(a.sample.length).toBe(6);
    expect(a.sample.reduce((n, s) => n + Number(s.value[0]), 0)).toBe(16);
    expect(a.location.filter((l) => l.address === 0x7f0000001000n).length).toBe(2);
  });
});
