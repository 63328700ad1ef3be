/**
 * Loads ELF symbol tables in a worker thread, one file at a time, so that a big binary (hundreds
 * of MB, a million symbols: seconds of reading, parsing and sorting) never holds the agent's event
 * loop. The main thread only opens the file (openat2 in the process's root: microseconds) and later
 * wraps the finished table (its arrays are transferred, not copied).
 *
 * The caller hands over fds it opened while the process was alive; from then on they are the
 * loader's, closed when the load ends. A load past SYMBOL_LOAD_BOUNDS.timeoutMs terminates the
 * worker (it cannot be interrupted otherwise), fails with 'timeout', and a fresh worker takes the
 * rest of the queue.
 */
import { closeSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { countFailure, type FailureReason } from '../workload-files/index.js';
import type { ElfSymbols, SymbolSource } from './elf-symbols.js';
import type { LoadSegment } from './elf.js';
import { SymbolTable, type SymbolTableData } from './symbol-table.js';

/** Named bounds of symbol loading (README "Bounds"). */
export const SYMBOL_LOAD_BOUNDS = {
  /** Time one file may take in the worker (the worst bounded file takes a few seconds). */
  timeoutMs: 20_000,
  /** Loads waiting for the worker; past it a load is refused ('busy') and retried at the next sample. */
  maxQueued: 1024,
  /** The worker's heap: the largest file ELF_BOUNDS allows parses in about half of it. */
  workerHeapMb: 768,
} as const;

/** What the worker is asked (fds belong to the main thread). */
export interface LoadRequest {
  id: number;
  /** The binary, opened through src/workload-files. */
  fd: number;
  name: string;
  /** The process's root directory, opened at first sight; debug files beside the binary resolve in it. */
  rootFd?: number;
  /** Root by path when no directory fd could be opened. */
  root: string;
  /** How the root is named in diagnostics (`/proc/PID/root`). */
  rootDisplay: string;
  logicalPath: string;
  binaryId: string;
  debugDirs: string[];
}

export type LoadReply =
  | {
      id: number;
      ok: true;
      buildId?: string;
      loads: LoadSegment[];
      source: SymbolSource;
      debugFile?: string;
      table: SymbolTableData;
      failures: Array<[FailureReason, number]>;
    }
  | { id: number; ok: false; reason: FailureReason; message: string; failures: Array<[FailureReason, number]> };

export type LoadOutcome = { ok: true; syms: ElfSymbols } | { ok: false; reason: FailureReason; message: string };

export type LoadJob = Omit<LoadRequest, 'id'>;

interface Queued {
  req: LoadRequest;
  done: (o: LoadOutcome) => void;
}

let worker: Worker | undefined;
let queue: Queued[] = [];
let running: { job: Queued; timer: NodeJS.Timeout; worker: Worker } | undefined;
let nextId = 1;
let idleWaiters: Array<() => void> = [];
let timeoutMs: number = SYMBOL_LOAD_BOUNDS.timeoutMs;

/**
 * The worker boots through this bit of plain JS: from source (tsx, vitest) the worker module is
 * TypeScript and tsx's hooks are registered in the worker first (an `--import tsx` in a worker's
 * execArgv is not applied to its entry on Node 20); built, it is plain JS.
 */
const BOOT_SOURCE = `
const { workerData } = require('node:worker_threads');
(async () => {
  if (workerData.tsxApi) (await import(workerData.tsxApi)).register();
  await import(workerData.entry);
})().catch((err) => { throw err; });
`;

function bootData(): { entry: string; tsxApi?: string } {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    // The ESM entry of tsx's API, from its package exports (require.resolve would give the CJS one).
    const pkgPath = createRequire(here).resolve('tsx/package.json');
    const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { exports: Record<string, { import?: { default?: string } }> };
    const tsxApi = new URL(pkg.exports['./esm/api']!.import!.default!, pathToFileURL(pkgPath)).href;
    return { entry: new URL('./symbol-load-worker.ts', here).href, tsxApi };
  }
  return { entry: new URL('./symbol-load-worker.js', here).href };
}

