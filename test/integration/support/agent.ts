/**
 * Helpers for end-to-end tests that run the real `hotspan agent` daemon from source: start it,
 * wait until it profiles, stop it with a signal and time the exit, run the read-side CLI commands
 * on its data directory, find the pprof windows it wrote, and drive the C HTTP fixture.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { builtCliArgs, cliArgs, ROOT } from './env.js';

export interface AgentRun {
  pid: number;
  /** Everything the agent wrote to stderr so far (its log lines). */
  stderr(): string;
  /** Sends `signal` and waits for the exit; stopMs is signal → exit. */
  stop(signal?: NodeJS.Signals): Promise<{ exitCode: number | undefined; signal: string | undefined; stopMs: number; stderr: string; stdout: string }>;
}

const running = new Set<ResultPromise>();

/** The agent stays at the start-up line's wording; anything else in 30 s means it failed. */
const READY_LINE = /hotspan: profiling (every process|pid \d+) at \d+ Hz/;

/**
 * Starts `hotspan agent --data-dir <dataDir> ...args` and resolves once it logs that it profiles.
 * The health server is off (both env names: it was renamed from HTTP to HEALTH port).
 */
export async function startAgent(dataDir: string, args: string[] = [], env: Record<string, string> = {}, opts: { built?: boolean } = {}): Promise<AgentRun> {
  const argv = (opts.built ? builtCliArgs : cliArgs)('agent', '--data-dir', dataDir, ...args);
  const child = execa(process.execPath, argv, {
    reject: false,
    cwd: ROOT,
    // Tests judge the agent's own shutdown: execa must not SIGKILL it after 5 s.
    forceKillAfterDelay: false,
    // The test's own OTLP / hotspan settings must not leak in: each test says where signals go.
    extendEnv: false,
    env: { ...inheritedEnv(), HOTSPAN_WINDOW: '2s', HOTSPAN_HTTP_PORT: '0', HOTSPAN_HEALTH_PORT: '0', ...env },
  });
  running.add(child);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const deadline = Date.now() + 30_000;
  while (!READY_LINE.test(err)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      await child;
      throw new Error(`hotspan agent did not start (exit ${child.exitCode}): ${err}`);
    }
    await sleep(100);
  }
  return {
    pid: child.pid!,
    stderr: () => err,
    async stop(signal = 'SIGTERM') {
      const t0 = Date.now();
      child.kill(signal);
      const r = await child;
      running.delete(child);
      return { exitCode: r.exitCode, signal: r.signal, stopMs: Date.now() - t0, stderr: err, stdout: String(r.stdout ?? '') };
    },
  };
}

function inheritedEnv(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined && !/^(OTEL_|HOTSPAN_)/.test(e[0])));
}

/** Kills agents a failed test left running (call from afterEach). */
export async function killAgents(): Promise<void> {
  for (const c of running) {
    c.kill('SIGKILL');
    await c;
  }
  running.clear();
}

/** Runs a read-side hotspan command (spans, profile, flamegraph…); never throws on exit code. */
export async function hotspan(...args: string[]) {
  return execa(process.execPath, cliArgs(...args), { reject: false, cwd: ROOT, timeout: 60_000 });
}

/** The pprof windows the agent wrote for one pid (any process directory), oldest first. */
export function windowFiles(dataDir: string, pid: number): string[] {
  const root = join(dataDir, 'profiles');
  if (!existsSync(root)) return [];
  const out: string[] = [];
  for (const dir of readdirSync(root)) {
    // <start ms>-<pid>.pb.gz, or <start ms>-<pid>.<n>.pb.gz for late samples of an already written window.
    for (const f of readdirSync(join(root, dir))) if (new RegExp(`^\\d+-${pid}(\\.\\d+)?\\.pb\\.gz$`).test(f)) out.push(join(root, dir, f));
  }
  const startMs = (p: string) => Number(/(\d+)-\d+(\.\d+)?\.pb\.gz$/.exec(p)![1]);
  return out.sort((a, b) => startMs(a) - startMs(b));
}

/** A TCP port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Resident set size from /proc/<pid>/status, in kB. */
export function vmRssKb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status (a kernel thread or a zombie?)`);
  return Number(m[1]);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The first stdout line of a child (the fixtures print their port, the client its count). */
export function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr?.on('data', (d) => (err += d));
    child.stdout!.on('data', (d) => {
      out += d;
      const i = out.indexOf('\n');
      if (i >= 0) resolve(out.slice(0, i));
    });
    child.on('exit', (code) => reject(new Error(`child exited ${code} before printing a line: ${err}`)));
  });
}

/**
 * Keep-alive HTTP load, one loop per route, for `seconds`. Trace ids carry the route
 * (5107… /slow, fa57… /fast); every `perTrace` consecutive requests of a loop share one trace id
 * (a trace of several server spans), each with its own parent span id. Prints the count sent.
 */
const CLIENT = `
const http = require('node:http');
const [port, seconds, routes, perTrace] = [Number(process.argv[1]), Number(process.argv[2]), process.argv[3].split(','), Number(process.argv[4])];
const TAG = { '/slow': '5107', '/fast': 'fa57' };
let n = 0;
const deadline = Date.now() + seconds * 1000;
async function loop(path, i) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  for (let k = 0; Date.now() < deadline; k++) {
    n++;
    const traceId = (TAG[path] + i.toString(16) + Math.floor(k / perTrace).toString(16).padStart(8, '0')).padEnd(32, '0');
    const traceparent = '00-' + traceId + '-' + n.toString(16).padStart(16, 'b') + '-01';
    await new Promise((resolve, reject) => {
      const req = http.get({ port, host: '127.0.0.1', path, agent, headers: { traceparent } }, (res) => { res.resume(); res.on('end', resolve); });
      req.on('error', reject);
    });
  }
  agent.destroy();
}
Promise.all(routes.map((r, i) => loop(r, i))).then(() => console.log(n));
`;

/** Starts the load client; resolves with the number of requests sent once it is done. */
export function driveHttp(port: string, seconds: number, routes: string[], perTrace: number): { child: ChildProcess; sent: Promise<number> } {
  const child = spawn(process.execPath, ['-e', CLIENT, port, String(seconds), routes.join(','), String(perTrace)], { stdio: ['ignore', 'pipe', 'pipe'] });
  return { child, sent: firstLine(child).then(Number) };
}

/** One request as the C http_server logged it (test/fixtures/c/http_server.c). */
export interface ServerLogEntry {
  tid: number;
  startMonoNs: bigint;
  endMonoNs: bigint;
  traceId: string;
  /** The traceparent's parent id: the client's span, parent of the server span. */
  parentSpanId: string;
  /** Thread CPU time the request used, measured by the server. */
  cpuNs: bigint;
}

export function readServerLog(path: string): ServerLogEntry[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [tid, start, end, tp, cpu] = line.split(' ');
      const [, traceId, parentSpanId] = tp!.split('-');
      return { tid: Number(tid), startMonoNs: BigInt(start!), endMonoNs: BigInt(end!), traceId: traceId!, parentSpanId: parentSpanId!, cpuNs: BigInt(cpu!) };
    });
}
