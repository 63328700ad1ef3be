/**
 * The on-node symbolizer: names kernel and user frames of CPU samples.
 *
 * Lookups are synchronous: it runs per sample batch on the agent's hot path, and after
 * warm-up a frame costs a mapping binary search plus a symbol binary search. Files
 * are cached by GNU build id (or dev+inode+mtime), bounded by count and bytes;
 * process maps are read once and re-read only when an address falls outside them.
 * Nothing here throws for a process that exited: its frames become placeholders.
 *
 * Loading an ELF's symbols is not: a big binary takes seconds to read and sort. At a file's
 * first sighting the main thread only opens it (and the process's root) while the process is
 * alive, and hands the fds to the loader worker (symbol-loader.ts). Frames of that file are
 * handed out at once as `module+0xoffset` placeholders and renamed in place when the table
 * lands: no sample waits and none is lost, and the profile consumers (windows, the span join,
 * `hotspan record` after `settled()`) read names when they close, seconds later. A load that
 * fails or times out leaves those placeholders, counted by reason.
 */
import { hostClock } from '../clock/index.js';
import { readlinkSync, openSync, readSync, closeSync } from 'node:fs';
import { basename } from 'node:path';
import {
  countFailure,
  openProcessRootDir,
  openWorkloadFile,
  processRoot,
  readWorkloadFile,
  WorkloadFileError,
  type WorkloadFile,
} from '../workload-files/index.js';
import { bufferSource, ElfFormatError, fileOffsetToVaddr, fileSource, readElfHeaders, type LoadSegment } from './elf.js';
import { readElfSymbolsFrom, type ElfSymbols } from './elf-symbols.js';
import { loadsSettled, loadSymbols, pendingLoads, type LoadOutcome } from './symbol-loader.js';
import { DEFAULT_DEBUG_DIRS } from './debug-file.js';
import { readKallsyms } from './kallsyms.js';
import { prewarmDemangler } from './demangle.js';
import { LruCache } from './lru.js';
import { PerfMap } from './perf-map.js';
import { parseProcMaps, type ProcMapping } from './proc-maps.js';
import type { SymbolTable } from './symbol-table.js';
import type { Frame, MappingInfo } from './types.js';

export interface SymbolizerOptions {
  /** ELF files whose symbols stay cached (LRU). Default 512. */
  maxCachedFiles?: number;
  /** Estimated bytes of cached symbol tables (LRU). Default DEFAULT_MAX_CACHED_FILE_BYTES (192 MiB). */
  maxCachedBytes?: number;
  /** Processes whose maps stay cached (LRU). Default 8192. */
  maxCachedProcesses?: number;
  /** Where separate debug info lives. Default ['/usr/lib/debug']. */
  debugDirs?: string[];
  /** procfs mount. Default /proc. */
  procRoot?: string;
  /** Minimum time between two re-reads of one process's maps. Default 200 ms. */
  mapsRereadIntervalMs?: number;
  /** Minimum time between two automatic reloads of kallsyms on a miss. Default 30 s. */
  kallsymsRefreshIntervalMs?: number;
}

export interface SymbolizerStats {
  cachedFiles: number;
  cachedProcesses: number;
  /** Frames returned as placeholders (not named). */
  misses: number;
  /** ELF files parsed (cache misses). */
  fileLoads: number;
  /** Main-thread time spent opening files and wrapping loaded tables since start, ms. */
  loadMs: number;
  /** Symbol loads queued or running in the loader worker (all symbolizers). */
  pendingLoads: number;
  /** Placeholder frames renamed in place when their file's symbols landed. */
  renamedFrames: number;
  /** /proc/PID/maps reads, first reads included. */
  mapsReads: number;
  cachedFileBytes: number;
  kernelSymbols: number;
  /** Why kernel symbols are unavailable, when they are. */
  kernelError?: string;
}

