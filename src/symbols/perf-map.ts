/**
 * JIT symbol maps (/tmp/perf-PID.map), as written by `node --perf-basic-prof`, the
 * JVM's perf-map-agent and others: one `START SIZE name` line per code object, hex
 * without 0x. The file only grows while the process runs, so it is read
 * incrementally: on a lookup miss, only the bytes appended since the last read.
 */
import { fileURLToPath } from 'node:url';
import { countFailure, openWorkloadFile, WorkloadFileError } from '../workload-files/index.js';
import type { FrameKind } from './types.js';

export interface PerfMapEntry {
  start: bigint;
  size: bigint;
  /** Raw name from the map line. */
  rawName: string;
}

export interface JitSymbol {
  name: string;
  kind: FrameKind;
  file?: string;
  line?: number;
}

/**
 * Named bounds of perf-map reading (README "Bounds"). A map is the workload's file: its lines,
 * its growth and its size are all bounded; past a bound the map keeps what it has, counted.
 */
export const PERF_MAP_BOUNDS = {
  /** Bytes of a perf map read in total over the process's life. */
  maxTotalBytes: 64 * 1024 * 1024,
  /** Bytes read by one refresh (one lookup miss): a piece, parsed, then the batch goes on. */
  maxReadBytesPerRefresh: 4 * 1024 * 1024,
  /** Entries kept per process. */
  maxEntries: 250_000,
  /** Characters of one line; longer lines are malformed (a name longer than this is no name). */
  maxLineChars: 4096,
  /** Hex digits of an address or size (64 bits). */
  maxHexDigits: 16,
  /**
   * A map counts as an earlier process's when last written this long before its process started:
   * the start is known to 10 ms (clock ticks since boot), the wall time of boot to ~10 ms, and the
   * wall clock may be stepped by NTP in between.
   */
  staleSlackMs: 2_000,
} as const;

const HEX = /^(0x)?[0-9a-fA-F]{1,16}$/;

export function parsePerfMapLine(line: string): PerfMapEntry | undefined {
  if (line.length > PERF_MAP_BOUNDS.maxLineChars) return undefined;
  const sp1 = line.indexOf(' ');
  const sp2 = sp1 < 0 ? -1 : line.indexOf(' ', sp1 + 1);
  if (sp1 <= 0 || sp2 <= sp1 + 1) return undefined;
  const startHex = line.slice(0, sp1);
  const sizeHex = line.slice(sp1 + 1, sp2);
  if (!HEX.test(startHex) || !HEX.test(sizeHex)) return undefined;
  const rawName = line.slice(sp2 + 1).trimEnd();
  return {
    start: BigInt(startHex.startsWith('0x') ? startHex : '0x' + startHex),
    size: BigInt(sizeHex.startsWith('0x') ? sizeHex : '0x' + sizeHex),
    rawName,
  };
}

/** V8 code-kind prefixes that denote JavaScript functions. */
const JS_PREFIXES = ['JS:', 'LazyCompile:', 'Function:', 'Script:', 'Eval:', 'InterpretedFunction:'];
/** V8 tier markers: ~ interpreted, ^ Sparkplug, + Maglev, * TurboFan. */
const TIER_MARKERS = /^[~^+*]+/;
/** "name file:line[:column]"; the location may be a file:// URL. */
const JS_LOCATION = /^(.*?)\s*(\S+?):(\d+)(?::\d+)?$/;

/**
 * Turns a raw V8 perf-map name (e.g. `JS:*fib file:///x.js:3:10`,
 * `LazyCompile:~fib /x.js:3`) into a clean function name plus file and line.
 * Non-JS entries (builtins, stubs, other JITs) keep their raw name, kind 'native'.
 */
export function classifyJitName(rawName: string): JitSymbol {
  const prefix = JS_PREFIXES.find((p) => rawName.startsWith(p));
  if (!prefix) return { name: rawName, kind: 'native' };
  let rest = rawName.slice(prefix.length).replace(TIER_MARKERS, '').trim();
  let file: string | undefined;
  let line: number | undefined;
  const m = JS_LOCATION.exec(rest);
  if (m && (m[2]!.includes('/') || m[2]!.includes('.') || m[2]!.includes(':'))) {
    rest = m[1]!.trim();
    file = m[2]!;
    if (file.startsWith('file://')) {
      try {
        file = fileURLToPath(file);
      } catch {
        // keep the URL as written
      }
    }
    line = Number(m[3]);
  }
  return { name: rest.length > 0 ? rest : '(anonymous)', kind: 'v8js', file, line };
}

export interface PerfMapOptions {
  /** The process's root: the path is resolved inside it (default `/`). */
  root?: string;
  /** Uids that may own the file besides root (the process's); empty: any owner. */
  ownerUids?: readonly number[];
  /**
   * Unix ms the process started. A map last written before it is an earlier process's of the
   * same pid (pids are reused, and a JIT never removes its map): not read until the process
   * rewrites it. Sub-second precision is not needed (PERF_MAP_BOUNDS.staleSlackMs).
   */
  processStartMs?: number;
}

/** One process's perf map, read incrementally and searched by address. */
export class PerfMap {
  private entries: PerfMapEntry[] = [];
  /** Entry indices sorted by start (file order among equal starts). */
  private sorted: number[] = [];
  private bytesRead = 0;
  private partialLine = '';
  private readonly classified = new Map<string, JitSymbol>();
  private full = false;
  malformedLines = 0;
  /** Why the last refresh failed, if it did (a FailureReason). */
  lastError?: string;

