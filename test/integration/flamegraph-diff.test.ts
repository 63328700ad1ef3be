/**
 * Acceptance for issue 6 against independent ground truth: the deploy_v1/v2 fixtures profiled
 * by perf, the CPU each function took as the fixture measured it (equal work per function by
 * design, but held to what it measured, not to 1/2 and 1/3), and Google pprof's own
 * -diff_base on the same pprof files.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeployWatcher, diff, fromFolded, loadInput, toPprof, type DeployDiffReport, type FrameDiff, type Profile } from '../../src/flamegraph/index.js';
import { deployReportToLogRecord } from '../../src/otlp/index.js';
import type { ProfileWindow } from '../../src/profiling/types.js';
import { buildFixtures, buildIdOf, FIXTURE_BIN, fold, recordFixture, ROOT, SAMPLE_HZ, type PerfSample } from './flamegraph-perf.js';
import { fixtureCpuFractions } from './support/procs.js';

const RUN_SECONDS = 4;
const PERIOD_NS = 1e9 / SAMPLE_HZ;
const PPROF = join(ROOT, 'test/fixtures/bin/pprof');

let v1: PerfSample[];
let v2: PerfSample[];
let v1again: PerfSample[];
let tmp: string;
/** Each function's share (0–1) of the CPU the fixture measured in its functions. */
let truthV1: Map<string, number>;
let truthV2: Map<string, number>;

/** Four binomial standard errors of a share difference (floor 5 pp): ~1 false alarm in 16 000 runs. */
function shareTolerance(p1: number, n1: number, p2 = 0, n2 = Infinity): number {
  return Math.max(0.05, 4 * Math.sqrt((p1 * (1 - p1)) / n1 + (p2 * (1 - p2)) / n2));
}

const profileOf = (s: PerfSample[]): Profile => fromFolded(fold(s), { periodNs: PERIOD_NS, durationNs: RUN_SECONDS * 1e9 });
const frame = (frames: FrameDiff[], name: string): FrameDiff => {
  const f = frames.find((x) => x.name === name);
  if (!f) throw new Error(`frame ${name} missing from diff`);
  return f;
};

beforeAll(() => {
  buildFixtures();
  tmp = mkdtempSync(join(tmpdir(), 'hotspan-flamediff-'));
  v1 = recordFixture('deploy_v1', RUN_SECONDS, join(tmp, 'v1.truth'));
  v2 = recordFixture('deploy_v2', RUN_SECONDS, join(tmp, 'v2.truth'));
  truthV1 = fixtureCpuFractions(join(tmp, 'v1.truth'));
  truthV2 = fixtureCpuFractions(join(tmp, 'v2.truth'));
  v1again = recordFixture('deploy_v1', RUN_SECONDS);
  // A paced fixture at ~0.27 CPU-s/s × 499 Hz × 4 s gives ~550 samples; far fewer means perf lost them.
  for (const s of [v1, v2, v1again]) expect(s.length).toBeGreaterThan(200);
});

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('diff of the deploy fixtures (perf ground truth)', () => {
  it('names the new function as the top regression, its share within 4 standard errors of what the fixture measured (~1/3)', () => {
    const d = diff(profileOf(v1), profileOf(v2));
    const top = d.regressions[0]!;
    expect(top.name).toBe('check_fraud');
    expect(top.change).toBe('new');
    const truth = truthV2.get('check_fraud')!;
    const tol = shareTolerance(truth, v2.length);
    expect(Math.abs(top.head.totalShare - truth), `${top.head.totalShare} vs ${truth} ±${tol}`).toBeLessThanOrEqual(tol);
    expect(Math.abs(top.deltaSelfShare - truth), `${top.deltaSelfShare} vs ${truth} ±${tol}`).toBeLessThanOrEqual(tol);
  });

  it('reports the old functions shrunk in share but not in CPU seconds per second', () => {
    const d = diff(profileOf(v1), profileOf(v2));
    for (const name of ['price_items', 'apply_discounts']) {
      const f = frame(d.frames, name);
      expect(f.change, name).toBe('shrank');
      expect(d.improvements.map((x) => x.name)).toContain(name);
      // Truth: what the fixture measured, ~1/2 → ~1/3 of CPU.
      const [p1, p2] = [truthV1.get(name)!, truthV2.get(name)!];
      const tol = shareTolerance(p1, v1.length, p2, v2.length);
      expect(Math.abs(f.deltaTotalShare - (p2 - p1)), `${name}: Δ ${f.deltaTotalShare} vs ${p2 - p1} ±${tol}`).toBeLessThanOrEqual(tol);
      expect(f.rate, name).toBeDefined();
      expect(f.rate!.significant, `${name} rate z=${f.rate!.zTotal}`).toBe(false);
      const rel = f.rate!.deltaTotalCpuPerSec / f.base.totalCpuPerSec!;
      expect(Math.abs(rel), name).toBeLessThan(0.25);
    }
  });

  it('flags nothing between two runs of the same program', () => {
    const d = diff(profileOf(v1), profileOf(v1again));
    expect(d.regressions.map((f) => f.name)).toEqual([]);
    expect(d.improvements.map((f) => f.name)).toEqual([]);
    expect(d.frames.filter((f) => f.significant || f.rate?.significant)).toEqual([]);
    expect(d.stacks.filter((s) => s.significant)).toEqual([]);
  });
});