/** Per-mapping state, resolved on first use. */
interface MappingState {
  map: ProcMapping;
  /** map.start and map.fileOffset as numbers: user addresses are below 2^53. */
  startNum: number;
  fileOffsetNum: number;
  /** Direct reference for the hot path; dropped when the LRU evicts the file. */
  syms?: ElfSymbols;
  /** Second in which this mapping last refreshed its file's LRU recency. */
  touchedSecond?: number;
  info: MappingInfo;
  module: string;
  /** LRU key of the file's symbols; undefined until resolved or when unreadable. */
  fileKey?: string;
  /** Where to re-read the file if its symbols were evicted. */
  openPath?: string;
  loads?: LoadSegment[];
  resolved: boolean;
  /**
   * Named frames of this mapping by address (negated for leaf frames, which are looked up
   * without the -1): one shared Frame per address, so profiles intern by identity.
   */
  frames?: Map<number, Frame>;
  /** The load of this mapping's file, while it runs in the worker. */
  loading?: PendingLoad;
  /** Placeholders handed out while loading, by the same key as `frames`: renamed when it lands. */
  pendingFrames?: Map<number, Frame>;
}

/** One file's symbols loading in the worker, and the mappings waiting for it. */
interface PendingLoad {
  statKey: string;
  waiters: Array<{ ms: MappingState; openPath: string }>;
  startedMs: number;
}

interface ProcessState {
  mappings: MappingState[];
  /** Mapping bounds as numbers, for an allocation-free binary search. */
  starts: Float64Array;
  ends: Float64Array;
  lastMapsReadMs: number;
  /**
   * Wait before the next miss may re-read the maps. Doubles each time a re-read leaves the
   * miss a miss (a binary without frame pointers hands us junk return addresses on every
   * sample: re-reading its maps 5×/s was the agent's largest steady-state cost), back to the
   * base interval when a re-read finds the address (a real dlopen or JIT region).
   */
  rereadBackoffMs: number;
  gone: boolean;
  /** undefined: not looked for yet; null: none found at perfMapCheckedMs. */
  perfMap?: PerfMap | null;
  perfMapCheckedMs?: number;
  /** Unix ms the process started (a perf map older than that is not its own); null: unreadable. */
  startMs?: number | null;
}

const UNKNOWN = '[unknown]';
/** Symbol-table cache bound (README "Bounds"): well inside the DaemonSet's 512 Mi with a file being parsed beside it. */
export const DEFAULT_MAX_CACHED_FILE_BYTES = 192 * 1024 * 1024;
/**
 * Bound of each frame cache (per mapping, and for the kernel): the hot code of a process
 * is a few thousand addresses; a cache past this is cleared and refills from what is hot.
 */
const MAX_CACHED_FRAMES = 1 << 16;
/** How often to look again for a perf map that did not exist. */
const PERF_MAP_RETRY_MS = 2000;
/** Longest wait between maps re-reads of a process whose misses stay misses (a new dlopen waits at most this long for its names). */
const MAX_MAPS_REREAD_BACKOFF_MS = 5000;
/** Longest wait between /proc/kallsyms reloads whose miss stayed a miss (a module loaded later waits at most this). */
const MAX_KALLSYMS_BACKOFF_MS = 10 * 60_000;

/**
 * The wait before the next re-read of a table (a process's maps, kallsyms) after one: back to
 * `base` when it named the address that missed, else doubled up to `max` (a miss that survives a
 * re-read is junk, and re-reading is the expensive part).
 */
function nextRereadWait(named: boolean, current: number, base: number, max: number): number {
  return named ? base : Math.min(2 * current, max);
}

/** Index of the mapping containing addr, or -1 (binary search over sorted, disjoint ranges). */
function findIndex(state: ProcessState, addr: number): number {
  const { starts, ends } = state;
  let lo = 0;
  let hi = starts.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (addr < starts[mid]!) hi = mid - 1;
    else if (addr >= ends[mid]!) lo = mid + 1;
    else return mid;
  }
  return -1;
}
const KERNEL_MODULE = '[kernel.kallsyms]';

