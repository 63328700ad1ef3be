import { spawn, type ChildProcess } from 'node:child_process';
import { execa } from 'execa';
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
  const recording = new Promise<void>((resolve, reject) => {
    let text = '';
    child.stderr?.on('data', (d: Buffer) => {
      text += d.toString();
      if (/hotspan: recording /.test(text)) resolve();
    });
    child.then((r) => reject(new Error(`record exited before sampling began: ${r.all}`)), reject);
  });
  recording.catch(() => {});
  return { recording, done: child };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