function startWorker(): Worker {
  const w = new Worker(BOOT_SOURCE, {
    eval: true,
    workerData: bootData(),
    execArgv: [],
    // The worker closes fds the addon opened (debug files) and never closes the main thread's:
    // Node's per-worker fd tracking would warn on the first and close the second at exit.
    trackUnmanagedFds: false,
    resourceLimits: { maxOldGenerationSizeMb: SYMBOL_LOAD_BOUNDS.workerHeapMb },
  });
  w.unref();
  w.on('message', (reply: LoadReply) => {
    if (!running || running.worker !== w || running.job.req.id !== reply.id) return;
    const { job, timer } = running;
    clearTimeout(timer);
    running = undefined;
    for (const [reason, n] of reply.failures) countFailure(reason, n);
    finish(job, reply.ok ? { ok: true, syms: toSymbols(reply) } : { ok: false, reason: reply.reason, message: reply.message });
    pump();
  });
  const lost = (why: string) => {
    if (worker === w) worker = undefined;
    if (running?.worker === w) {
      const { job, timer } = running;
      clearTimeout(timer);
      running = undefined;
      // The heap limit or a crash: that file costs its names, the next load gets a fresh worker.
      finish(job, { ok: false, reason: 'io', message: `symbol loader worker ${why}` });
      pump();
    }
  };
  w.on('error', (err) => lost(`failed: ${err.message}`));
  w.on('exit', (code) => lost(`exited (${code})`));
  return w;
}

function toSymbols(r: Extract<LoadReply, { ok: true }>): ElfSymbols {
  return {
    ...(r.buildId && { buildId: r.buildId }),
    loads: r.loads,
    table: new SymbolTable(r.table),
    source: r.source,
    ...(r.debugFile && { debugFile: r.debugFile }),
  };
}

function closeFds(req: LoadRequest): void {
  for (const fd of [req.fd, req.rootFd]) {
    if (fd === undefined) continue;
    try {
      closeSync(fd);
    } catch {
      // Already closed: nothing to release.
    }
  }
}

function finish(job: Queued, outcome: LoadOutcome): void {
  closeFds(job.req);
  try {
    job.done(outcome);
  } catch {
    // A waiter's bookkeeping must not stop the queue.
    countFailure('callback-error');
  }
}

function pump(): void {
  if (running) return;
  const job = queue.shift();
  if (!job) {
    worker?.unref();
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const w of waiters) w();
    return;
  }
  try {
    worker ??= startWorker();
  } catch (err) {
    finish(job, { ok: false, reason: 'io', message: `symbol loader worker did not start: ${(err as Error).message}` });
    pump();
    return;
  }
  const w = worker;
  w.ref();
  const timer = setTimeout(() => {
    if (running?.job !== job) return;
    running = undefined;
    worker = undefined;
    // The fds are closed only once the thread is gone: it may still be inside a read of them.
    void w.terminate().finally(() => finish(job, { ok: false, reason: 'timeout', message: `symbol load took over ${timeoutMs} ms` }));
    pump();
  }, timeoutMs);
  running = { job, timer, worker: w };
  w.postMessage(job.req);
}

/**
 * Queues a load; the fds are the loader's from here on (closed when it ends, also when refused).
 * `done` is called once (synchronously only if no worker can start). Returns false when the queue is full: the fds are
 * closed and `done` is not called (the caller counts 'busy').
 */
export function loadSymbols(job: LoadJob, done: (o: LoadOutcome) => void): boolean {
  const req: LoadRequest = { ...job, id: nextId++ };
  if (queue.length >= SYMBOL_LOAD_BOUNDS.maxQueued) {
    closeFds(req);
    return false;
  }
  queue.push({ req, done });
  pump();
  return true;
}

/** Loads queued or running. */
export function pendingLoads(): number {
  return queue.length + (running ? 1 : 0);
}

/** Resolves once no load is queued or running, or after `waitMs` (whichever is first). */
export function loadsSettled(waitMs: number = timeoutMs): Promise<void> {
  if (pendingLoads() === 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, waitMs);
    idleWaiters.push(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Boots the worker now, so the first binary seen does not wait for it. */
export function prewarmSymbolLoader(): void {
  try {
    worker ??= startWorker();
  } catch {
    // Started again (and failing visibly per load) at the first load.
  }
}

/** For tests: a shorter per-load time (restored with no argument). */
export function setSymbolLoadTimeoutForTest(ms?: number): void {
  timeoutMs = ms ?? SYMBOL_LOAD_BOUNDS.timeoutMs;
}