export class Symbolizer {
  private readonly procRoot: string;
  private readonly debugDirs: readonly string[];
  private readonly files: LruCache<string, ElfSymbols>;
  private readonly processes: LruCache<number, ProcessState>;
  /** dev:ino:mtime → file key, so a second process mapping the same file skips parsing. */
  private readonly statKeys = new Map<string, string>();
  /** dev:ino:mtime → its load in the worker: a file is loaded once however many map it. */
  private readonly loading = new Map<string, PendingLoad>();
  private renamedFrames = 0;
  private readonly mapsRereadIntervalMs: number;
  private readonly kallsymsRefreshIntervalMs: number;
  private kallsymsBackoffMs: number;
  private kernel?: SymbolTable;
  private kernelError?: string;
  private kernelLoadedAtMs = 0;
  /** Named kernel frames by address: [leaf, non-leaf] (they look up different bytes). */
  private kernelFrameCache: [Map<bigint, Frame>, Map<bigint, Frame>] = [new Map(), new Map()];
  private misses = 0;
  private nowSecond = 0;
  private fileLoads = 0;
  private mapsReads = 0;
  /** Wall time spent opening and parsing files (a self-metric: how much loading costs the loop). */
  private loadMs = 0;

  constructor(opts: SymbolizerOptions = {}) {
    this.procRoot = opts.procRoot ?? '/proc';
    this.debugDirs = opts.debugDirs ?? DEFAULT_DEBUG_DIRS;
    this.files = new LruCache(opts.maxCachedFiles ?? 512, opts.maxCachedBytes ?? DEFAULT_MAX_CACHED_FILE_BYTES, (syms) => {
      // Mappings holding it re-fetch (and reload) on next use, so the bound holds.
      syms.evicted = true;
    });
    this.processes = new LruCache(opts.maxCachedProcesses ?? 8192);
    this.mapsRereadIntervalMs = opts.mapsRereadIntervalMs ?? 200;
    this.kallsymsRefreshIntervalMs = opts.kallsymsRefreshIntervalMs ?? 30_000;
    this.kallsymsBackoffMs = this.kallsymsRefreshIntervalMs;
    // The demangler's worker boots off this path, so the first C++ name does not wait for it.
    // The symbol loader's boots at the first file to load (its frames are renamed when it lands):
    // booted here, from source under tsx, it took seconds of CPU from whatever ran beside it.
    prewarmDemangler();
  }

  // ---------------------------------------------------------------- kernel

  /**
   * (Re)reads /proc/kallsyms. Throws KallsymsError with the fix when addresses are
   * hidden (not root, kptr_restrict) — call once at startup to fail early.
   */
  loadKernelSymbols(): void {
    this.kernelLoadedAtMs = Date.now();
    try {
      this.kernel = readKallsyms(`${this.procRoot}/kallsyms`).table;
      this.kernelError = undefined;
      this.kernelFrameCache = [new Map(), new Map()];
    } catch (err) {
      this.kernelError = (err as Error).message;
      throw err;
    }
  }

  /** Kernel addresses, leaf first → frames (kind 'kernel'). Never throws. */
  kernelFrames(addrs: readonly bigint[]): Frame[] {
    if (!this.kernel && this.kernelLoadedAtMs === 0) this.tryLoadKernel();
    const out: Frame[] = new Array(addrs.length);
    let refreshed = false;
    for (let i = 0; i < addrs.length; i++) {
      const address = addrs[i]!;
      const cache = this.kernelFrameCache[i > 0 ? 1 : 0];
      const cached = cache.get(address);
      if (cached) {
        out[i] = cached;
        continue;
      }
      // Non-leaf frames hold return addresses; the call is the byte before.
      const probe = i > 0 ? address - 1n : address;
      let hit = this.kernel?.lookup(probe);
      if (!hit && !refreshed && Date.now() - this.kernelLoadedAtMs >= this.kallsymsBackoffMs) {
        // Modules load and unload; a miss may mean the table is stale. A reload costs ~1 s of
        // this thread, so one that leaves the miss a miss doubles the wait for the next.
        refreshed = true;
        this.tryLoadKernel();
        hit = this.kernel?.lookup(probe);
        this.kallsymsBackoffMs = nextRereadWait(hit !== undefined, this.kallsymsBackoffMs, this.kallsymsRefreshIntervalMs, MAX_KALLSYMS_BACKOFF_MS);
      }
      if (hit) {
        out[i] = { name: hit.name, kind: 'kernel', address, module: hit.tag ? `[${hit.tag}]` : KERNEL_MODULE, resolved: true };
        // A reload above replaced the caches; store into the current one.
        const current = this.kernelFrameCache[i > 0 ? 1 : 0];
        if (current.size >= MAX_CACHED_FRAMES) current.clear();
        current.set(address, out[i]!);
      } else {
        this.misses++;
        out[i] = { name: `${KERNEL_MODULE}+0x${address.toString(16)}`, kind: 'kernel', address, module: KERNEL_MODULE, resolved: false };
      }
    }
    return out;
  }

