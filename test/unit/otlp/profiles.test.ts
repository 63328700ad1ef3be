import { describe, expect, it } from 'vitest';
import { decodeRequest, encodeRequest, profilesToOtlp, validateProfilesData } from '../../../src/otlp/index.js';
import type { ExportProfilesServiceRequestObject } from '../../../src/otlp/index.js';
import type { CpuSample, ProfileWindow } from '../../../src/profiling/types.js';
import type { Frame, MappingInfo } from '../../../src/symbols/types.js';

const libc: MappingInfo = {
  path: '/usr/lib/x86_64-linux-gnu/libc.so.6',
  start: 0x7f0000000000n,
  end: 0x7f0000200000n,
  fileOffset: 0x28000n,
  buildId: 'c0ffee',
};
const app: MappingInfo = { path: '/opt/app/server', start: 0x400000n, end: 0x500000n, fileOffset: 0n };

const k = (name: string, address: bigint): Frame => ({ name, kind: 'kernel', address, module: '[kernel.kallsyms]', resolved: true });
const n = (name: string, address: bigint, mapping: MappingInfo, line?: number): Frame => ({
  name,
  kind: 'native',
  address,
  module: mapping.path.split('/').pop()!,
  mapping,
  resolved: true,
  file: line ? 'server.c' : undefined,
  line,
});
const js = (name: string, address: bigint): Frame => ({ name, kind: 'v8js', address, module: 'perf-map', resolved: true, file: 'app.js', line: 12 });

const STACKS: Frame[][] = [
  [n('burn_a', 0x401000n, app, 10), n('main', 0x400500n, app, 3)],
  [k('do_syscall_64', 0xffffffff81000000n), n('write', 0x7f0000030000n, libc), n('main', 0x400500n, app, 3)],
  [js('handler', 0x3e0000n), n('uv_run', 0x7f0000040000n, libc)],
];

function sample(i: number, stack: Frame[], extra: Partial<CpuSample> = {}): CpuSample {
  return {
    timeUnixNs: 1_700_000_000_000_000_000n + BigInt(i) * 10_000_000n,
    timeMonoNs: BigInt(i),
    pid: 4242,
    tid: 4242 + (i % 2),
    cpu: i % 2,
    threadName: i % 2 ? 'worker' : 'main',
    processName: 'server',
    frames: stack,
    ...extra,
  };
}