  constructor(
    readonly path: string,
    private readonly opts: PerfMapOptions = {},
  ) {}

  /**
   * Reads (a bounded piece of) what was appended since the last call. Returns false when the
   * file cannot be read as a perf map: missing, not a regular file (a directory or FIFO planted
   * there), a symlink, owned by someone else, or past its bounds on the first read.
   */
  refresh(): boolean {
    let f;
    try {
      // The JIT writes the map itself: a symlink there is someone else's doing.
      f = openWorkloadFile(this.path, 'perf-map', { root: this.opts.root ?? '/', noFollowLast: true, count: false });
    } catch (err) {
      this.lastError = err instanceof WorkloadFileError ? err.reason : 'io';
      if (this.lastError !== 'not-found') countFailure(this.lastError as 'io');
      return false;
    }
    try {
      const owners = this.opts.ownerUids ?? [];
      if (owners.length > 0 && f.uid !== 0 && !owners.includes(f.uid)) {
        // perf itself ignores a map not owned by the process's user or root.
        this.lastError = 'wrong-owner';
        countFailure('wrong-owner');
        return false;
      }
      const started = this.opts.processStartMs;
      if (this.bytesRead === 0 && started !== undefined && f.mtimeMs < started - PERF_MAP_BOUNDS.staleSlackMs) {
        this.lastError = 'stale';
        return false;
      }
      const size = f.size;
      if (size < this.bytesRead) {
        // Truncated or replaced (pid reuse): start over.
        this.entries = [];
        this.sorted = [];
        this.bytesRead = 0;
        this.partialLine = '';
        this.full = false;
      }
      if (size === this.bytesRead || this.full) return true;
      if (this.bytesRead >= PERF_MAP_BOUNDS.maxTotalBytes) {
        this.full = true;
        countFailure('bound');
        return true;
      }
      const length = Math.min(size - this.bytesRead, PERF_MAP_BOUNDS.maxReadBytesPerRefresh, PERF_MAP_BOUNDS.maxTotalBytes - this.bytesRead);
      const buf = f.read(this.bytesRead, length);
      this.bytesRead += buf.length;
      this.parse(buf.toString('utf8'));
      return true;
    } catch (err) {
      this.lastError = err instanceof WorkloadFileError ? err.reason : 'io';
      countFailure(this.lastError as 'io');
      return this.entries.length > 0;
    } finally {
      f.close();
    }
  }

  private parse(chunk: string): void {
    const text = this.partialLine + chunk;
    const lines = text.split('\n');
    this.partialLine = lines.pop() ?? '';
    if (this.partialLine.length > PERF_MAP_BOUNDS.maxLineChars) {
      // A line that never ends is not kept growing.
      this.malformedLines++;
      this.partialLine = '';
    }
    const firstNew = this.entries.length;
    for (const line of lines) {
      if (line.length === 0) continue;
      const e = parsePerfMapLine(line);
      if (!e) {
        this.malformedLines++;
        continue;
      }
      if (this.entries.length >= PERF_MAP_BOUNDS.maxEntries) {
        this.full = true;
        countFailure('bound');
        break;
      }
      this.entries.push(e);
    }
    if (this.entries.length === firstNew) return;
    // Later lines win over earlier ones for the same code range (code gets moved and its
    // memory reused), so order is by start, then file order. New entries are sorted alone and
    // merged in: a refresh costs its own lines, not the whole map again.
    const byStart = (a: number, b: number) => {
      const x = this.entries[a]!.start;
      const y = this.entries[b]!.start;
      return x < y ? -1 : x > y ? 1 : a - b;
    };
    const fresh: number[] = [];
    for (let i = firstNew; i < this.entries.length; i++) fresh.push(i);
    fresh.sort(byStart);
    const merged = new Array<number>(this.sorted.length + fresh.length);
    let i = 0;
    let j = 0;
    let k = 0;
    while (i < this.sorted.length && j < fresh.length) merged[k++] = byStart(this.sorted[i]!, fresh[j]!) <= 0 ? this.sorted[i++]! : fresh[j++]!;
    while (i < this.sorted.length) merged[k++] = this.sorted[i++]!;
    while (j < fresh.length) merged[k++] = fresh[j++]!;
    this.sorted = merged;
  }

  get size(): number {
    return this.entries.length;
  }

  lookup(addr: bigint): JitSymbol | undefined {
    const order = this.sorted;
    let lo = 0;
    let hi = order.length - 1;
    if (hi < 0 || addr < this.entries[order[0]!]!.start) return undefined;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.entries[order[mid]!]!.start <= addr) lo = mid;
      else hi = mid - 1;
    }
    // Among the few entries that may contain addr, the latest written wins.
    let best = -1;
    for (let j = lo; j >= 0 && j >= lo - 16; j--) {
      const idx = order[j]!;
      const e = this.entries[idx]!;
      if (addr >= e.start && addr < e.start + e.size && idx > best) best = idx;
    }
    if (best < 0) return undefined;
    const raw = this.entries[best]!.rawName;
    let sym = this.classified.get(raw);
    if (!sym) {
      sym = classifyJitName(raw);
      this.classified.set(raw, sym);
    }
    return sym;
  }
}