  private tryLoadKernel(): void {
    try {
      this.loadKernelSymbols();
    } catch {
      // kernelError records why; frames become placeholders.
    }
  }

  // ---------------------------------------------------------------- user

  /**
   * User addresses of process pid, leaf first → frames. Non-leaf addresses are return
   * addresses: addr-1 is looked up (like perf) but the original address is reported.
   * Never throws; a process that is gone yields placeholders.
   */
  userFrames(pid: number, addrs: readonly bigint[]): Frame[] {
    try {
      return this.userFramesUnsafe(pid, addrs);
    } catch {
      // Nothing below should throw; if something does, this process's stack loses its names,
      // counted, and the batch goes on.
      countFailure('callback-error');
      return addrs.map((address) => ({ name: UNKNOWN, kind: 'unknown' as const, address, module: UNKNOWN, resolved: false }));
    }
  }

  private userFramesUnsafe(pid: number, addrs: readonly bigint[]): Frame[] {
    let state = this.processes.get(pid);
    if (!state) {
      state = this.readProcess(pid);
      this.processes.set(pid, state);
    }
    const out: Frame[] = new Array(addrs.length);
    let perfMapRefreshed = false;
    this.nowSecond = Math.floor(Date.now() / 1000);
    for (let i = 0; i < addrs.length; i++) {
      const address = addrs[i]!;
      const probe = i > 0 && address > 0n ? address - 1n : address;
      let idx = findIndex(state, Number(probe));
      if (idx < 0 && this.mayRereadMaps(state)) {
        // New mmap (dlopen, JIT) since we last looked: re-read once.
        const backoff = state.rereadBackoffMs;
        const fresh = this.readProcess(pid);
        if (!fresh.gone) {
          state = fresh;
          this.processes.set(pid, state);
        } else {
          state.gone = true;
          state.lastMapsReadMs = Date.now();
        }
        idx = findIndex(state, Number(probe));
        state.rereadBackoffMs = nextRereadWait(idx >= 0, backoff, this.mapsRereadIntervalMs, MAX_MAPS_REREAD_BACKOFF_MS);
      }
      if (idx < 0) {
        this.misses++;
        out[i] = { name: UNKNOWN, kind: 'unknown', address, module: UNKNOWN, resolved: false };
        continue;
      }
      const ms = state.mappings[idx]!;
      if (ms.map.path === '' || (ms.map.path.startsWith('[') && ms.map.path !== '[vdso]')) {
        // Anonymous executable memory: JIT code, named by the perf map if any.
        // A JIT may create its map after we first looked: retry a missing one now and then.
        if (state.perfMap === undefined || (state.perfMap === null && Date.now() - (state.perfMapCheckedMs ?? 0) >= PERF_MAP_RETRY_MS)) {
          state.perfMapCheckedMs = Date.now();
          state.perfMap = this.openPerfMap(pid, state);
        }
        let jit = state.perfMap?.lookup(probe);
        if (!jit && state.perfMap && !perfMapRefreshed) {
          // The map file grows as the JIT compiles; read what was appended.
          perfMapRefreshed = true;
          state.perfMap.refresh();
          jit = state.perfMap.lookup(probe);
        }
        if (jit) {
          out[i] = { name: jit.name, kind: jit.kind, address, module: 'perf-map', file: jit.file, line: jit.line, resolved: true };
        } else {
          this.misses++;
          out[i] = { name: UNKNOWN, kind: 'unknown', address, module: ms.map.path || '[anon]', resolved: false };
        }
        continue;
      }
      const key = i > 0 ? Number(address) : -Number(address);
      // Frames of a file the LRU dropped go with it: the byte bound covers them too.
      if (ms.frames && ms.syms?.evicted) ms.frames = undefined;
      const cached = ms.frames?.get(key) ?? ms.pendingFrames?.get(key);
      if (cached) {
        out[i] = cached;
        this.touch(ms);
        continue;
      }
      const frame = this.fileFrame(pid, state, ms, address, probe, key);
      // Placeholders are not kept: the file may become readable, or its symbols reload.
      if (frame.resolved) {
        ms.frames ??= new Map();
        if (ms.frames.size >= MAX_CACHED_FRAMES) ms.frames.clear();
        ms.frames.set(key, frame);
      }
      out[i] = frame;
    }
    return out;
  }

