import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { execa, type ResultPromise } from 'execa';
import { builtCliArgs } from './env.js';

const started = new Set<ChildProcess>();

/** Starts a fixture process; killed by killAll() (call it in afterEach/afterAll). */
export function startFixture(cmd: string, args: string[] = [], opts: { env?: NodeJS.ProcessEnv } = {}): ChildProcess {
  const child = spawn(cmd, args, { stdio: 'ignore', env: { ...process.env, ...opts.env } });
  started.add(child);
  child.on('exit', () => started.delete(child));
  return child;
}

export function killAll(): void {
  for (const c of started) c.kill('SIGKILL');
  started.clear();
}

/** Runs `hotspan record` from source and returns its result (never throws on exit code). */
/**
 * `hotspan record` as users run it: the build (dist/). From source, its three worker threads each
 * compile the TypeScript again at start, and that CPU delayed the first samples of short-lived
 * processes past their exit.
 */
export async function hotspanRecord(args: string[], opts: { timeoutMs?: number } = {}) {
  return execa(process.execPath, builtCliArgs('record', ...args), { reject: false, timeout: opts.timeoutMs ?? 60_000, all: true });
}

/**
 * Starts `hotspan record` and resolves `recording` once it says sampling has
 * begun (start-up takes a while on a loaded machine); `done` is its result.
 */
export function startRecord(args: string[], opts: { timeoutMs?: number } = {}) {
  const child = execa(process.execPath, builtCliArgs('record', ...args), { reject: false, timeout: opts.timeoutMs ?? 60_000, all: true });
  const recording = untilStderr(child, /hotspan: recording /);
  recording.catch(() => {});
  return { recording, done: child };
}

/** Resolves once the child's stderr matches `line`; rejects if it exits first. */
export function untilStderr(child: ResultPromise<{ all: true }>, line: RegExp): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let text = '';
    child.stderr?.on('data', (d: Buffer) => {
      text += d.toString();
      if (line.test(text)) resolve();
    });
    child.then((r) => reject(new Error(`exited before ${line}: ${r.all}`)), reject);
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Thread CPU nanoseconds per function, as a fixture measured them (test/fixtures/c/fixture_truth.h). */
export type FixtureCpu = Map<string, number>;

/** A fixture's cumulative CPU per function so far (it rewrites its truth file at exit and periodically: split every 100 ms, the others every second). */
export function readFixtureCpu(path: string): FixtureCpu {
  const cpu: FixtureCpu = new Map();
  if (!existsSync(path)) return cpu;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const [fn, ns] = line.trim().split(/\s+/);
    if (fn && ns) cpu.set(fn, Number(ns));
  }
  return cpu;
}

/**
 * Each function's share (%) of the CPU the fixture spent in all of them between two readings:
 * the ground truth a profile of that interval is held to (identical loops do not cost identical time).
 */
export function fixtureCpuShares(after: FixtureCpu, before: FixtureCpu = new Map()): Map<string, number> {
  const spent = [...after].map(([fn, ns]) => [fn, ns - (before.get(fn) ?? 0)] as const);
  const total = spent.reduce((a, [, ns]) => a + ns, 0);
  if (!(total > 0)) throw new Error('the fixture measured no CPU time (truth file missing or not yet written)');
  return new Map(spent.map(([fn, ns]) => [fn, (100 * ns) / total]));
}

/** A fixture's whole-run CPU per function as fractions (0–1) of the total, from its truth file. */
export function fixtureCpuFractions(path: string): Map<string, number> {
  return new Map([...fixtureCpuShares(readFixtureCpu(path))].map(([fn, pct]) => [fn, pct / 100]));
}
