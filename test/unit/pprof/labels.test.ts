// One pprof label vocabulary: the agent's window files, the store's merged profiles and the flame
// graph model write the same keys for the same things, and ambiguous samples keep their counts.
import { gunzipSync } from 'node:zlib';
import { Profile as PprofProfile } from 'pprof-format';
import { describe, expect, it } from 'vitest';
import { fromPprof, toPprof as profileToPprof } from '../../../src/flamegraph/index.js';
import { NameTable } from '../../../src/flamegraph/model.js';
import { PPROF_LABEL } from '../../../src/pprof/index.js';
import { buildPprof } from '../../../src/profiling/pprof.js';
import type { CpuSample } from '../../../src/profiling/types.js';
import { toPprof as mergedToPprof } from '../../../src/store/pprof.js';
import type { Frame } from '../../../src/symbols/types.js';

const frame: Frame = {
  name: 'handle',
  kind: 'native',
  address: 0x401000n,
  module: 'app',
  resolved: true,
  mapping: { path: '/app', start: 0x400000n, end: 0x500000n, fileOffset: 0n },
};

function sample(over: Partial<CpuSample>): CpuSample {
  return { timeUnixNs: 1n, timeMonoNs: 1n, pid: 42, tid: 43, cpu: 0, threadName: 'worker', processName: 'app', frames: [frame], ...over };
}

/** Each sample's labels as {key: value} (numbers for num labels). */
function labelsOf(p: PprofProfile): Record<string, string | number>[] {
  const str = (i: number | bigint) => p.stringTable.strings[Number(i)]!;
  return p.sample.map((s) => Object.fromEntries(s.label.map((l) => [str(l.key), Number(l.str) ? str(l.str) : Number(l.num)])));
}

const decode = (b: Buffer) => PprofProfile.decode(gunzipSync(b));
const vocabulary = new Set<string>(Object.values(PPROF_LABEL));

describe('pprof labels', () => {
  it('keeps ambiguous samples of one stack apart by their candidate counts', () => {
    const p = buildPprof({
      samples: [
        sample({ spanAttribution: 'ambiguous', spanCandidates: 2 }),
        sample({ spanAttribution: 'ambiguous', spanCandidates: 3 }),
        sample({ spanAttribution: 'ambiguous', spanCandidates: 3 }),
      ],
      periodNs: 10_000_000n,
      startUnixNs: 0n,
      endUnixNs: 1n,
    });
    const got = labelsOf(p).map((l, i) => [l[PPROF_LABEL.spanAttribution], Number(p.sample[i]!.value[0])]);
    expect(got.sort()).toEqual([
      ['ambiguous:2', 1],
      ['ambiguous:3', 2],
    ]);
  });

  it('uses one vocabulary in window files, store profiles and flame graph files', () => {
    const window = buildPprof({
      samples: [sample({ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), spanName: 'GET /slow' })],
      periodNs: 10_000_000n,
      startUnixNs: 0n,
      endUnixNs: 1n,
    });
    expect(labelsOf(window)[0]).toEqual({
      pid: 42,
      tid: 43,
      thread_name: 'worker',
      process_name: 'app',
      trace_id: 'a'.repeat(32),
      span_id: 'b'.repeat(16),
      span_name: 'GET /slow',
    });

    const stored = decode(
      mergedToPprof({
        sampleType: 'samples/count',
        periodNs: 10_000_000n,
        firstUnixNs: 0n,
        lastUnixNs: 0n,
        totalCount: 1n,
        stacks: [
          {
            stackId: 1n,
            frames: [{ name: 'handle', file: '', line: 0, module: 'app', kind: 'native', buildId: '' }],
            count: 1n,
            cpuNs: 10_000_000n,
            labels: { pid: 42, tid: 43, threadName: 'worker', service: 'svc', spanName: 'GET /slow', spanAttribution: 'ambiguous:2' },
          },
        ],
      }),
    );
    expect(labelsOf(stored)[0]).toEqual({
      pid: 42,
      tid: 43,
      thread_name: 'worker',
      service_name: 'svc',
      span_name: 'GET /slow',
      span_attribution: 'ambiguous:2',
    });

    const t = new NameTable();
    const model = decode(
      profileToPprof({
        names: t.names,
        stacks: [{ frames: [t.id('main')], samples: 1, cpuNs: 1, labels: { service: 'svc', thread: 'worker', pid: '42', span: 'GET /slow' } }],
      }),
    );
    expect(labelsOf(model)[0]).toEqual({ service_name: 'svc', thread_name: 'worker', pid: 42, span_name: 'GET /slow' });

    for (const p of [window, stored, model]) for (const l of labelsOf(p)) for (const k of Object.keys(l)) expect(vocabulary).toContain(k);
    // And reading any of them gives the flame graph model's own keys back.
    expect(fromPprof(model.encode()).stacks[0]!.labels).toEqual({ service: 'svc', thread: 'worker', pid: '42', span: 'GET /slow' });
  });
});