  /** Keeps a file in use recent in the LRU, paying the Map reorder once a second, not per frame. */
  private touch(ms: MappingState): void {
    if (ms.touchedSecond !== this.nowSecond && ms.fileKey !== undefined) {
      ms.touchedSecond = this.nowSecond;
      this.files.get(ms.fileKey);
    }
  }

  private fileFrame(pid: number, state: ProcessState, ms: MappingState, address: bigint, probe: bigint, key: number): Frame {
    const fileOffset = Number(probe) - ms.startNum + ms.fileOffsetNum;
    let syms: ElfSymbols | undefined;
    if (ms.syms && !ms.syms.evicted) {
      syms = ms.syms;
      this.touch(ms);
    } else {
      syms = this.symbolsFor(pid, state, ms);
    }
    const named = syms ? this.nameIn(ms, syms, fileOffset) : undefined;
    if (named) return { name: named.name, kind: 'native', address, module: ms.module, mapping: ms.info, resolved: named.final };
    this.misses++;
    // Offset of the probed byte, so addr2line on the unstripped file names the caller.
    const frame: Frame = { name: `${ms.module}+0x${fileOffset.toString(16)}`, kind: 'native', address, module: ms.module, mapping: ms.info, resolved: false };
    // Loading: the same object is handed out for this address until the table lands and names it.
    if (ms.loading) {
      ms.pendingFrames ??= new Map();
      if (ms.pendingFrames.size < MAX_CACHED_FRAMES) ms.pendingFrames.set(key, frame);
    }
    return frame;
  }

  /** The symbol at a file offset of a mapping, if its table has one. */
  private nameIn(ms: MappingState, syms: ElfSymbols, fileOffset: number): { name: string; final: boolean } | undefined {
    if (!ms.loads) return undefined;
    const vaddr = fileOffsetToVaddr(ms.loads, fileOffset);
    if (vaddr === undefined) return undefined;
    const t = syms.table;
    const j = t.indexOf(vaddr - Number(t.base));
    // A name still being demangled is handed out mangled but not cached as final: the
    // stack cache asks again shortly and then gets the demangled one.
    return j >= 0 ? t.nameAtFinal(j) : undefined;
  }

  private mayRereadMaps(state: ProcessState): boolean {
    // A pid whose maps could not be read is retried too (pid reuse, a transient
    // error), but at most once a second: most such pids have simply exited.
    const intervalMs = state.gone ? Math.max(1000, state.rereadBackoffMs) : state.rereadBackoffMs;
    return Date.now() - state.lastMapsReadMs >= intervalMs;
  }

  private readProcess(pid: number): ProcessState {
    this.mapsReads++;
    const now = Date.now();
    let text: string;
    try {
      // procfs, but the text is the workload's (its paths, its mapping count): bounded read.
      text = readWorkloadFile(`${this.procRoot}/${pid}/maps`, 'proc', { count: false }).toString('latin1');
    } catch {
      return {
        mappings: [],
        starts: new Float64Array(0),
        ends: new Float64Array(0),
        lastMapsReadMs: now,
        rereadBackoffMs: this.mapsRereadIntervalMs,
        gone: true,
      };
    }
    const mappings: MappingState[] = [];
    for (const map of parseProcMaps(text).mappings) {
      // Only executable mappings hold code; skipping the rest keeps searches short.
      if (map.perms[2] !== 'x') continue;
      const module = map.path === '' ? '[anon]' : map.path.startsWith('[') ? map.path : basename(map.path);
      const info: MappingInfo = { path: map.path, start: map.start, end: map.end, fileOffset: map.fileOffset };
      mappings.push({ map, info, module, resolved: false, startNum: Number(map.start), fileOffsetNum: Number(map.fileOffset) });
    }
    return {
      mappings,
      starts: Float64Array.from(mappings, (m) => Number(m.map.start)),
      ends: Float64Array.from(mappings, (m) => Number(m.map.end)),
      lastMapsReadMs: now,
      rereadBackoffMs: this.mapsRereadIntervalMs,
      gone: false,
    };
  }

