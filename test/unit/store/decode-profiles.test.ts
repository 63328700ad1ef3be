import { describe, expect, it } from 'vitest';
import { decodeProfiles, stackIdOf } from '../../../src/store/decode-profiles.js';
import { buildProfilesRequest, type TFrame } from './build-otlp.js';

const T0 = 1_700_000_000_000_000_000n;
const leaf: TFrame = { name: 'burn', file: 'burn.c', line: 12, module: 'app', kind: 'native', buildId: 'abcd' };
const main: TFrame = { name: 'main', file: 'main.c', line: 3, module: 'app', kind: 'native', buildId: 'abcd' };
const kfn: TFrame = { name: 'do_syscall_64', module: 'vmlinux', kind: 'kernel' };

describe('decodeProfiles', () => {
  it('gives one row per timestamp with its value, and resolves frames, attributes and links', () => {
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
