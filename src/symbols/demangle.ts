/**
 * C++ (Itanium) and Rust (legacy and v0) demangling through gecko-profiler-demangle,
 * the Firefox profiler's WASM build of cpp_demangle + rustc-demangle.
 *
 * Symbol names are the workload's bytes, and a mangled name can expand exponentially: 189
 * characters of back-references demangle to 11.5 M characters (seconds of CPU). The WASM has
 * no output limit and cannot be interrupted from the thread it runs on, so it runs in a worker:
 * the caller waits on a shared flag for at most DEMANGLE_BOUNDS.timeoutMs, a name over the
 * input or output cap or past the time keeps its mangled form (counted 'demangle-cap'), and a
 * worker that ran out of time is terminated and replaced.
 *
 * The package's own entry imports `index_bg.wasm` as an ES module, which Node 20 cannot do
 * without --experimental-wasm-modules; so the worker instantiates the WASM itself and hands
 * it to the package's generated JS glue.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as glueModule from 'gecko-profiler-demangle/index_bg.js';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { countFailure } from '../workload-files/index.js';

/** Named bounds of demangling (README "Bounds"). */
export const DEMANGLE_BOUNDS = {
  /** Mangled names longer than this stay mangled. */
  maxInputChars: 2048,
  /** Demangled names longer than this are dropped for the mangled name. */
  maxOutputChars: 16_384,
  /** Time one name may take; normal names take microseconds. */
  timeoutMs: 50,
  /** Timeouts allowed per cooldown period; past it names stay mangled until the period ends. */
  maxTimeoutsPerPeriod: 4,
  timeoutPeriodMs: 10_000,
} as const;

// Shared control words: [state, byte length]. States below.
const INIT = -1;
const IDLE = 0;
const REQUEST = 1;
const DONE = 2;
const TOO_LONG = 3;
const FAILED = 4;

