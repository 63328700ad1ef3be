import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildFixtures, FIXTURES_BIN, ROOT, requireRoot } from './support/env.js';
import { perfSelfShares, shareStdErrPct } from './support/perf.js';
import { pprofTop, readPprof, selfShares, totalShares } from './support/pprof.js';
import { hotspanRecord, killAll, readFixtureCpu, sleep, fixtureCpuShares, startFixture, startRecord } from './support/procs.js';

const root = requireRoot('hotspan record against real processes');
const tmp = mkdtempSync(join(tmpdir(), 'hotspan-record-'));
const BURNERS = ['burn_a', 'burn_b', 'burn_c'];

/**
 * Starts the split fixture and waits for its first truth reading; `truth()` then gives each
 * burner's share of the CPU it spent since, as the fixture itself measured (60/30/10 units of
 * identical work are not 60/30/10 of the time: code alignment alone moved burn_a to 46–57 %).
 */
async function startSplit(
  seconds: number,
  name: string,
): Promise<{ pid: number; truth: () => Map<string, number>; restartTruth: () => void; stop: () => Promise<void> }> {
  const file = join(tmp, `${name}.truth`);
  const child = startFixture(join(FIXTURES_BIN, 'split'), [String(seconds), file]);
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await sleep(1300);
  let before = readFixtureCpu(file);
  if (before.size === 0) throw new Error(`split wrote no truth to ${file} within 1.3 s`);
  return {
    pid: child.pid!,
    truth: () => fixtureCpuShares(readFixtureCpu(file), before),
    // The truth from the fixture's latest write on (it writes every 100 ms).
    restartTruth: () => void (before = readFixtureCpu(file)),
    // SIGTERM: the fixture writes its truth once more, at that instant, and exits.
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * Sampling error is binomial: with n samples a share p has standard error
 * sqrt(p(1-p)/n). At 99 Hz for 5 s one thread yields ~495 samples, so the error
 * of a 60% share is ~2.2 pp and a flat ±2 pp bound would fail about a third of
 * honest runs. The bound is therefore ±2 pp or 4 standard errors, whichever is
 * larger; the 999 Hz test below holds the strict ±2 pp.
 */
/** Shares among the three burners: the fixture's truth leaves out its clock reads (kernel leaves). */
function burnerShares(shares: Map<string, number>): Map<string, number> {
  const sum = BURNERS.reduce((a, fn) => a + (shares.get(fn) ?? 0), 0);
  return new Map(BURNERS.map((fn) => [fn, sum > 0 ? (100 * (shares.get(fn) ?? 0)) / sum : 0]));
}

function tolerancePct(sharePct: number, n: number, floorPct: number): number {
  return Math.max(floorPct, 4 * shareStdErrPct(sharePct, n));
}

beforeAll(() => {
  if (root) buildFixtures();
});
afterEach(() => killAll());

describe.runIf(root)('hotspan record: known CPU split (C, frame pointers)', () => {
  it('names burn_a/burn_b/burn_c with the CPU shares the fixture measured at 99 Hz, agreeing with perf on the same run', async () => {
    const split = await startSplit(12, 'split-99');
    const out = join(tmp, 'split-99.pb.gz');
    const [rec, perf] = await Promise.all([hotspanRecord(['--duration', '5s', '--pid', String(split.pid), '-o', out]), perfSelfShares(split.pid, 5, 99)]);
    expect(rec.exitCode, rec.all).toBe(0);
    const { samples } = readPprof(out);
    const n = samples.reduce((a, s) => a + s.count, 0);
    expect(n).toBeGreaterThan(100); // 5 s × 99 Hz ≈ 495 on an idle core; the tolerance scales with n
    const ours = selfShares(samples);
    const amongBurners = burnerShares(ours);
    for (const [fn, truth] of split.truth()) {
      const got = amongBurners.get(fn) ?? 0;
      expect(Math.abs(got - truth), `${fn}: hotspan ${got.toFixed(1)}% vs truth ${truth.toFixed(1)}% (n=${n})`).toBeLessThanOrEqual(tolerancePct(truth, n, 2));
      // hotspan and perf sampled the same interval: raw shares (kernel leaves included) compared.
      const p = perf.shares.get(fn) ?? 0;
      const raw = ours.get(fn) ?? 0;
      const tol = Math.max(2, 4 * Math.hypot(shareStdErrPct(truth, n), shareStdErrPct(truth, perf.samples)));
      expect(Math.abs(raw - p), `${fn}: hotspan ${raw.toFixed(1)}% vs perf ${p.toFixed(1)}% (perf n=${perf.samples})`).toBeLessThanOrEqual(tol);
    }
    // Google pprof reads the same file and agrees on every share.
    const top = pprofTop(out);
    expect([...top.keys()][0]).toBe('burn_a');
    for (const fn of BURNERS) expect(Math.abs((top.get(fn) ?? 0) - (ours.get(fn) ?? 0))).toBeLessThan(0.1);
  });

  it('holds 4 standard errors (~2.8 pp) of the truth at 999 Hz, ~5000 samples', async () => {
    // The truth is held to the interval sampled: the fixture's writes (every 100 ms) bracketing
    // record's 5 s from its "recording" line, not from the fixture's start (record's start-up on a
    // loaded host took seconds) nor to its exit (record's stop and pprof writing). The shares do
    // drift: a loaded CI host measured burn_a at 65% where a quiet one measures 60%, and a truth
    // taken over ~1 s more than the recording missed by 3 pp (4σ) twice.
    const split = await startSplit(60, 'split-999');
    const out = join(tmp, 'split-999.pb.gz');
    const { recording, done } = startRecord(['--duration', '5s', '--frequency', '999', '--pid', String(split.pid), '-o', out]);
    await recording;
    split.restartTruth();
    await sleep(5000);
    const truth = split.truth();
    const rec = await done;
    await split.stop();
    expect(rec.exitCode, rec.all).toBe(0);
    const { samples } = readPprof(out);
    const n = samples.reduce((a, s) => a + s.count, 0);
    expect(n).toBeGreaterThan(1000);
    const ours = burnerShares(selfShares(samples));
    for (const [fn, share] of truth) {
      // On an idle core n ≈ 5000 and 4 standard errors is ~2.8 pp.
      const tol = Math.max(2, 4 * shareStdErrPct(share, n));
      expect(Math.abs((ours.get(fn) ?? 0) - share), `${fn} ${ours.get(fn)?.toFixed(2)}% vs truth ${share.toFixed(2)}% (n=${n})`).toBeLessThanOrEqual(tol);
    }
  });

  it('labels every sample with pid, tid and thread name', async () => {
    const child = startFixture(join(FIXTURES_BIN, 'split'), ['5']);
    await sleep(200);
    const out = join(tmp, 'labels.pb.gz');
    const rec = await hotspanRecord(['--duration', '2s', '--pid', String(child.pid), '-o', out]);
    expect(rec.exitCode, rec.all).toBe(0);
    const { samples, profile } = readPprof(out);
    expect(samples.length).toBeGreaterThan(0);
    for (const s of samples) {
      expect(s.labels.pid).toBe(child.pid);
      expect(s.labels.tid).toBe(child.pid);
      expect(s.labels.thread_name).toBe('split');
    }
    const str = (i: number | bigint) => profile.stringTable.strings[Number(i)];
    expect(profile.sampleType.map((t) => `${str(t.type)}/${str(t.unit)}`)).toEqual(['samples/count', 'cpu/nanoseconds']);
    expect(Number(profile.period)).toBe(Math.round(1e9 / 99));
    // The executable's mapping carries its GNU build id, as `file`/readelf report it.
    const readelf = execFileSync('readelf', ['-n', join(FIXTURES_BIN, 'split')], { encoding: 'utf8' });
    const buildId = /Build ID: ([0-9a-f]+)/.exec(readelf)![1];
    expect(profile.mapping.some((m) => str(m.buildId) === buildId)).toBe(true);
  });
});

describe.runIf(root)('hotspan record: kernel frames', () => {
  it('names kernel frames of a syscall-heavy process, as perf does', async () => {
    const child = startFixture(join(FIXTURES_BIN, 'syscalls'), ['8']);
    await sleep(300);
    const out = join(tmp, 'syscalls.pb.gz');
    const [rec, perf] = await Promise.all([hotspanRecord(['--duration', '3s', '--pid', String(child.pid), '-o', out]), perfSelfShares(child.pid!, 3, 99)]);
    expect(rec.exitCode, rec.all).toBe(0);
    const { samples } = readPprof(out);
    const ours = totalShares(samples);
    // The syscall entry point is on nearly every kernel stack.
    expect(ours.get('do_syscall_64') ?? 0).toBeGreaterThan(20);
    // Every kernel function hotspan sees in ≥5% of samples as a leaf is one perf also names. Kernel
    // by /proc/kallsyms: libc's syscall wrappers are leaves too, and there the two name one address
    // by different aliases (hotspan the exported `write`, perf libc's internal `__GI___libc_write`).
    const kallsyms = new Set(
      readFileSync('/proc/kallsyms', 'utf8')
        .split('\n')
        .map((l) => l.split(' ')[2]),
    );
    const perfKernel = new Set(perf.shares.keys());
    const hotLeaves = [...selfShares(samples)].filter(([fn, pct]) => pct >= 5 && kallsyms.has(fn)).map(([fn]) => fn);
    expect(hotLeaves.length).toBeGreaterThan(0);
    for (const fn of hotLeaves) expect(perfKernel.has(fn), `${fn} not in perf's symbols: ${[...perfKernel].slice(0, 15)}`).toBe(true);
  });
});

describe.runIf(root)('hotspan record: JIT frames from perf maps', () => {
  it('shows a Node.js program’s JS functions (--perf-basic-prof) with the CPU shares it measured', async () => {
    const truthFile = join(tmp, 'js-split.truth');
    const child = startFixture(process.execPath, ['--perf-basic-prof', join(ROOT, 'test/fixtures/js/split.js'), '12', truthFile]);
    await sleep(1500); // let the functions get compiled and written to /tmp/perf-PID.map
    const before = readFixtureCpu(truthFile);
    expect(before.size, `split.js wrote no truth to ${truthFile}`).toBeGreaterThan(0);
    const out = join(tmp, 'node.pb.gz');
    const rec = await hotspanRecord(['--duration', '5s', '--frequency', '499', '--pid', String(child.pid), '-o', out]);
    expect(rec.exitCode, rec.all).toBe(0);
    // The fixture writes its truth every second: the reading after the recording ends covers it.
    await sleep(1100);
    const truth = fixtureCpuShares(readFixtureCpu(truthFile), before);
    const { samples } = readPprof(out);
    const jsShares = totalShares(samples.filter((s) => s.labels.tid === child.pid));
    const names = ['burnA', 'burnB', 'burnC'];
    const sum = names.reduce((a, f) => a + (jsShares.get(f) ?? 0), 0);
    expect(sum, `JS frames: ${[...jsShares.keys()].slice(0, 20)}`).toBeGreaterThan(50);
    const n = samples.filter((s) => s.labels.tid === child.pid).reduce((a, s) => a + s.count, 0);
    for (const f of names) {
      const share = (100 * (jsShares.get(f) ?? 0)) / sum;
      const want = truth.get(f)!;
      // The truth's interval is ~1 s wider than the recording's (it is read once a second): 4σ, floor 3 pp.
      expect(Math.abs(share - want), `${f}: hotspan ${share.toFixed(1)}% vs measured ${want.toFixed(1)}% (n=${n})`).toBeLessThanOrEqual(
        tolerancePct(want, n, 3),
      );
    }
  });
});

describe.runIf(root)('hotspan record: unnamed and hard-to-name code', () => {
  it('keeps frames of a stripped binary as module+0xoffset, and the offsets are the right functions', async () => {
    const child = startFixture(join(FIXTURES_BIN, 'split-stripped'), ['6']);
    await sleep(300);
    const out = join(tmp, 'stripped.pb.gz');
    const rec = await hotspanRecord(['--duration', '2s', '--pid', String(child.pid), '-o', out]);
    expect(rec.exitCode, rec.all).toBe(0);
    const leaves = selfShares(readPprof(out).samples);
    const hot = [...leaves].filter(([n, pct]) => pct > 5 && n.startsWith('split-stripped+0x'));
    expect(hot.length, `leaves: ${[...leaves.keys()]}`).toBeGreaterThanOrEqual(2);
    // addr2line on the unstripped twin maps each placeholder offset to a burn_* function.
    for (const [name] of hot) {
      const off = name.slice('split-stripped+'.length);
      const fn = execFileSync('addr2line', ['-f', '-e', join(FIXTURES_BIN, 'split-stripped.unstripped'), off], { encoding: 'utf8' }).split('\n')[0];
      expect(fn).toMatch(/^burn_[abc]$/);
    }
  });

  it('names a stripped binary through its .gnu_debuglink debug file', async () => {
    const child = startFixture(join(FIXTURES_BIN, 'split-debuglink'), ['6']);
    await sleep(300);
    const out = join(tmp, 'debuglink.pb.gz');
    const rec = await hotspanRecord(['--duration', '2s', '--pid', String(child.pid), '-o', out]);
    expect(rec.exitCode, rec.all).toBe(0);
    const leaves = selfShares(readPprof(out).samples);
    expect((leaves.get('burn_a') ?? 0) + (leaves.get('burn_b') ?? 0) + (leaves.get('burn_c') ?? 0)).toBeGreaterThan(80);
  });

  it('names the samples of a process that exits mid-recording, without crashing', async () => {
    const out = join(tmp, 'exiting.pb.gz');
    const rec = startRecord(['--duration', '4s', '-o', out]);
    await rec.recording;
    const child = startFixture(join(FIXTURES_BIN, 'exiting'));
    const result = await rec.done;
    expect(result.exitCode, result.all).toBe(0);
    expect(child.exitCode).toBe(0);
    const mine = readPprof(out).samples.filter((s) => s.labels.pid === child.pid);
    const n = mine.reduce((a, s) => a + s.count, 0);
    expect(n).toBeGreaterThan(10); // it burns ~1.5 s: ~150 samples on an idle core
    expect(totalShares(mine).get('burn_until_exit') ?? 0).toBeGreaterThan(80);
  });
});