  /**
   * Where to read a mapped file from, best first: its path inside the process's root (never
   * following a link out of it), else the kernel's own link to the mapped file.
   */
  private openPaths(pid: number, map: ProcMapping): Array<{ root?: string; path: string }> {
    const mapFiles = { path: `${this.procRoot}/${pid}/map_files/${map.start.toString(16)}-${map.end.toString(16)}` };
    if (map.deleted || !map.path.startsWith('/')) return [mapFiles];
    return [{ root: processRoot(pid, this.procRoot), path: this.inRootPath(pid, map.path) }, mapFiles];
  }

  /**
   * A mapping's path as the process itself names it. /proc/PID/maps prints paths relative to the
   * reader's root, so a chrooted process's /bin/a reads as /<its root on the host>/bin/a; resolved
   * inside its root that path does not exist, and a debug link looked up beside it would be searched
   * on the host (where the workload's absolute symlinks point wherever it likes).
   */
  private inRootPath(pid: number, path: string): string {
    let root: string;
    try {
      root = readlinkSync(processRoot(pid, this.procRoot));
    } catch {
      return path;
    }
    if (root === '/' || !root.startsWith('/')) return path;
    const prefix = root.replace(/\/+$/, '');
    return path.startsWith(prefix + '/') ? path.slice(prefix.length) : path;
  }

  private symbolsFor(pid: number, state: ProcessState, ms: MappingState): ElfSymbols | undefined {
    if (ms.loading) return undefined;
    if (ms.resolved) {
      if (!ms.fileKey) return undefined;
      const cached = this.files.get(ms.fileKey);
      if (cached) {
        ms.syms = cached;
        return cached;
      }
    }
    ms.resolved = true;
    const t0 = Date.now();
    try {
      if (ms.map.path === '[vdso]') return this.vdsoSymbols(pid, ms);
      for (const where of this.openPaths(pid, ms.map)) {
        let f: WorkloadFile;
        try {
          f = openWorkloadFile(where.path, 'elf', { root: where.root, count: false });
        } catch (err) {
          const reason = err instanceof WorkloadFileError ? err.reason : 'io';
          // Missing at one place is normal (the next candidate may have it); the rest is counted.
          if (reason !== 'not-found') countFailure(reason);
          continue;
        }
        try {
          // A path that now names another file (upgraded package) is not what is mapped.
          if (ms.map.inode !== 0 && f.ino !== ms.map.inode && where.root !== undefined) continue;
          const statKey = `${f.dev}:${f.ino}:${f.mtimeMs}`;
          const known = this.statKeys.get(statKey);
          const cached = known ? this.files.get(known) : undefined;
          if (cached) return this.attach(ms, known!, where.path, cached);
          const running = this.loading.get(statKey);
          if (running) {
            running.waiters.push({ ms, openPath: where.path });
            ms.loading = running;
            return undefined;
          }
          // Opened now, at first sight, not deferred: a short-lived process (a job, a request
          // handler that forks) is often gone a moment later, and its files with it. The fds
          // keep the binary and the process's root readable for the worker after it exits.
          this.startLoad(pid, ms, f, where.path, statKey);
          return undefined;
        } finally {
          f.close();
        }
      }
      return undefined;
    } finally {
      this.loadMs += Date.now() - t0;
    }
  }

  private startLoad(pid: number, ms: MappingState, f: WorkloadFile, openPath: string, statKey: string): void {
    const load: PendingLoad = { statKey, waiters: [{ ms, openPath }], startedMs: Date.now() };
    this.loading.set(statKey, load);
    ms.loading = load;
    const rootDisplay = processRoot(pid, this.procRoot);
    const rootFd = openProcessRootDir(pid, this.procRoot);
    this.fileLoads++;
    const accepted = loadSymbols(
      {
        fd: f.detach(),
        name: f.name,
        ...(rootFd !== undefined && { rootFd }),
        root: rootDisplay,
        rootDisplay,
        // Debug links are always searched inside the process's root, even when the binary itself
        // was read through map_files: a path beside it on the host is the workload's to choose.
        logicalPath: this.inRootPath(pid, ms.map.path),
        binaryId: `${f.dev}:${f.ino}`,
        size: f.size,
        debugDirs: [...this.debugDirs],
      },
      (outcome) => this.landed(load, outcome),
    );
    if (!accepted) {
      // The worker's queue is full: not started, and tried again at this mapping's next sample.
      countFailure('busy');
      this.loading.delete(statKey);
      ms.loading = undefined;
      ms.resolved = false;
    }
  }