const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { readFileSync } = require('node:fs');
(async () => {
  const ctrl = new Int32Array(workerData.ctrl);
  const data = new Uint8Array(workerData.data);
  let glue;
  try {
    glue = await import(workerData.glueUrl);
    const module = new WebAssembly.Module(readFileSync(workerData.wasmPath));
    const instance = new WebAssembly.Instance(module, { './index_bg.js': glue });
    glue.__wbg_set_wasm(instance.exports);
    instance.exports.__wbindgen_start();
  } catch (err) {
    Atomics.store(ctrl, 0, ${FAILED});
    Atomics.notify(ctrl, 0);
    return;
  }
  // Warm up (compile tiers) before saying ready, so a first real name is not timed out.
  try { glue.demangle_any('_ZNSt6vectorIiSaIiEE9push_backERKi'); } catch {}
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  Atomics.store(ctrl, 0, ${IDLE});
  Atomics.notify(ctrl, 0);
  for (;;) {
    Atomics.wait(ctrl, 0, ${IDLE});
    if (Atomics.load(ctrl, 0) !== ${REQUEST}) continue;
    const name = dec.decode(data.slice(0, Atomics.load(ctrl, 1)));
    let state = ${FAILED};
    try {
      const out = glue.demangle_any(name);
      if (out.length > workerData.maxOutputChars) state = ${TOO_LONG};
      else {
        const bytes = enc.encode(out);
        if (bytes.length > data.length) state = ${TOO_LONG};
        else { data.set(bytes); Atomics.store(ctrl, 1, bytes.length); state = ${DONE}; }
      }
    } catch {}
    Atomics.store(ctrl, 0, state);
    Atomics.notify(ctrl, 0);
  }
})();
`;

interface Demangler {
  worker: Worker;
  ctrl: Int32Array;
  data: Uint8Array;
}

let current: Demangler | undefined;
let loadError: Error | undefined;
let timeouts: number[] = [];
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function start(): Demangler | undefined {
  if (loadError) return undefined;
  try {
    const req = createRequire(import.meta.url);
    const wasmPath = req.resolve('gecko-profiler-demangle/index_bg.wasm');
    const glueUrl = pathToFileURL(req.resolve('gecko-profiler-demangle/index_bg.js')).href;
    const ctrlBuf = new SharedArrayBuffer(8);
    const dataBuf = new SharedArrayBuffer(4 * DEMANGLE_BOUNDS.maxOutputChars);
    const ctrl = new Int32Array(ctrlBuf);
    ctrl[0] = INIT;
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { ctrl: ctrlBuf, data: dataBuf, wasmPath, glueUrl, maxOutputChars: DEMANGLE_BOUNDS.maxOutputChars },
      // Plain JS: no loaders of the parent (tsx, vitest) to boot.
      execArgv: [],
      // The WASM needs little: keep a runaway name from taking the agent's memory.
      resourceLimits: { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 16 },
    });
    worker.unref();
    worker.on('error', () => {
      if (current?.worker === worker) current = undefined;
    });
    return { worker, ctrl, data: new Uint8Array(dataBuf) };
  } catch (err) {
    loadError = err as Error;
    return undefined;
  }
}

/** Starts the demangler worker now, off the caller's path (the symbolizer calls this when built). */
export function prewarmDemangler(): void {
  localGlue();
  current ??= start();
}

/** Only these prefixes are mangled names; everything else is returned untouched. */
function looksMangled(name: string): boolean {
  return name.startsWith('_Z') || name.startsWith('__Z') || name.startsWith('_R');
}

function inCooldown(now: number): boolean {
  timeouts = timeouts.filter((t) => now - t < DEMANGLE_BOUNDS.timeoutPeriodMs);
  return timeouts.length >= DEMANGLE_BOUNDS.maxTimeoutsPerPeriod;
}

// ------------------------------------------------------------------ same-thread fast path

/**
 * Names that cannot explode are demangled on the calling thread (microseconds, no round trip):
 * growth is exponential only through back-references (Itanium S<seq>_ / T<seq>_, Rust v0 B<seq>_);
 * with at most FAST_MAX_BACKREFS of them in at most FAST_MAX_INPUT_CHARS the output stays within
 * a few hundred K characters, a few ms.
 */
const FAST_MAX_INPUT_CHARS = 512;
const FAST_MAX_BACKREFS = 3;
const ITANIUM_BACKREF = /[ST][0-9A-Z]*_/g;

let local: { demangle_any(name: string): string } | undefined;
let localFailed = false;

function localGlue(): typeof local {
  if (local || localFailed) return local;
  try {
    const req = createRequire(import.meta.url);
    const glue = glueModule;
    const wasmApi = (
      globalThis as unknown as {
        WebAssembly: { Module: new (b: Uint8Array) => object; Instance: new (m: object, i: object) => { exports: Record<string, unknown> } };
      }
    ).WebAssembly;
    const module = new wasmApi.Module(readFileSync(req.resolve('gecko-profiler-demangle/index_bg.wasm')));
    const instance = new wasmApi.Instance(module, { './index_bg.js': glue });
    glue.__wbg_set_wasm(instance.exports);
    (instance.exports as unknown as { __wbindgen_start(): void }).__wbindgen_start();
    local = glue;
  } catch {
    localFailed = true;
  }
  return local;
}

function cannotExplode(name: string): boolean {
  if (name.length > FAST_MAX_INPUT_CHARS) return false;
  if (name.startsWith('_R')) return !name.includes('B');
  const refs = name.match(ITANIUM_BACKREF);
  return (refs?.length ?? 0) <= FAST_MAX_BACKREFS;
}

function fixup(name: string, out: string): string {
  // On input no demangler accepts, the package can hand back the name minus its
  // leading underscore (it retries as a Mach-O "__Z" name); that is not a result.
  return out === name.slice(1) ? name : out;
}

// ------------------------------------------------------------------ worker path, never waited on

/** Names the worker finished: name → result (the name itself when it stays mangled). */
const workerResults = new Map<string, string>();
const MAX_WORKER_RESULTS = 50_000;
/** Names waiting for the worker, oldest first; bounded (past it names stay mangled, counted). */
const queue: string[] = [];
const queued = new Set<string>();
const MAX_QUEUED = 10_000;
let inFlight: { name: string; sinceMs: number } | undefined;
let pumpTimer: NodeJS.Timeout | undefined;

function settle(name: string, result: string): void {
  if (workerResults.size >= MAX_WORKER_RESULTS) workerResults.clear();
  workerResults.set(name, result);
}

/** Collects a finished name, times out a runaway one, submits the next. Never blocks. */
function pump(): void {
  const d = current;
  if (!d) return;
  const state = Atomics.load(d.ctrl, 0);
  if (state === INIT) return;
  if (inFlight) {
    if (state === REQUEST) {
      if (Date.now() - inFlight.sinceMs < DEMANGLE_BOUNDS.timeoutMs) return;
      // Still working: an exploding name. Stop it; a fresh worker takes the rest.
      timeouts.push(Date.now());
      void d.worker.terminate();
      current = start();
      countFailure('demangle-cap');
      settle(inFlight.name, inFlight.name);
      inFlight = undefined;
      return;
    }
    const name = inFlight.name;
    inFlight = undefined;
    if (state === DONE) settle(name, fixup(name, decoder.decode(d.data.slice(0, Atomics.load(d.ctrl, 1)))));
    else {
      if (state === TOO_LONG) countFailure('demangle-cap');
      settle(name, name);
    }
    Atomics.store(d.ctrl, 0, IDLE);
  }
  if (Atomics.load(d.ctrl, 0) !== IDLE) return;
  const next = queue.shift();
  if (next === undefined) return;
  queued.delete(next);
  const input = encoder.encode(next);
  d.data.set(input);
  Atomics.store(d.ctrl, 1, input.length);
  inFlight = { name: next, sinceMs: Date.now() };
  Atomics.store(d.ctrl, 0, REQUEST);
  Atomics.notify(d.ctrl, 0);
}

/** Keeps the queue moving between calls (unref'd: never holds the process open). */
function schedulePump(): void {
  if (pumpTimer || (queue.length === 0 && !inFlight)) return;
  pumpTimer = setTimeout(() => {
    pumpTimer = undefined;
    pump();
    schedulePump();
  }, 2);
  pumpTimer.unref();
}

/**
 * Demangled name; `name` itself when it is not mangled, demangling fails or a bound is hit; or
 * undefined while a name that could explode waits for the worker (ask again later). Never
 * blocks the caller for more than one same-thread demangle of a name that cannot explode.
 */
export function demangleNow(name: string): string | undefined {
  if (!looksMangled(name)) return name;
  if (name.length > DEMANGLE_BOUNDS.maxInputChars) {
    countFailure('demangle-cap');
    return name;
  }
  if (cannotExplode(name)) {
    const g = localGlue();
    if (g) {
      let out: string;
      try {
        out = g.demangle_any(name);
      } catch {
        return name;
      }
      if (out.length > DEMANGLE_BOUNDS.maxOutputChars) {
        countFailure('demangle-cap');
        return name;
      }
      return fixup(name, out);
    }
  }
  const done = workerResults.get(name);
  if (done !== undefined) return done;
  if (inCooldown(Date.now()) || loadError) {
    countFailure('demangle-cap');
    return name;
  }
  current ??= start();
  if (!current) return name;
  if (Atomics.load(current.ctrl, 0) === FAILED) {
    loadError = new Error('demangler worker did not start');
    return name;
  }
  if (!queued.has(name) && inFlight?.name !== name) {
    if (queue.length >= MAX_QUEUED) {
      countFailure('demangle-cap');
      return name;
    }
    queue.push(name);
    queued.add(name);
  }
  pump();
  schedulePump();
  return workerResults.get(name);
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Demangled name, or `name` itself when it is not mangled, demangling fails, or a bound is hit.
 * Waits for the worker when it must (tools and tests); the agent's hot path uses demangleNow.
 */
export function demangle(name: string): string {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const out = demangleNow(name);
    if (out !== undefined) return out;
    if (Date.now() > deadline) return name;
    Atomics.wait(pause, 0, 0, 1);
  }
}

/** Why the demangler is unavailable, if it failed to load (names then stay mangled). */
export function demanglerLoadError(): Error | undefined {
  current ??= start();
  // Waits for the worker's start-up (tools and tests only).
  if (current) Atomics.wait(current.ctrl, 0, INIT, 10_000);
  if (current && Atomics.load(current.ctrl, 0) === FAILED) loadError ??= new Error('demangler worker did not start');
  return loadError;
}
