import { describe, expect, it } from 'vitest';
import { bucketedRows, decodeProfiles, SAMPLE_ROW_BUCKET_NS, stackIdOf } from '../../../src/store/decode-profiles.js';
import { buildProfilesRequest, type TFrame } from './build-otlp.js';

const T0 = 1_700_000_000_000_000_000n;
const leaf: TFrame = { name: 'burn', file: 'burn.c', line: 12, module: 'app', kind: 'native', buildId: 'abcd' };
const main: TFrame = { name: 'main', file: 'main.c', line: 3, module: 'app', kind: 'native', buildId: 'abcd' };
const kfn: TFrame = { name: 'do_syscall_64', module: 'vmlinux', kind: 'kernel' };

describe('decodeProfiles', () => {
  it('gives a sample that ran for a span one row per timestamp with its value, and resolves frames, attributes and links', () => {
    const req = buildProfilesRequest([
      {
        resource: { 'service.name': 'svc', 'service.version': '1.2', 'process.pid': 42, 'container.id': 'c0ffee' },
        timeUnixNs: T0,
        periodNs: 10_101_010n,
        samples: [
          {
            frames: [kfn, leaf, main],
            timestamps: [T0 + 1n, T0 + 2n, T0 + 3n],
            values: [1, 1, 2],
            tid: 43,
            threadName: 'worker',
            cpu: 1,
            traceId: '0af7651916cd43dd8448eb211c80319c',
            spanId: 'b7ad6b7169203331',
            extraAttrs: { 'hotspan.span.name': 'GET /burn', 'hotspan.custom': 'x' },
          },
        ],
      },
    ]);
    const out = decodeProfiles(req);
    expect(out.malformed).toEqual({});
    expect(out.samples.map((s) => [s.timeUnixNs, s.value])).toEqual([
      [T0 + 1n, 1n],
      [T0 + 2n, 1n],
      [T0 + 3n, 2n],
    ]);
    const s = out.samples[0]!;
    expect(s).toMatchObject({
      pid: 42,
      tid: 43,
      threadName: 'worker',
      cpu: 1,
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      spanName: 'GET /burn',
      sampleType: 'samples/count',
      periodNs: 10_101_010n,
      labelsJson: JSON.stringify({ 'hotspan.custom': 'x' }),
    });
    expect(s.resource).toMatchObject({ serviceName: 'svc', serviceVersion: '1.2', containerId: 'c0ffee', pid: 42 });
    const stack = out.stacks.get(s.stackId)!;
    expect(stack.frames).toEqual([
      { name: 'do_syscall_64', file: '', line: 0, module: 'vmlinux', kind: 'kernel', buildId: '' },
      { name: 'burn', file: 'burn.c', line: 12, module: 'app', kind: 'native', buildId: 'abcd' },
      { name: 'main', file: 'main.c', line: 3, module: 'app', kind: 'native', buildId: 'abcd' },
    ]);
  });

  it('sums values into one row at the profile time when a sample has no timestamps', () => {
    const req = buildProfilesRequest([{ resource: { 'process.pid': 1 }, timeUnixNs: T0, periodNs: 1n, samples: [{ frames: [leaf], values: [7] }] }]);
    const out = decodeProfiles(req);
    expect(out.samples.map((s) => [s.timeUnixNs, s.value, s.traceId, s.tid])).toEqual([[T0, 7n, null, null]]);
  });

  it('counts 1 per timestamp when a sample has timestamps but no values', () => {
    const req = buildProfilesRequest([{ resource: {}, timeUnixNs: T0, periodNs: 1n, samples: [{ frames: [leaf], timestamps: [T0, T0 + 5n] }] }]);
    expect(decodeProfiles(req).samples.map((s) => s.value)).toEqual([1n, 1n]);
  });

  it('gives a sample without a span at most two rows per second (first and last timestamp) with the same total', () => {
    const times = Array.from({ length: 99 * 3 }, (_, i) => T0 + (BigInt(i) * SAMPLE_ROW_BUCKET_NS) / 99n);
    const req = buildProfilesRequest([{ resource: {}, timeUnixNs: T0, periodNs: 1n, samples: [{ frames: [leaf], timestamps: times, tid: 7 }] }]);
    const rows = decodeProfiles(req).samples;
    expect(rows.length).toBe(6);
    expect(rows.reduce((a, r) => a + r.value, 0n)).toBe(297n);
    expect([rows[0]!.timeUnixNs, rows.at(-1)!.timeUnixNs]).toEqual([times[0], times.at(-1)]);
    expect(rows.every((r) => r.tid === 7 && r.spanId === null)).toBe(true);
  });

  it('names unsymbolized locations module+0xoffset, like hotspan names unresolved frames', () => {
    const req = buildProfilesRequest([
      {
        resource: {},
        timeUnixNs: T0,
        periodNs: 1n,
        samples: [{ frames: [{ module: 'libc.so.6', address: 0x1234n }, { address: 0x99n }], values: [1] }],
      },
    ]);
    const out = decodeProfiles(req);
    const frames = out.stacks.get(out.samples[0]!.stackId)!.frames.map((f) => f.name);
    // Builder maps modules at memoryStart 4096 (0x1000), fileOffset 0.
    expect(frames).toEqual(['libc.so.6+0x234', '[unknown]']);
  });

  it('gives equal stacks equal ids across requests and different stacks different ids', () => {
    const a = decodeProfiles(buildProfilesRequest([{ resource: {}, timeUnixNs: T0, periodNs: 1n, samples: [{ frames: [leaf, main], values: [1] }] }]));
    const b = decodeProfiles(
      buildProfilesRequest([
        {
          resource: {},
          timeUnixNs: T0,
          periodNs: 1n,
          samples: [
            { frames: [kfn], values: [1] },
            { frames: [leaf, main], values: [1] },
          ],
        },
      ]),
    );
    expect(b.samples[1]!.stackId).toBe(a.samples[0]!.stackId);
    expect(b.samples[0]!.stackId).not.toBe(a.samples[0]!.stackId);
    expect(stackIdOf([])).not.toBe(a.samples[0]!.stackId);
  });

  it('counts and skips malformed samples instead of throwing', () => {
    const req = buildProfilesRequest([
      {
        resource: {},
        timeUnixNs: T0,
        periodNs: 1n,
        samples: [
          { frames: [leaf], values: [1] },
          { frames: [leaf], values: [1, 2], timestamps: [T0] },
          { frames: [leaf], values: [] },
        ],
      },
    ]);
    req.resourceProfiles[0]!.scopeProfiles[0]!.profiles[0]!.samples.push(
      { stackIndex: 999, attributeIndices: [], linkIndex: 0, values: ['1'], timestampsUnixNano: [] },
      { stackIndex: 1, attributeIndices: [], linkIndex: 0, values: ['x1'], timestampsUnixNano: [] },
    );
    const out = decodeProfiles(req);
    expect(out.samples).toHaveLength(1);
    expect(out.malformed).toEqual({
      'profiles: sample values and timestamps differ in length': 1,
      'profiles: sample has neither values nor timestamps': 1,
      'profiles: stack_index out of range': 1,
      'profiles: sample value or timestamp is not an integer': 1,
    });
    expect(decodeProfiles({ resourceProfiles: [{} as never], dictionary: null as never }).malformed).toEqual({
      'profiles: missing dictionary': 1,
    });
  });
});