  /** A load finished: the table is cached, and every frame handed out while it ran is named. */
  private landed(load: PendingLoad, outcome: LoadOutcome): void {
    const t0 = Date.now();
    if (this.loading.get(load.statKey) === load) this.loading.delete(load.statKey);
    let key: string | undefined;
    if (outcome.ok) {
      // Keyed by the file itself, not by its build id alone: a build id is bytes the workload
      // chose, and a binary claiming libc's build id must not lend its names to every libc.
      key = outcome.syms.buildId ? `build-id:${outcome.syms.buildId}:${load.statKey}` : `stat:${load.statKey}`;
      this.statKeys.set(load.statKey, key);
      this.trimStatKeys();
      this.files.set(key, outcome.syms, outcome.syms.table.approxBytes());
    } else {
      // Not ELF, truncated, out of bounds, vanished mid-read, or past its time: placeholders stay.
      countFailure(outcome.reason);
    }
    for (const { ms, openPath } of load.waiters) {
      if (ms.loading !== load) continue;
      ms.loading = undefined;
      const pending = ms.pendingFrames;
      ms.pendingFrames = undefined;
      if (!outcome.ok || key === undefined) continue;
      this.attach(ms, key, openPath, outcome.syms);
      if (pending) this.rename(ms, outcome.syms, pending);
    }
    this.loadMs += Date.now() - t0;
  }

  /** Names, in place, the placeholders a mapping handed out while its file was loading. */
  private rename(ms: MappingState, syms: ElfSymbols, pending: Map<number, Frame>): void {
    for (const [key, frame] of pending) {
      // Non-leaf frames (key > 0) hold return addresses: the call is the byte before.
      const probe = key > 0 && frame.address > 0n ? frame.address - 1n : frame.address;
      const named = this.nameIn(ms, syms, Number(probe) - ms.startNum + ms.fileOffsetNum);
      if (!named) continue;
      frame.name = named.name;
      frame.resolved = named.final;
      this.renamedFrames++;
      this.misses--;
      if (named.final) {
        ms.frames ??= new Map();
        if (ms.frames.size >= MAX_CACHED_FRAMES) ms.frames.clear();
        ms.frames.set(key, frame);
      }
    }
  }

  /** Resolves once every symbol load queued so far has landed (or after `waitMs`). */
  settled(waitMs?: number): Promise<void> {
    return loadsSettled(waitMs);
  }

  private attach(ms: MappingState, key: string, openPath: string, syms: ElfSymbols): ElfSymbols {
    ms.fileKey = key;
    ms.syms = syms;
    ms.openPath = openPath;
    ms.loads = syms.loads;
    if (syms.buildId) ms.info.buildId = syms.buildId;
    return syms;
  }

  /** The stat index only saves work; bound it to a multiple of the file cache. */
  private trimStatKeys(): void {
    if (this.statKeys.size <= 4 * 4096) return;
    const drop = this.statKeys.size - 2 * 4096;
    let n = 0;
    for (const k of this.statKeys.keys()) {
      if (n++ >= drop) break;
      this.statKeys.delete(k);
    }
  }