interface PprofRow {
  flat: number;
  cum: number;
}

function pprofTop(args: string[]): Map<string, PprofRow> {
  const text = execFileSync(PPROF, ['-top', '-sample_index=samples', '-nodecount=100000', '-nodefraction=0', '-edgefraction=0', ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const rows = new Map<string, PprofRow>();
  for (const line of text.split('\n')) {
    const m = /^\s*(-?\d+)\s+-?[\d.]+%\s+-?[\d.]+%\s+(-?\d+)\s+-?[\d.]+%\s+(.+)$/.exec(line);
    if (m) rows.set(m[3]!.trim(), { flat: Number(m[1]), cum: Number(m[2]) });
  }
  if (rows.size === 0) throw new Error(`no rows parsed from pprof output:\n${text}`);
  return rows;
}

describe('numbers match Google pprof -top -diff_base', () => {
  it('Google pprof is built (deploy/setup.sh --dev)', () => {
    expect(existsSync(PPROF), `${PPROF} missing; fix: bash deploy/setup.sh --dev`).toBe(true);
  });

  it('raw flat and cum deltas equal pprof, for every function', async () => {
    const basePath = join(tmp, 'base.pb.gz');
    const headPath = join(tmp, 'head.pb.gz');
    writeFileSync(basePath, toPprof(profileOf(v1)));
    writeFileSync(headPath, toPprof(profileOf(v2)));
    // Read back from the files, as `hotspan diff base.pb.gz head.pb.gz` does.
    const d = diff(await loadInput(basePath), await loadInput(headPath));
    const rows = pprofTop(['-diff_base', basePath, headPath]);
    let compared = 0;
    for (const [name, row] of rows) {
      const f = frame(d.frames, name);
      expect(f.deltaSelfSamples, `${name} flat`).toBe(row.flat);
      expect(f.deltaTotalSamples, `${name} cum`).toBe(row.cum);
      compared++;
    }
    // pprof drops zero rows; every frame we saw change must be in its table.
    for (const f of d.frames) if (f.deltaSelfSamples !== 0 || f.deltaTotalSamples !== 0) expect(rows.has(f.name), f.name).toBe(true);
    expect(compared).toBeGreaterThanOrEqual(3);

    // -normalize scales head to the base total: flat = Δshare × base samples. pprof rounds each
    // scaled head sample (profile.ScaleN: math.Round per sample), so the bound is 0.5 per head
    // stack that holds the frame (as leaf for flat, anywhere for cum).
    const head = await loadInput(headPath);
    const norm = pprofTop(['-normalize', '-diff_base', basePath, headPath]);
    for (const name of ['check_fraud', 'price_items', 'apply_discounts']) {
      const f = frame(d.frames, name);
      const id = head.names.indexOf(name);
      const asLeaf = head.stacks.filter((s) => s.frames[s.frames.length - 1] === id).length;
      const anywhere = head.stacks.filter((s) => s.frames.includes(id)).length;
      expect(Math.abs(f.deltaSelfShare * d.base.samples - norm.get(name)!.flat), name).toBeLessThanOrEqual(0.5 * asLeaf + 1e-9);
      expect(Math.abs(f.deltaTotalShare * d.base.samples - norm.get(name)!.cum), name).toBeLessThanOrEqual(0.5 * anywhere + 1e-9);
    }
  });
});

/** One ProfileWindow per second of perf samples, as hotspan's profiler would emit them. */
function windowsOf(samples: PerfSample[], binary: string, service: string, offsetNs: bigint): ProfileWindow[] {
  const buildId = buildIdOf(join(FIXTURE_BIN, binary));
  const bySecond = new Map<number, PerfSample[]>();
  const t0 = samples[0]!.timeSec;
  for (const s of samples) {
    const k = Math.floor(s.timeSec - t0);
    bySecond.set(k, [...(bySecond.get(k) ?? []), s]);
  }
  return [...bySecond.keys()]
    .sort((a, b) => a - b)
    .map((k) => {
      const startUnixNs = offsetNs + BigInt(k) * 1_000_000_000n;
      return {
        startUnixNs,
        endUnixNs: startUnixNs + 1_000_000_000n,
        periodNs: BigInt(Math.round(PERIOD_NS)),
        process: { pid: samples[0]!.pid, name: binary, buildId, serviceName: service },
        samples: bySecond.get(k)!.map((s) => ({
          timeUnixNs: startUnixNs,
          timeMonoNs: BigInt(Math.round(s.timeSec * 1e9)),
          pid: s.pid,
          tid: s.tid,
          cpu: 0,
          threadName: s.comm,
          processName: s.comm,
          frames: s.frames.map((f) => ({ name: f.sym, kind: 'native' as const, address: f.ip, module: f.dso, resolved: true })),
        })),
      };
    });
}

describe('DeployWatcher on a deploy of the fixture', () => {
  it('reports the new function when v1 is replaced by v2 under the same service', () => {
    const reports: DeployDiffReport[] = [];
    const watcher = new DeployWatcher({ onReport: (r) => reports.push(r), keepMs: 60_000, settleMs: 3_000, bucketMs: 1_000 });
    const t0 = 1_700_000_000_000_000_000n;
    const before = windowsOf(v1, 'deploy_v1', 'checkout', t0);
    const after = windowsOf(v2, 'deploy_v2', 'checkout', t0 + BigInt(RUN_SECONDS + 1) * 1_000_000_000n);
    for (const w of before) watcher.add(w);
    expect(reports).toEqual([]);
    for (const w of after) watcher.add(w);
    watcher.close();

    expect(reports).toHaveLength(1);
    const r = reports[0]!;
    expect(r.service).toBe('checkout');
    expect(r.fromVersion).toBe(buildIdOf(join(FIXTURE_BIN, 'deploy_v1')));
    expect(r.toVersion).toBe(buildIdOf(join(FIXTURE_BIN, 'deploy_v2')));
    expect(r.regressions[0]!.name).toBe('check_fraud');
    expect(r.text).toContain('check_fraud');
    const log = deployReportToLogRecord(r);
    expect(log.attributes['hotspan.deploy.top_regression.function']).toBe('check_fraud');
    expect(log.severityText).toBe('WARN');
  });
});