function window(): ProfileWindow {
  const samples: CpuSample[] = [];
  // 6 × stack0, 3 × stack1, 1 × stack2 with a trace link
  for (let i = 0; i < 6; i++) samples.push(sample(i, STACKS[0]!));
  for (let i = 6; i < 9; i++) samples.push(sample(i, STACKS[1]!));
  samples.push(sample(9, STACKS[2]!, { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', spanName: 'GET /' }));
  return {
    startUnixNs: 1_700_000_000_000_000_000n,
    endUnixNs: 1_700_000_010_000_000_000n,
    periodNs: 10_101_010n,
    process: {
      pid: 4242,
      name: 'server',
      executablePath: '/opt/app/server',
      command: '/opt/app/server',
      commandArgs: ['/opt/app/server', '--password', 's3cret'],
    },
    samples,
  };
}

/** Folded stacks (root;…;leaf → count) straight from the input, independent of the encoder. */
function foldedFromWindow(w: ProfileWindow): Map<string, number> {
  const m = new Map<string, number>();
  for (const s of w.samples) {
    const key = [...s.frames]
      .reverse()
      .map((f) => f.name)
      .join(';');
    m.set(key, (m.get(key) ?? 0) + 1);
  }
  return m;
}

function foldedFromOtlp(msg: ExportProfilesServiceRequestObject): Map<string, number> {
  const d = msg.dictionary!;
  const m = new Map<string, number>();
  for (const rp of msg.resourceProfiles)
    for (const sp of rp.scopeProfiles)
      for (const p of sp.profiles)
        for (const s of p.samples) {
          const names = d.stackTable[s.stackIndex]!.locationIndices.map(
            (li) => d.stringTable[d.functionTable[d.locationTable[li]!.lines[0]!.functionIndex]!.nameStrindex]!,
          );
          const key = names.reverse().join(';');
          // Timestamps only, no values (see convert-profiles.ts): each timestamp is one sample.
          m.set(key, (m.get(key) ?? 0) + s.timestampsUnixNano.length);
        }
  return m;
}

const wire = (w: ProfileWindow[]) => decodeRequest<ExportProfilesServiceRequestObject>('profiles', encodeRequest('profiles', profilesToOtlp(w).request));

describe('profilesToOtlp', () => {
  it('produces a message the validator accepts, after a trip through the wire format', () => {
    const msg = wire([window(), { ...window(), process: { pid: 7, name: 'other' } }]);
    expect(validateProfilesData(msg)).toEqual([]);
  });

  it('keeps every stack and its sample count', () => {
    const w = window();
    expect(foldedFromOtlp(wire([w]))).toEqual(foldedFromWindow(w));
    expect(foldedFromWindow(w).get('main;burn_a')).toBe(6);
  });

  it('carries sample type, period, time range and one timestamp per sample, no values', () => {
    const msg = wire([window()]);
    const d = msg.dictionary!;
    const p = msg.resourceProfiles[0]!.scopeProfiles[0]!.profiles[0]!;
    expect([d.stringTable[p.sampleType!.typeStrindex], d.stringTable[p.sampleType!.unitStrindex]]).toEqual(['samples', 'count']);
    expect([d.stringTable[p.periodType!.typeStrindex], d.stringTable[p.periodType!.unitStrindex]]).toEqual(['cpu', 'nanoseconds']);
    expect(p.period).toBe('10101010');
    expect(p.timeUnixNano).toBe('1700000000000000000');
    expect(p.durationNano).toBe('10000000000');
    const ts = p.samples
      .flatMap((s) => s.timestampsUnixNano)
      .map(BigInt)
      .sort();
    expect(ts).toEqual(window().samples.map((s) => s.timeUnixNs));
    expect(p.profileId).toHaveLength(16);
    expect(p.samples.every((s) => s.values.length === 0)).toBe(true);
  });

  it('widens the half-open time range to cover a late sample, never a timestamp at the end', () => {
    const w = window();
    w.samples.push(sample(0, STACKS[0]!, { timeUnixNs: w.startUnixNs - 5n }), sample(0, STACKS[0]!, { timeUnixNs: w.endUnixNs }));
    const msg = wire([w]);
    const p = msg.resourceProfiles[0]!.scopeProfiles[0]!.profiles[0]!;
    expect(p.timeUnixNano).toBe(String(w.startUnixNs - 5n));
    expect(BigInt(p.timeUnixNano) + BigInt(p.durationNano)).toBe(w.endUnixNs + 1n);
    expect(validateProfilesData(msg)).toEqual([]);
  });

  it('sets thread.id, thread.name, cpu.logical_number, frame types, build ids and links', () => {
    const msg = decodeRequest<ExportProfilesServiceRequestObject>(
      'profiles',
      encodeRequest(
        'profiles',
        profilesToOtlp([window()], { htlHashOf: (m) => (m.path === '/opt/app/server' ? 'feedfacefeedfacefeedfacefeedface' : undefined) }).request,
      ),
    );
    const d = msg.dictionary!;
    const attr = (i: number) => {
      const a = d.attributeTable[i]!;
      const v = a.value!;
      return [d.stringTable[a.keyStrindex], v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : undefined)];
    };
    const p = msg.resourceProfiles[0]!.scopeProfiles[0]!.profiles[0]!;
    const linked = p.samples.filter((s) => s.linkIndex !== 0);
    expect(linked).toHaveLength(1);
    expect(d.linkTable[linked[0]!.linkIndex]!.traceId.toString('hex')).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(d.linkTable[linked[0]!.linkIndex]!.spanId.toString('hex')).toBe('b7ad6b7169203331');
    const s0 = p.samples.find((s) => s.attributeIndices.map(attr).some(([k, v]) => k === 'thread.id' && v === 4243))!;
    expect(Object.fromEntries(s0.attributeIndices.map(attr))).toEqual({ 'thread.id': 4243, 'thread.name': 'worker', 'cpu.logical_number': 1 });

    const frameType = (name: string) => {
      const loc = d.locationTable.find((l) => l.lines[0] && d.stringTable[d.functionTable[l.lines[0].functionIndex]!.nameStrindex] === name)!;
      return {
        types: loc.attributeIndices
          .map(attr)
          .filter(([k]) => k === 'profile.frame.type')
          .map(([, v]) => v),
        mapping: d.mappingTable[loc.mappingIndex]!,
      };
    };
    expect(frameType('do_syscall_64').types).toEqual(['kernel']);
    expect(frameType('do_syscall_64').mapping.filenameStrindex).toBe(0);
    expect(frameType('handler').types).toEqual(['v8js']);
    const write = frameType('write');
    expect(write.types).toEqual(['native']);
    expect(d.stringTable[write.mapping.filenameStrindex]).toBe(libc.path);
    expect(write.mapping.memoryStart).toBe(String(libc.start));
    expect(write.mapping.attributeIndices.map(attr)).toEqual([['process.executable.build_id.gnu', 'c0ffee']]);
    expect(frameType('burn_a').mapping.attributeIndices.map(attr)).toEqual([['process.executable.build_id.htlhash', 'feedfacefeedfacefeedfacefeedface']]);

    const res = Object.fromEntries(msg.resourceProfiles[0]!.resource!.attributes.map((kv) => [kv.key, kv.value!.stringValue ?? kv.value!.intValue]));
    expect(res).toMatchObject({ 'process.pid': '4242', 'process.executable.name': 'server', 'service.name': 'server', 'process.command': '/opt/app/server' });
    // Arguments (here a password) are never exported by default.
    expect(JSON.stringify(res)).not.toContain('s3cret');
    expect(res['process.command_line']).toBeUndefined();
  });

  it('skips and counts a sample with a malformed trace id, keeping the rest', () => {
    const w = window();
    w.samples.push(sample(10, STACKS[0]!, { traceId: 'not-hex', spanId: 'b7ad6b7169203331' }));
    const c = profilesToOtlp([w]);
    expect(c.malformed).toBe(1);
    expect(c.firstError).toMatch(/traceId "not-hex"/);
    expect(foldedFromOtlp(c.request)).toEqual(foldedFromWindow(window()));
  });
});

describe('validateProfilesData', () => {
  const fresh = () => wire([window()]);
  const cases: Array<[string, (m: ExportProfilesServiceRequestObject) => void, RegExp]> = [
    ['string_table[0] not ""', (m) => (m.dictionary!.stringTable[0] = 'x'), /stringTable\[0\]: must be ""/],
    ['link_table[0] not empty', (m) => (m.dictionary!.linkTable[0]!.traceId = Buffer.alloc(16, 1)), /linkTable\[0\]/],
    ['mapping_table[0] not zero', (m) => (m.dictionary!.mappingTable[0]!.memoryStart = '5'), /mappingTable\[0\]/],
    ['empty stack table', (m) => (m.dictionary!.stackTable = []), /stackTable: empty/],
    [
      'stack index out of range',
      (m) => (m.resourceProfiles[0]!.scopeProfiles[0]!.profiles[0]!.samples[0]!.stackIndex = 999),
      /samples\[0\]\.stackIndex: index 999 out of range/,
    ],
    ['location index out of range', (m) => m.dictionary!.stackTable[1]!.locationIndices.push(-1), /stackTable\[1\]\.locationIndices/],
    ['function index out of range', (m) => (m.dictionary!.locationTable[1]!.lines[0]!.functionIndex = 1e6), /functionIndex: index 1000000/],
    ['strindex out of range', (m) => (m.dictionary!.functionTable[1]!.nameStrindex = 1e6), /functionTable\[1\]\.nameStrindex/],
    ['values/timestamps mismatch', (m) => m.resourceProfiles[0]!.scopeProfiles[0]!.profiles[0]!.samples[0]!.values.push('1'), /values but \d+ timestamps/],
    [
      'several values with a period (Pyroscope rejects)',
      (m) => {
        const s = m.resourceProfiles[0]!.scopeProfiles[0]!.profiles[0]!.samples[0]!;
        s.values = s.timestampsUnixNano.map(() => '1');
      },
      /values in a profile with a period/,
    ],
    [
      'timestamp at the window end (half-open)',
      (m) => {
        const p = m.resourceProfiles[0]!.scopeProfiles[0]!.profiles[0]!;
        p.samples[0]!.timestampsUnixNano[0] = String(BigInt(p.timeUnixNano) + BigInt(p.durationNano));
      },
      /outside the profile's time range/,
    ],
    ['no sample type', (m) => (m.resourceProfiles[0]!.scopeProfiles[0]!.profiles[0]!.sampleType = null), /sampleType: missing/],
    [
      'timestamp outside the profile',
      (m) => (m.resourceProfiles[0]!.scopeProfiles[0]!.profiles[0]!.samples[0]!.timestampsUnixNano[0] = '5'),
      /outside the profile's time range/,
    ],
    ['short span id in a link', (m) => (m.dictionary!.linkTable[1]!.spanId = Buffer.alloc(4)), /spanId: must be 8 bytes/],
    [
      'duplicate attribute key',
      (m) => {
        const s = m.resourceProfiles[0]!.scopeProfiles[0]!.profiles[0]!.samples[0]!;
        s.attributeIndices.push(s.attributeIndices[0]!);
      },
      /duplicate attribute key "thread.id"/,
    ],
  ];
  it.each(cases)('reports %s', (_name, mutate, expected) => {
    const m = fresh();
    mutate(m);
    const v = validateProfilesData(m);
    expect(v.join('\n')).toMatch(expected);
  });
});
