/**
 * The diff on hotspan's own profiles: `hotspan record -p PID` (the BPF sampler, as root) of
 * the deploy fixtures, read back by `loadInput`, and Google pprof on the very same files.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diff, loadInput } from '../../src/flamegraph/index.js';
import { buildFixtures, FIXTURE_BIN, ROOT } from './flamegraph-perf.js';
import { fixtureCpuFractions } from './support/procs.js';

const PPROF = join(ROOT, 'test/fixtures/bin/pprof');
let dir: string;

/**
 * Starts bin/<name>, records it for 4 s with hotspan record at 499 Hz, then stops it.
 * The fixture outlives the recording (start-up of record is slow on a loaded machine).
 */
async function record(name: string): Promise<{ out: string; truth: Map<string, number> }> {
  const out = join(dir, `${name}.pb.gz`);
  const truthPath = join(dir, `${name}.truth`);
  const child = spawn(join(FIXTURE_BIN, name), ['30'], { stdio: 'ignore', env: { ...process.env, HOTSPAN_FIXTURE_TRUTH: truthPath } });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  try {
    execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'agent/cli.ts'), 'record', '-p', String(child.pid), '-d', '4s', '-F', '499', '-o', out], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  } finally {
    // SIGTERM: the fixture writes its truth once more and exits.
    child.kill('SIGTERM');
    await exited;
  }
  return { out, truth: fixtureCpuFractions(truthPath) };
}

let v1: { out: string; truth: Map<string, number> };
let v2: { out: string; truth: Map<string, number> };

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error('hotspan record loads BPF: run this test as root');
  buildFixtures();
  dir = mkdtempSync(join(tmpdir(), 'hotspan-flamerec-'));
  v1 = await record('deploy_v1');
  v2 = await record('deploy_v2');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('diff of hotspan record profiles', () => {
  it('finds check_fraud new at the share of CPU the fixture measured, the old two shrunk in share only', async () => {
    const d = diff(await loadInput(v1.out), await loadInput(v2.out));
    expect(d.base.samples).toBeGreaterThan(200);
    expect(d.regressions[0]!.name).toBe('check_fraud');
    // Held to the share the fixture measured (~1/3), within 4 binomial standard errors (floor 5 pp).
    const truth = v2.truth.get('check_fraud')!;
    const tol = Math.max(0.05, 4 * Math.sqrt((truth * (1 - truth)) / d.head.samples));
    const got = d.regressions[0]!.head.totalShare;
    expect(Math.abs(got - truth), `${got} vs ${truth} ±${tol}`).toBeLessThanOrEqual(tol);
    for (const name of ['price_items', 'apply_discounts']) {
      const f = d.frames.find((x) => x.name === name)!;
      expect(f.change, name).toBe('shrank');
      expect(f.rate?.significant, name).toBe(false);
    }
  });

  it('matches pprof -top -diff_base flat and cum on the same files', async () => {
    const d = diff(await loadInput(v1.out), await loadInput(v2.out));
    const text = execFileSync(PPROF, ['-top', '-sample_index=0', '-nodecount=100000', '-nodefraction=0', '-edgefraction=0', '-diff_base', v1.out, v2.out], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let compared = 0;
    for (const line of text.split('\n')) {
      const m = /^\s*(-?\d+)\s+-?[\d.]+%\s+-?[\d.]+%\s+(-?\d+)\s+-?[\d.]+%\s+(.+)$/.exec(line);
      if (!m) continue;
      const f = d.frames.find((x) => x.name === m[3]!.trim());
      expect(f, m[3]).toBeDefined();
      expect(f!.deltaSelfSamples, `${m[3]} flat`).toBe(Number(m[1]));
      expect(f!.deltaTotalSamples, `${m[3]} cum`).toBe(Number(m[2]));
      compared++;
    }
    expect(compared).toBeGreaterThanOrEqual(3);
  });
});
