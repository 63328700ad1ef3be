/**
 * End to end through the real wire format: ProfileWindows → profilesToOtlp → protobuf bytes →
 * decoded request (what the embedded receiver hands over) → Store → mergeProfile → pprof file,
 * read back by Google pprof. The merged profile must equal the windows' own stacks and counts.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeRequest, encodeRequest, profilesToOtlp, validateProfilesData, type ExportProfilesServiceRequestObject } from '../../src/otlp/index.js';
import type { CpuSample, ProfileWindow } from '../../src/profiling/types.js';
import type { Frame } from '../../src/symbols/types.js';
import { Store, toPprof, type MergedProfile } from '../../src/store/index.js';

const PPROF = new URL('../fixtures/bin/pprof', import.meta.url).pathname;
const T0 = 1_760_000_000_000_000_000n;
const SEC = 1_000_000_000n;
const PERIOD_NS = 10_101_010n;

const libc = { path: '/usr/lib/x86_64-linux-gnu/libc.so.6', start: 0x7f0000000000n, end: 0x7f0000200000n, fileOffset: 0n, buildId: 'aa11' };
const app = { path: '/srv/app', start: 0x400000n, end: 0x500000n, fileOffset: 0n };
const frame = (name: string, kind: Frame['kind'], address: bigint, mapping?: Frame['mapping']): Frame => ({
  name,
  kind,
  address,
  module: mapping ? mapping.path.slice(mapping.path.lastIndexOf('/') + 1) : 'vmlinux',
  mapping,
  resolved: true,
});
const STACKS: Frame[][] = [
  [frame('burn_a', 'native', 0x401000n, app), frame('main', 'native', 0x400100n, app)],
  [frame('burn_b', 'native', 0x402000n, app), frame('main', 'native', 0x400100n, app)],
  [frame('memcpy', 'native', 0x7f0000001000n, libc), frame('burn_a', 'native', 0x401010n, app), frame('main', 'native', 0x400100n, app)],
  [frame('do_syscall_64', 'kernel', 0xffffffff81000000n), frame('write', 'native', 0x7f0000002000n, libc), frame('main', 'native', 0x400100n, app)],
];

function windowFor(pid: number, index: number, perStack: number[]): ProfileWindow {
  const start = T0 + BigInt(index) * 10n * SEC;
  const samples: CpuSample[] = [];
  perStack.forEach((n, s) => {
    for (let i = 0; i < n; i++) {
      samples.push({
        timeUnixNs: start + BigInt(i) * 7_000_000n + BigInt(s),
        timeMonoNs: BigInt(i),
        pid,
        tid: pid + (i % 2),
        cpu: i % 2,
        threadName: `w${i % 2}`,
        processName: 'app',
        frames: STACKS[s]!,
        ...(s === 1 ? { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: `00f067aa0ba902b${pid % 10}`, spanName: 'GET /b' } : {}),
      });
    }
  });
  return { startUnixNs: start, endUnixNs: start + 10n * SEC, periodNs: PERIOD_NS, process: { pid, name: 'app', serviceName: 'app' }, samples };
}

const key = (frames: { name: string }[]) => frames.map((f) => f.name).join(';');
function expected(windows: ProfileWindow[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const w of windows) for (const s of w.samples) m.set(key(s.frames), (m.get(key(s.frames)) ?? 0) + 1);
  return m;
}
function merged(m: MergedProfile): Map<string, number> {
  return new Map(m.stacks.map((s) => [key(s.frames), Number(s.count)]));
}

describe('store ← OTLP profiles (wire round trip)', () => {
  let dir: string;
  let store: Store;
  const windows = [
    windowFor(1001, 0, [40, 25, 10, 5]),
    windowFor(1002, 0, [3, 0, 30, 7]),
    windowFor(1001, 1, [17, 31, 2, 9]),
    windowFor(1001, 2, [50, 1, 0, 11]),
  ];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hotspan-store-e2e-'));
    store = await Store.open({ dataDir: dir, retentionIntervalMs: 0 });
    // Two export requests, as two batches from the agent would arrive.
    for (const batch of [windows.slice(0, 2), windows.slice(2)]) {
      const { request, malformed } = profilesToOtlp(batch);
      expect(malformed).toBe(0);
      const bytes = encodeRequest('profiles', request);
      const decoded = decodeRequest<ExportProfilesServiceRequestObject>('profiles', bytes);
      expect(validateProfilesData(decoded)).toEqual([]);
      await store.ingestProfiles(decoded);
    }
    expect((await store.stats()).malformed).toEqual({});
  });
  afterAll(async () => {
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('merges a pid over a time range to exactly the windows written for it', async () => {
    const m = await store.mergeProfile({ pid: 1001, fromUnixNs: T0 + 10n * SEC, toUnixNs: T0 + 30n * SEC });
    expect(merged(m)).toEqual(expected([windows[2]!, windows[3]!]));
    expect(m.periodNs).toBe(PERIOD_NS);
    expect(merged(await store.mergeProfile({ pid: 1002 }))).toEqual(expected([windows[1]!]));
    expect(merged(await store.mergeProfile({}))).toEqual(expected(windows));
    // Frame details survive: kinds and build ids from the mapping attributes.
    const memcpy = m.stacks.find((s) => s.frames[0]!.name === 'memcpy')!;
    expect(memcpy.frames[0]).toMatchObject({ kind: 'native', module: 'libc.so.6', buildId: 'aa11' });
    const sys = (await store.mergeProfile({})).stacks.find((s) => s.frames[0]!.name === 'do_syscall_64')!;
    expect(sys.frames[0]!.kind).toBe('kernel');
  });

  it("finds a span's samples through the profile Link", async () => {
    const samples = await store.spanSamples('00f067aa0ba902b1');
    expect(samples.length).toBe(25 + 31 + 1);
    expect(samples.every((s) => key(s.frames) === 'burn_b;main' && s.pid === 1001)).toBe(true);
  });

  it('writes a pprof file Google pprof reads back with the same per-function counts', async () => {
    if (!existsSync(PPROF)) throw new Error(`${PPROF} missing: build it with "bash deploy/setup.sh --dev"`);
    const m = await store.mergeProfile({ pid: 1001, labels: ['tid', 'spanId'] });
    const file = join(dir, 'merged.pb.gz');
    writeFileSync(file, toPprof(m));
    const top = execFileSync(PPROF, ['-top', '-nodecount=100', '-sample_index=samples', file], { encoding: 'utf8' });
    const flat = new Map<string, number>();
    for (const line of top.split('\n')) {
      const mm = /^\s*(\d+)\s+[\d.]+%\s+[\d.]+%\s+(\d+)\s+[\d.]+%\s+(\S+)/.exec(line);
      if (mm && Number(mm[1]) > 0) flat.set(mm[3]!, Number(mm[1]));
    }
    const want = new Map<string, number>();
    for (const w of [windows[0]!, windows[2]!, windows[3]!]) for (const s of w.samples) want.set(s.frames[0]!.name, (want.get(s.frames[0]!.name) ?? 0) + 1);
    expect(flat).toEqual(want);
    // The cpu/nanoseconds sample type is count × period.
    const cpu = execFileSync(PPROF, ['-top', '-nodecount=1', '-sample_index=cpu', '-unit=ns', file], { encoding: 'utf8' });
    const total = [...want.values()].reduce((a, b) => a + b, 0);
    expect(cpu).toContain(`${BigInt(total) * PERIOD_NS}ns total`);
    // Labels made it: pprof can filter by span id.
    const tagged = execFileSync(PPROF, ['-top', '-tagfocus=span_id=00f067aa0ba902b1', '-sample_index=samples', file], { encoding: 'utf8' });
    expect(tagged).toMatch(new RegExp(`accounting for ${25 + 31 + 1}, `));
  });
});
