import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as abi from '../../../src/events/abi.generated.js';
import { EventKind, LAYOUTS, NET_PHASES, NET_SYSCALLS, NetCounter, NetEventKind, SamplerCounter } from '../../../src/events/decode.js';
import { CfaType, RbpType } from '../../../src/unwind/index.js';
import { probeFeatures, type KernelProbes } from '../../../src/bpf/features.js';
import { selectNetPrograms } from '../../../src/network/kernel/capture.js';
import { detectProtocol } from '../../../src/network/index.js';
import { HTTP1_METHODS } from '../../../src/network/http1.js';
import { H2_PREFACE } from '../../../src/network/http2.js';
import { projectPath } from '../../../src/bpf/paths.js';

// bpf/ is the one definition of the kernel↔user contract; src/events/abi.generated.ts is derived
// from it by bpf/gen-abi.mjs and every build fails when the committed module is stale. These tests
// check that the derivation is current and that the TypeScript names given to it cover it.
describe('kernel↔user ABI', () => {
  execFileSync('make', ['-s', '-C', projectPath('bpf'), '.output/abi-offsets.json']);

  it('the committed abi.generated.ts is what bpf/ generates now (no drift)', () => {
    const r = spawnSync('node', [projectPath('bpf/gen-abi.mjs'), '--check'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('struct layouts are the C compiler offsets (bpf/abi-offsets.c)', () => {
    const fromC = JSON.parse(readFileSync(projectPath('bpf/.output/abi-offsets.json'), 'utf8')) as unknown;
    expect(LAYOUTS).toEqual(fromC);
  });

  /** Values of a TS mirror must be exactly the values of the C enum: a new constant needs a TS name. */
  const mirrors: [string, Record<string, unknown> | readonly string[], number][] = [
    ['hotspan_event_kind', EventKind, 0],
    ['hotspan_sampler_counter', SamplerCounter, 0],
    ['hotspan_net_event_kind', NetEventKind, 0],
    ['hotspan_net_counter', NetCounter, 0],
    ['hotspan_net_phase', NET_PHASES, 1],
    ['hotspan_net_syscall', NET_SYSCALLS, 1],
  ];
  for (const [cName, ts, first] of mirrors) {
    it(`enum ${cName}: every constant has a TypeScript name`, () => {
      const cValues = Object.values(abi.ENUMS[cName as keyof typeof abi.ENUMS]).sort((a, b) => a - b);
      const tsValues = Array.isArray(ts) ? ts.map((_, i) => i + first) : Object.values(ts).filter((v) => typeof v === 'number');
      expect(tsValues.sort((a, b) => a - b)).toEqual(cValues);
    });
  }

  it('every enum of hotspan.h has a mirror (a new enum needs one)', () => {
    // role and direction are decoded from the generated constants directly; the unwind enums are
    // src/unwind's CfaType/RbpType, compared name for name below.
    const elsewhere = ['hotspan_net_role', 'hotspan_net_direction', 'hotspan_unwind_cfa', 'hotspan_unwind_rbp'];
    expect(Object.keys(abi.ENUMS).sort()).toEqual([...mirrors.map((m) => m[0]), ...elsewhere].sort());
  });

  // src/unwind/cfi.ts keeps its own const enums (they are inlined on the table-building path);
  // they must equal the header's, name for name.
  const norm = (s: string) => s.replace(/_/g, '').toLowerCase();
  for (const [cName, prefix, ts] of [
    ['hotspan_unwind_cfa', 'HOTSPAN_CFA_', CfaType],
    ['hotspan_unwind_rbp', 'HOTSPAN_RBP_', RbpType],
  ] as const) {
    it(`src/unwind's copy of enum ${cName} equals the header`, () => {
      const c = Object.entries(abi.ENUMS[cName]).map(([k, v]) => [norm(k.slice(prefix.length)), v]);
      const t = Object.entries(ts as Record<string, unknown>)
        .filter(([, v]) => typeof v === 'number')
        .map(([k, v]) => [norm(k), v]);
      expect(Object.fromEntries(t)).toEqual(Object.fromEntries(c));
    });
  }
});

describe('program, map and global names the loaders use exist in the objects', () => {
  const all = Object.values(abi.BPF_OBJECTS);
  const programs = new Set(all.flatMap((o) => Object.keys(o.programs)));
  const maps = new Set<string>(all.flatMap((o) => [...o.maps]));
  const globals = new Set<string>(all.flatMap((o) => [...o.globals]));

  function sources(dir: string): string[] {
    return readdirSync(dir).flatMap((n) => {
      const p = join(dir, n);
      return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
    });
  }
  const code = [...sources(projectPath('src')), ...sources(projectPath('agent'))]
    .filter((p) => !p.endsWith('abi.generated.ts'))
    .map((p) => readFileSync(p, 'utf8'))
    .join('\n');

  it('every literal map or program name passed to a BPF object in src/ and agent/', () => {
    const mapCalls = [...code.matchAll(/\.(?:mapUpdate|mapDelete|mapLookup|mapKeys|mapInfo|readPerCpuCounters|readRingBuffer)\(\s*'([^']+)'/g)].map(
      (m) => m[1]!,
    );
    const progCalls = [...code.matchAll(/\.(?:attachPerfEvent|attachTracepoint|attachUprobe|programStats)\(\s*'([^']+)'/g)].map((m) => m[1]!);
    // The scan must see the real call sites, or it proves nothing.
    expect(mapCalls).toEqual(expect.arrayContaining(['sampler_counters', 'net_counters', 'net_events', 'unwind_procs', 'unwind_pages', 'unwind_tables']));
    expect(progCalls).toContain('handle_cpu_sample');
    expect(mapCalls.filter((m) => !maps.has(m))).toEqual([]);
    expect(progCalls.filter((p) => !programs.has(p))).toEqual([]);
  });

  it('every tunable set at load is a const volatile global of the objects', () => {
    const tunables = [...code.matchAll(/BpfObject\.load\([^{;]*\{([^}]*)\}/g)].flatMap((m) => [...m[1]!.matchAll(/(\w+):/g)].map((k) => k[1]!));
    expect(tunables).toEqual(expect.arrayContaining(['target_tgid', 'self_tgid', 'capture_bytes', 'skip_opaque']));
    expect(tunables.filter((t) => !globals.has(t))).toEqual([]);
  });

  const tracefs = mkdtempSync(join(tmpdir(), 'hotspan-tracefs-'));
  mkdirSync(join(tracefs, 'events'));
  afterAll(() => rmSync(tracefs, { recursive: true, force: true }));
  const kernel = (bpfLoop: number): Partial<KernelProbes> => ({
    tracepoint: () => true,
    ringbufMap: () => 1,
    perfEventProgs: () => 1,
    bpfLoopHelper: () => bpfLoop,
    probeReadUserHelper: () => 1,
    btf: () => true,
    uprobePmu: () => true,
  });

  for (const bpfLoop of [0, 1]) {
    it(`net.bpf.o (bpf_loop ${bpfLoop ? 'on' : 'off'}): the capture's program table is the object's programs, each on its own section's tracepoint`, () => {
      const { load, skip } = selectNetPrograms(probeFeatures({ tracefs, probes: kernel(bpfLoop) }));
      const objectPrograms = abi.BPF_OBJECTS.net.programs as Record<string, string>;
      expect([...load.map((a) => a[0]), ...skip].sort()).toEqual(Object.keys(objectPrograms).sort());
      for (const [prog, category, name] of load) expect(`${prog} ${objectPrograms[prog]}`).toBe(`${prog} tracepoint/${category}/${name}`);
    });
  }
});

describe('the kernel lets through every request start the L7 detector accepts', () => {
  const starts = new Set<string>(abi.NET_REQUEST_STARTS);
  const bytes = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

  it('HTTP/1 methods and the HTTP/2 preface are on HOTSPAN_NET_REQUEST_STARTS', () => {
    const accepted = [...HTTP1_METHODS.map((m) => `${m} `), H2_PREFACE];
    for (const a of accepted) expect(detectProtocol(bytes(a)), a).not.toBe('unknown');
    expect(accepted.map((a) => a.slice(0, 4)).filter((s) => !starts.has(s))).toEqual([]);
  });

  it('each kernel start but the response start HTTP is one the detector accepts', () => {
    const detected = (s: string) => [...HTTP1_METHODS.map((m) => `${m} `), H2_PREFACE].some((a) => a.startsWith(s));
    expect([...starts].filter((s) => !detected(s))).toEqual(['HTTP']);
  });
});
