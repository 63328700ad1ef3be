/**
 * `hotspan diff service=…,version=… service=…,version=…` over the local store: windows go the
 * way the agent sends them (OTLP encode → wire bytes → decode → Store.ingestProfiles), then the
 * diff command runs in-process against that store. Known answer: v2 adds check_fraud at 1/3.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { register } from '../../agent/commands/diff.js';
import { decodeRequest, encodeRequest, profilesToOtlp } from '../../src/otlp/index.js';
import type { ExportProfilesServiceRequestObject } from '../../src/otlp/index.js';
import type { ProfileWindow } from '../../src/profiling/types.js';
import { Store } from '../../src/store/index.js';

const SEC = 1_000_000_000n;
const T0 = 1_763_800_000n * SEC;
let dataDir: string;

/** One 10 s window: `perFn` samples in each named function under main;handle_request. */
function window(version: string, startNs: bigint, fns: string[], perFn: number): ProfileWindow {
  const frame = (name: string, address: bigint) => ({ name, kind: 'native' as const, address, module: 'checkout', resolved: true });
  const samples = fns.flatMap((fn, k) =>
    Array.from({ length: perFn }, (_, i) => ({
      timeUnixNs: startNs + BigInt(i) * 10_000_000n,
      timeMonoNs: BigInt(i),
      pid: 4242,
      tid: 4242,
      cpu: 0,
      threadName: 'checkout',
      processName: 'checkout',
      frames: [frame(fn, 0x1000n + BigInt(k)), frame('handle_request', 0x2000n), frame('main', 0x3000n)],
    })),
  );
  return {
    startUnixNs: startNs,
    endUnixNs: startNs + 10n * SEC,
    periodNs: 10_000_000n,
    process: { pid: 4242, name: 'checkout', serviceName: 'checkout', serviceVersion: version },
    samples,
  };
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'hotspan-flamestore-'));
  const windows = [
    window('1.4.2', T0, ['price_items', 'apply_discounts'], 300),
    window('1.4.3', T0 + 20n * SEC, ['price_items', 'apply_discounts', 'check_fraud'], 300),
  ];
  const wire = encodeRequest('profiles', profilesToOtlp(windows).request);
  const store = await Store.open({ dataDir: join(dataDir, 'store'), retentionIntervalMs: 0 });
  try {
    await store.ingestProfiles(decodeRequest<ExportProfilesServiceRequestObject>('profiles', wire));
  } finally {
    await store.close();
  }
});

afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

async function runDiff(args: string[]): Promise<{ out: string; err: string; code: number | undefined }> {
  const program = new Command('hotspan').exitOverride();
  register(program);
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  const before = process.exitCode;
  try {
    await program.parseAsync(['node', 'hotspan', 'diff', ...args]);
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
  const code = process.exitCode === before ? undefined : (process.exitCode as number | undefined);
  process.exitCode = before;
  return { out, err, code };
}

describe('hotspan diff over the local store', () => {
  it('diffs two versions of a service selected by label', async () => {
    const json = join(dataDir, 'diff.json');
    const r = await runDiff(['service=checkout,version=1.4.2', 'service=checkout,version=1.4.3', '--data-dir', dataDir, '-o', json]);
    expect(r.err).toBe('');
    expect(r.code).toBeUndefined();
    expect(r.out).toMatch(/base 600 samples.*head 900 samples/);
    const d = JSON.parse(readFileSync(json, 'utf8'));
    expect(d.regressions[0].name).toBe('check_fraud');
    expect(d.regressions[0].deltaSelfSamples).toBe(300);
    expect(d.regressions[0].head.selfShare).toBeCloseTo(1 / 3, 10);
    expect(d.improvements.map((f: { name: string }) => f.name).sort()).toEqual(['apply_discounts', 'price_items']);
  });

  it('honours --since/--until and says when a selection is empty', async () => {
    const iso = (ns: bigint) => new Date(Number(ns / 1_000_000n)).toISOString();
    const r = await runDiff(['service=checkout', 'service=checkout', '--data-dir', dataDir, '--since', iso(T0 + 100n * SEC)]);
    expect(r.code, r.err).toBe(65); // bad input (sysexits EX_DATAERR): the selector matched nothing
    expect(r.err).toMatch(/matched no CPU samples.*fix:/);
    const bad = await runDiff(['service=checkout,color=red', 'service=checkout', '--data-dir', dataDir]);
    expect(bad.err).toMatch(/selector key "color" cannot be queried.*fix: use service, version, pid/);
  });
});
