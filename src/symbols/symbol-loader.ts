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
  /**
   * Files up to this size load in their own worker: a big binary's seconds of parsing never
   * delay the libraries and small programs behind it (a short-lived process's window closes
   * a couple of seconds after it exits, and its names must have landed by then).
   */
  smallFileBytes: 8 * 1024 * 1024,
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

export type LoadJob = Omit<LoadRequest, 'id'> & {
  /** The binary's size: picks the lane. */
  size: number;
};

interface Queued {
  req: LoadRequest;
  done: (o: LoadOutcome) => void;
}

let nextId = 1;
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

/** One worker and its queue, one load at a time. */
class Lane {
  private worker: Worker | undefined;
  readonly queue: Queued[] = [];
  running: { job: Queued; timer: NodeJS.Timeout; worker: Worker } | undefined;
  private idleWaiters: Array<() => void> = [];

  get pending(): number {
    return this.queue.length + (this.running ? 1 : 0);
  }

  add(job: Queued): void {
    this.queue.push(job);
    this.pump();
  }

  whenIdle(cb: () => void): void {
    if (this.pending === 0) cb();
    else this.idleWaiters.push(cb);
  }

  prewarm(): void {
    try {
      this.worker ??= this.startWorker();
    } catch {
      // Started again (and failing visibly per load) at the first load.
    }
  }

  private startWorker(): Worker {
    const w = new Worker(BOOT_SOURCE, {
      eval: true,
      workerData: bootData(),
      execArgv: [],
      // The worker closes fds the addon opened (debug files) and never closes the main thread's:
      // Node's per-worker fd tracking would warn on the first and close the second at exit.
      trackUnmanagedFds: false,
      resourceLimits: { maxOldGenerationSizeMb: SYMBOL_LOAD_BOUNDS.workerHeapMb },
    });
    w.on('message', (reply: LoadReply) => {
      const r = this.running;
      if (!r || r.worker !== w || r.job.req.id !== reply.id) return;
      clearTimeout(r.timer);
      this.running = undefined;
      for (const [reason, n] of reply.failures) countFailure(reason, n);
      finish(r.job, reply.ok ? { ok: true, syms: toSymbols(reply) } : { ok: false, reason: reply.reason, message: reply.message });
      this.pump();
    });
    const lost = (why: string) => {
      if (this.worker === w) this.worker = undefined;
      const r = this.running;
      if (r?.worker === w) {
        clearTimeout(r.timer);
        this.running = undefined;
        // The heap limit or a crash: that file costs its names, the next load gets a fresh worker.
        finish(r.job, { ok: false, reason: 'io', message: `symbol loader worker ${why}` });
        this.pump();
      }
    };
    w.on('error', (err) => lost(`failed: ${err.message}`));
    w.on('exit', (code) => lost(`exited (${code})`));
    // After the listeners: adding a 'message' listener refs the worker again (Node 20), and an
    // idle lane's worker left referenced kept `hotspan record` alive forever after its profile.
    w.unref();
    return w;
  }

  private pump(): void {
    if (this.running) return;
    const job = this.queue.shift();
    if (!job) {
      this.worker?.unref();
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const cb of waiters) cb();
      return;
    }
    let w: Worker;
    try {
      w = this.worker ??= this.startWorker();
    } catch (err) {
      finish(job, { ok: false, reason: 'io', message: `symbol loader worker did not start: ${(err as Error).message}` });
      this.pump();
      return;
    }
    w.ref();
    const timer = setTimeout(() => {
      if (this.running?.job !== job) return;
      this.running = undefined;
      this.worker = undefined;
      // The fds are closed only once the thread is gone: it may still be inside a read of them.
      void w.terminate().finally(() => finish(job, { ok: false, reason: 'timeout', message: `symbol load took over ${timeoutMs} ms` }));
      this.pump();
    }, timeoutMs);
    this.running = { job, timer, worker: w };
    w.postMessage(job.req);
  }
}

const small = new Lane();
const big = new Lane();

/**
 * Queues a load; the fds are the loader's from here on (closed when it ends, also when refused).
 * `done` is called once (synchronously only if no worker can start). Returns false when the
 * queue is full: the fds are closed and `done` is not called (the caller counts 'busy').
 */
export function loadSymbols(job: LoadJob, done: (o: LoadOutcome) => void): boolean {
  const { size, ...rest } = job;
  const req: LoadRequest = { ...rest, id: nextId++ };
  const lane = size <= SYMBOL_LOAD_BOUNDS.smallFileBytes ? small : big;
  // Both workers boot with the first load: a boot (seconds of module compiling when run from
  // source under tsx) is then part of the agent's start, not of the first big binary's load.
  small.prewarm();
  big.prewarm();
  if (lane.queue.length >= SYMBOL_LOAD_BOUNDS.maxQueued) {
    closeFds(req);
    return false;
  }
  lane.add({ req, done });
  return true;
}

/** Loads queued or running. */
export function pendingLoads(): number {
  return small.pending + big.pending;
}

/** Resolves once no load is queued or running, or after `waitMs` (whichever is first). */
export function loadsSettled(waitMs: number = timeoutMs): Promise<void> {
  if (pendingLoads() === 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, waitMs);
    let left = 2;
    const one = () => {
      if (--left > 0) return;
      clearTimeout(timer);
      resolve();
    };
    small.whenIdle(one);
    big.whenIdle(one);
  });
}

/** Boots the workers now. */
export function prewarmSymbolLoader(): void {
  small.prewarm();
  big.prewarm();
}

/** For tests: a shorter per-load time (restored with no argument). */
export function setSymbolLoadTimeoutForTest(ms?: number): void {
  timeoutMs = ms ?? SYMBOL_LOAD_BOUNDS.timeoutMs;
}
