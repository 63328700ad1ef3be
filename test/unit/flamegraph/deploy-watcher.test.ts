import { describe, expect, it } from 'vitest';
import { DeployWatcher, type DeployDiffReport } from '../../../src/flamegraph/index.js';
import type { ProfileWindow } from '../../../src/profiling/types.js';

const SEC = 1_000_000_000n;

/** A 10 s window of `service` at `version` with the given leaf-first stacks (×count). */
function w(service: string, version: string | undefined, startSec: number, stacks: [string[], number][], pid = 1): ProfileWindow {
  const startUnixNs = BigInt(startSec) * SEC;
  const samples = stacks.flatMap(([frames, n]) =>
    Array.from({ length: n }, () => ({
      timeUnixNs: startUnixNs,
      timeMonoNs: 0n,
      pid,
      tid: pid,
      cpu: 0,
      threadName: 't',
      processName: 'app',
      frames: frames.map((name) => ({ name, kind: 'native' as const, address: 0n, module: 'app', resolved: true })),
    })),
  );
  return {
    startUnixNs,
    endUnixNs: startUnixNs + 10n * SEC,
    periodNs: 10_000_000n,
    process: { pid, name: 'app', serviceName: service, ...(version ? { buildId: version } : {}) },
    samples,
  };
}

const V1: [string[], number][] = [
  [['a', 'main'], 100],
  [['b', 'main'], 100],
];
const V2: [string[], number][] = [
  [['a', 'main'], 100],
  [['b', 'main'], 100],
  [['c', 'main'], 100],
];

function run(windows: ProfileWindow[], opts: { keepMs?: number; settleMs?: number } = {}): DeployDiffReport[] {
  const reports: DeployDiffReport[] = [];
  const dw = new DeployWatcher({ onReport: (r) => reports.push(r), keepMs: opts.keepMs ?? 600_000, settleMs: opts.settleMs ?? 60_000 });
  for (const x of windows) dw.add(x);
  return reports;
}

describe('DeployWatcher', () => {
  it('reports once, after settleMs of the new version, with the new function on top', () => {
    const ws = [0, 10, 20].map((t) => w('shop', 'v1', t, V1));
    const after = [30, 40, 50, 60, 70, 80, 90, 100].map((t) => w('shop', 'v2', t, V2));
    expect(run([...ws, ...after.slice(0, 3)])).toEqual([]); // 30 s of head < 60 s settle
    const reports = run([...ws, ...after]);
    expect(reports).toHaveLength(1);
    const r = reports[0]!;
    expect([r.service, r.fromVersion, r.toVersion]).toEqual(['shop', 'v1', 'v2']);
    expect(r.deployedAtUnixNs).toBe(30n * SEC);
    expect(r.regressions[0]!.name).toBe('c');
    expect(r.improvements.map((f) => f.name).sort()).toEqual(['a', 'b']);
    expect(r.base.durationNs).toBe(30e9);
    expect(r.text).toMatch(/Deploy of shop: v1 → v2/);
  });

  it('keeps services apart and ignores windows without a version', () => {
    const reports = run([
      w('shop', 'v1', 0, V1),
      w('cart', 'x1', 0, V2),
      w('shop', undefined, 5, V2),
      w('cart', 'x1', 10, V2),
      ...[10, 20, 30, 40, 50, 60, 70].map((t) => w('shop', 'v1', t, V1)),
    ]);
    expect(reports).toEqual([]);
  });

  it('treats a still-live old replica as a straggler, not a rollback', () => {
    const ws = [w('shop', 'v1', 0, V1, 1), w('shop', 'v2', 10, V2, 2)];
    for (let t = 20; t <= 100; t += 10) ws.push(w('shop', 'v1', t - 5, V1, 1), w('shop', 'v2', t, V2, 2));
    const reports = run(ws);
    expect(reports.map((r) => `${r.fromVersion}->${r.toVersion}`)).toEqual(['v1->v2']);
  });

  it('reports a rollback once the rolled-back-from version went quiet', () => {
    const ws = [0, 10].map((t) => w('shop', 'v1', t, V1));
    for (let t = 20; t <= 200; t += 10) ws.push(w('shop', 'v2', t, V2));
    for (let t = 210; t <= 300; t += 10) ws.push(w('shop', 'v1', t, V1));
    const reports = run(ws);
    expect(reports.map((r) => `${r.fromVersion}->${r.toVersion}`)).toEqual(['v1->v2', 'v2->v1']);
    expect(reports[1]!.improvements[0]!.name).toBe('c');
  });

  it('keeps only keepMs of history as merged buckets (bounded memory)', () => {
    const reports: DeployDiffReport[] = [];
    const dw = new DeployWatcher({ onReport: (r) => reports.push(r), keepMs: 60_000, settleMs: 20_000, bucketMs: 10_000 });
    // Ten hours of v1 windows: the base must only cover the last minute.
    for (let t = 0; t < 36_000; t += 10) dw.add(w('shop', 'v1', t, V1));
    for (let t = 36_000; t <= 36_030; t += 10) dw.add(w('shop', 'v2', t, V2));
    expect(reports).toHaveLength(1);
    expect(reports[0]!.base.durationNs).toBeLessThanOrEqual(70e9);
    expect(reports[0]!.diff.base.samples).toBeLessThanOrEqual(7 * 200);
  });

  it('rejects a settle time longer than the kept window', () => {
    expect(() => new DeployWatcher({ onReport: () => {}, keepMs: 1000, settleMs: 2000 })).toThrow(/settleMs.*fix/);
  });
});