  /** The vDSO is not a file: read its image from the process's memory. */
  private vdsoSymbols(pid: number, ms: MappingState): ElfSymbols | undefined {
    const size = Number(ms.map.end - ms.map.start);
    if (size <= 0 || size > 1 << 20) return undefined;
    let fd: number | undefined;
    try {
      fd = openSync(`${this.procRoot}/${pid}/mem`, 'r');
      const buf = Buffer.alloc(size);
      const n = readSync(fd, buf, 0, size, ms.map.start);
      const src = bufferSource('[vdso]', buf.subarray(0, n));
      const headers = readElfHeaders(src);
      const key = `vdso:${headers.buildId ?? pid}`;
      const cached = this.files.get(key);
      if (cached) return this.attach(ms, key, '', cached);
      this.fileLoads++;
      const syms = readElfSymbolsFrom(src, headers);
      this.files.set(key, syms, syms.table.approxBytes());
      return this.attach(ms, key, '', syms);
    } catch {
      return undefined;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  private openPerfMap(pid: number, state: ProcessState): PerfMap | null {
    // The JIT writes /tmp/perf-<its own pid>.map in its own root: read it there and only there
    // (a host /tmp/perf-PID.map of the same number may belong to someone else).
    const status = this.processStatus(pid);
    // Read once per process: a map retried every PERF_MAP_RETRY_MS does not re-read /proc.
    if (state.startMs === undefined) state.startMs = this.processStartMs(pid) ?? null;
    const processStartMs = state.startMs ?? undefined;
    const pm = new PerfMap(`/tmp/perf-${status.nsPid}.map`, {
      root: processRoot(pid, this.procRoot),
      ownerUids: status.uids,
      ...(processStartMs !== undefined && { processStartMs }),
    });
    return pm.refresh() ? pm : null;
  }

  /**
   * Unix ms a process started: /proc/PID/stat's starttime (clock ticks since boot; USER_HZ is 100
   * on Linux) on the agent's one clock. starttime counts suspended time and CLOCK_MONOTONIC does
   * not; on a host that never suspends they agree, and PERF_MAP_BOUNDS.staleSlackMs absorbs the
   * rest. Undefined when unreadable.
   */
  private processStartMs(pid: number): number | undefined {
    try {
      const stat = readWorkloadFile(`${this.procRoot}/${pid}/stat`, 'proc', { count: false }).toString('latin1');
      // comm (field 2) may hold spaces and parentheses: fields are counted after its last ')'.
      const ticks = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]; // field 22, starttime
      if (ticks === undefined || !/^\d+$/.test(ticks)) return undefined;
      return Number(hostClock.toUnixNs(BigInt(ticks) * 10_000_000n) / 1_000_000n);
    } catch {
      return undefined;
    }
  }

  /** The pid a process knows itself by, and its uids (a perf map must be owned by one or root). */
  private processStatus(pid: number): { nsPid: number; uids: number[] } {
    try {
      const status = readWorkloadFile(`${this.procRoot}/${pid}/status`, 'proc', { count: false }).toString('latin1');
      const m = /^NSpid:\s*([\d\s]+)$/m.exec(status);
      const ids = m?.[1]!.trim().split(/\s+/).map(Number);
      const u = /^Uid:\s*([\d\s]+)$/m.exec(status);
      const uids = u ? u[1]!.trim().split(/\s+/).map(Number) : [];
      return { nsPid: ids && ids.length > 0 ? ids[ids.length - 1]! : pid, uids };
    } catch {
      return { nsPid: pid, uids: [] };
    }
  }

  // ---------------------------------------------------------------- misc

  /**
   * GNU build id of a process's main binary, if readable. Read through /proc/PID/exe: works for
   * deleted binaries and other mount namespaces. Its path is the process table's (readProcessInfo).
   */
  executableBuildId(pid: number): string | undefined {
    try {
      // Kernel threads and exited processes have no exe: not a failure worth counting.
      const src = fileSource(`${this.procRoot}/${pid}/exe`, { count: false });
      try {
        return readElfHeaders(src).buildId;
      } finally {
        src.close();
      }
    } catch (err) {
      if (err instanceof ElfFormatError) countFailure('parse');
      else if (err instanceof WorkloadFileError && err.reason !== 'not-found') countFailure(err.reason);
      return undefined;
    }
  }

  forgetProcess(pid: number): void {
    this.processes.delete(pid);
  }

  stats(): SymbolizerStats {
    return {
      cachedFiles: this.files.size,
      cachedProcesses: this.processes.size,
      misses: this.misses,
      fileLoads: this.fileLoads,
      loadMs: this.loadMs,
      pendingLoads: pendingLoads(),
      renamedFrames: this.renamedFrames,
      mapsReads: this.mapsReads,
      cachedFileBytes: this.files.bytes,
      kernelSymbols: this.kernel?.size ?? 0,
      kernelError: this.kernelError,
    };
  }
}