describe('bucketedRows', () => {
  const S = SAMPLE_ROW_BUCKET_NS;
  const sum = (rows: { value: bigint }[]) => rows.reduce((a, r) => a + r.value, 0n);

  it('keeps a lone timestamp as it is', () => {
    expect(bucketedRows([T0 + 5n], null)).toEqual([{ timeUnixNs: T0 + 5n, value: 1n }]);
  });

  it('99 Hz for 3 s: two rows a second, the same total, the exact first and last time', () => {
    const times = Array.from({ length: 297 }, (_, i) => T0 + (BigInt(i) * S) / 99n + 7n);
    const rows = bucketedRows(times, null);
    expect(rows.length).toBe(6);
    expect(sum(rows)).toBe(297n);
    expect(rows[0]!.timeUnixNs).toBe(times[0]);
    expect(rows.at(-1)!.timeUnixNs).toBe(times.at(-1));
    for (const r of rows) expect(r.timeUnixNs / S).toBe(times.find((t) => t === r.timeUnixNs)! / S);
  });

  it('sums values, in any order, with repeated last timestamps counted at the last row', () => {
    const rows = bucketedRows([T0 + 9n, T0 + 1n, T0 + 9n, T0 + 4n, T0 + S + 2n], [2n, 3n, 5n, 7n, 11n]);
    expect(rows).toEqual([
      { timeUnixNs: T0 + 1n, value: 10n }, // 3 + 7
      { timeUnixNs: T0 + 9n, value: 7n }, // 2 + 5
      { timeUnixNs: T0 + S + 2n, value: 11n },
    ]);
  });
});
