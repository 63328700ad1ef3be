/**
 * JIT symbol maps (/tmp/perf-PID.map), as written by `node --perf-basic-prof`, the
 * JVM's perf-map-agent and others: one `START SIZE name` line per code object, hex
 * without 0x. The file only grows while the process runs, so it is read
 * incrementally: on a lookup miss, only the bytes appended since the last read.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
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

export function parsePerfMapLine(line: string): PerfMapEntry | undefined {
  const sp1 = line.indexOf(' ');
  const sp2 = sp1 < 0 ? -1 : line.indexOf(' ', sp1 + 1);
  if (sp1 <= 0 || sp2 <= sp1 + 1) return undefined;
  const startHex = line.slice(0, sp1);
  const sizeHex = line.slice(sp1 + 1, sp2);
  if (!/^(0x)?[0-9a-fA-F]+$/.test(startHex) || !/^(0x)?[0-9a-fA-F]+$/.test(sizeHex)) return undefined;
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

/** Bytes of a perf map read per call; the rest is picked up by the next miss. */
const MAX_READ_BYTES = 64 * 1024 * 1024;

/** One process's perf map, read incrementally and searched by address. */
export class PerfMap {
  private entries: PerfMapEntry[] = [];
  private sorted: number[] = [];
  private bytesRead = 0;
  private partialLine = '';
  private readonly classified = new Map<string, JitSymbol>();
  malformedLines = 0;

  constructor(readonly path: string) {}

  /** Reads lines appended since the last call. Returns false when the file is unreadable. */
  refresh(): boolean {
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch {
      return false;
    }
    try {
      const size = fstatSync(fd).size;
      if (size < this.bytesRead) {
        // Truncated or replaced (pid reuse): start over.
        this.entries = [];
        this.bytesRead = 0;
        this.partialLine = '';
      }
      if (size === this.bytesRead) return true;
      const length = Math.min(size - this.bytesRead, MAX_READ_BYTES);
      const buf = Buffer.allocUnsafe(length);
      const n = readSync(fd, buf, 0, length, this.bytesRead);
      this.bytesRead += n;
      const text = this.partialLine + buf.toString('utf8', 0, n);
      const lines = text.split('\n');
      this.partialLine = lines.pop() ?? '';
      for (const line of lines) {
        if (line.length === 0) continue;
        const e = parsePerfMapLine(line);
        if (!e) {
          this.malformedLines++;
          continue;
        }
        this.entries.push(e);
      }
      // Later lines win over earlier ones for the same code range (code gets moved
      // and its memory reused), so the sort keeps file order as a tie-break.
      this.sorted = this.entries
        .map((_, i) => i)
        .sort((a, b) => {
          const x = this.entries[a]!.start;
          const y = this.entries[b]!.start;
          return x < y ? -1 : x > y ? 1 : a - b;
        });
      return true;
    } finally {
      closeSync(fd);
    }
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
