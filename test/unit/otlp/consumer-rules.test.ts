/**
 * The consumers' rules (test/support/consumer-rules.ts) against our converter's output and against
 * the shape we used to send: each checker must accept today's output and must catch what the
 * consumer itself rejects (so neither checker is a test that cannot fail).
 */
import { describe, expect, it } from 'vitest';
import { decodeRequest, encodeRequest, profilesToOtlp, validateProfilesData } from '../../../src/otlp/index.js';
import type { ExportProfilesServiceRequestObject } from '../../../src/otlp/index.js';
import type { CpuSample, ProfileWindow } from '../../../src/profiling/types.js';
import type { Frame, MappingInfo } from '../../../src/symbols/types.js';
import { collectorProfileErrors, pyroscopeIngestErrors } from '../../support/consumer-rules.js';

const app: MappingInfo = { path: '/opt/app/server', start: 0x400000n, end: 0x500000n, fileOffset: 0n, buildId: 'ab12' };
const f = (name: string, address: bigint): Frame => ({ name, kind: 'native', address, module: 'server', mapping: app, resolved: true });
const kf: Frame = { name: 'do_syscall_64', kind: 'kernel', address: 0xffffffff81000000n, module: '[kernel.kallsyms]', resolved: true };
const STACKS = [
  [f('burn', 0x401000n), f('main', 0x400500n)],
  [kf, f('main', 0x400500n)],
];
const T0 = 1_700_000_000_000_000_000n;

function window(pid: number): ProfileWindow {
  const samples: CpuSample[] = [];
  // Same thread, same stack many times: exactly what used to become values=[1,1,…].
  for (let i = 0; i < 40; i++) {
    samples.push({
      timeUnixNs: T0 + BigInt(i) * 250_000_000n,
      timeMonoNs: BigInt(i),
      pid,
      tid: pid,
      cpu: 0,
      threadName: 'main',
      processName: 'server',
      frames: STACKS[i % 2]!,
      ...(i === 3 ? { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331' } : {}),
    });
  }
  return { startUnixNs: T0, endUnixNs: T0 + 10_000_000_000n, periodNs: 10_101_010n, process: { pid, name: 'server' }, samples };
}

const wire = (m: ExportProfilesServiceRequestObject) => decodeRequest<ExportProfilesServiceRequestObject>('profiles', encodeRequest('profiles', m));

describe('consumer rules', () => {
  it('Pyroscope, the Collector and our validator accept merged stacks over several processes', () => {
    const msg = wire(profilesToOtlp([window(1), window(2), window(3)]).request);
    const merged = msg.resourceProfiles[0]!.scopeProfiles[0]!.profiles[0]!.samples;
    expect(Math.max(...merged.map((s) => s.timestampsUnixNano.length))).toBeGreaterThan(1);
    expect(pyroscopeIngestErrors(msg)).toEqual([]);
    expect(collectorProfileErrors(msg)).toEqual([]);
    expect(validateProfilesData(msg)).toEqual([]);
  });

  it('the old shape (values=[1,1,…] with a period) is what Pyroscope rejects, and our validator too', () => {
    const msg = wire(profilesToOtlp([window(1)]).request);
    for (const s of msg.resourceProfiles[0]!.scopeProfiles[0]!.profiles[0]!.samples) s.values = s.timestampsUnixNano.map(() => '1');
    expect(pyroscopeIngestErrors(msg).join('\n')).toMatch(/sample values length mismatch 20 1/);
    expect(validateProfilesData(msg).join('\n')).toMatch(/values in a profile with a period/);
  });

  const mutations: Array<[string, (m: ExportProfilesServiceRequestObject) => void, 'pyroscope' | 'collector' | 'both', RegExp]> = [
    [
      'a timestamp at the window end',
      (m) => {
        const p = m.resourceProfiles[0]!.scopeProfiles[0]!.profiles[0]!;
        p.samples[0]!.timestampsUnixNano.push(String(BigInt(p.timeUnixNano) + BigInt(p.durationNano)));
      },
      'collector',
      /out of range \[\d+\.\.\d+\)/,
    ],
    [
      'a sample with neither values nor timestamps',
      (m) => (m.resourceProfiles[0]!.scopeProfiles[0]!.profiles[0]!.samples[0]!.timestampsUnixNano = []),
      'pyroscope',
      /sample value is required/,
    ],
    ['no sample type', (m) => (m.resourceProfiles[0]!.scopeProfiles[0]!.profiles[0]!.sampleType = null), 'pyroscope', /sample type is missing/],
    [
      'a stack index out of range',
      (m) => (m.resourceProfiles[0]!.scopeProfiles[0]!.profiles[0]!.samples[0]!.stackIndex = 999),
      'both',
      /invalid stack index 999/,
    ],
    ['a link index out of range', (m) => (m.resourceProfiles[0]!.scopeProfiles[0]!.profiles[0]!.samples[0]!.linkIndex = 77), 'both', /link/],
    ['a function index out of range', (m) => (m.dictionary!.locationTable[1]!.lines[0]!.functionIndex = 1e6), 'both', /function/],
    [
      'an attribute index out of range',
      (m) => m.resourceProfiles[0]!.scopeProfiles[0]!.profiles[0]!.samples[0]!.attributeIndices.push(999),
      'both',
      /attribute/,
    ],
    ['string table not starting with ""', (m) => (m.dictionary!.stringTable[0] = 'x'), 'collector', /empty string/],
    ['no dictionary', (m) => (m.dictionary = null as never), 'both', /dictionary/],
  ];
  it.each(mutations)('catches %s', (_name, mutate, who, expected) => {
    const m = wire(profilesToOtlp([window(1)]).request);
    mutate(m);
    if (who !== 'collector') expect(pyroscopeIngestErrors(m).join('\n')).toMatch(expected);
    if (who !== 'pyroscope') expect(collectorProfileErrors(m).join('\n')).toMatch(expected);
    // Our validator is at least as strict as both.
    if (m.dictionary) expect(validateProfilesData(m).length).toBeGreaterThan(0);
  });
});
