/**
 * A sorted, immutable address → name table with binary search. Built once per file
 * (or per kallsyms read); lookups allocate nothing.
 *
 * Addresses are stored as float64 offsets from `base` so kernel addresses (above
 * 2^53) keep full precision without paying for bigint comparisons on every probe.
 */
import { demangle } from './demangle.js';

export interface SymbolInput {
  name: string;
  /** Absolute start address (bigint so kernel addresses are exact). */
  start: bigint;
  /** Size in bytes; 0 = unknown, the symbol then runs to the next one. */
  size: number;
  /** Tie-break among aliases at one address: lower wins. */
  rank?: number;
  /** Optional per-symbol tag (kernel module name). */
  tag?: string;
}

export interface SymbolHit {
  name: string;
  start: bigint;
  tag?: string;
}

/** Unknown-size symbols end at the next symbol, but no further than this. */
const MAX_IMPLICIT_SIZE = 1 << 20;
const LAST_SYMBOL_SIZE = 4096;

export class SymbolTable {
  readonly base: bigint;
  private readonly starts: Float64Array;
  private readonly ends: Float64Array;
  private readonly names: string[];
  private readonly tags: Array<string | undefined>;
  /** Demangled lazily: demangling costs microseconds, most symbols are never hit. */
  private readonly demangled: Array<string | undefined>;

  constructor(symbols: SymbolInput[], opts: { demangle?: boolean } = {}) {
    const sorted = [...symbols].sort((a, b) =>
      a.start < b.start ? -1 : a.start > b.start ? 1 : (a.rank ?? 0) - (b.rank ?? 0) || b.size - a.size,
    );
    // One entry per address: the best-ranked alias.
    const unique: SymbolInput[] = [];
    for (const s of sorted) {
      if (unique.length > 0 && unique[unique.length - 1]!.start === s.start) continue;
      unique.push(s);
    }
    this.base = unique.length > 0 ? unique[0]!.start : 0n;
    const n = unique.length;
    this.starts = new Float64Array(n);
    this.ends = new Float64Array(n);
    this.names = new Array<string>(n);
    this.tags = new Array<string | undefined>(n);
    this.demangled = new Array<string | undefined>(n);
    for (let i = 0; i < n; i++) {
      const s = unique[i]!;
      const start = Number(s.start - this.base);
      this.starts[i] = start;
      this.names[i] = s.name;
      this.tags[i] = s.tag;
      if (s.size > 0) {
        this.ends[i] = start + s.size;
      } else {
        // The last symbol has no successor: assume at most a page.
        const next = i + 1 < n ? Number(unique[i + 1]!.start - this.base) : start + LAST_SYMBOL_SIZE;
        this.ends[i] = Math.min(next, start + MAX_IMPLICIT_SIZE);
      }
    }
    if (opts.demangle === false) this.demangled = this.names.slice();
  }

  get size(): number {
    return this.names.length;
  }

  /** Rough retained size, for byte-bounded caches. */
  approxBytes(): number {
    let nameBytes = 0;
    for (const name of this.names) nameBytes += name.length;
    return this.names.length * (16 + 16) + nameBytes * 2;
  }

  /** The symbol containing `addr`, or undefined. */
  lookup(addr: bigint): SymbolHit | undefined {
    if (addr < this.base) return undefined;
    const i = this.indexOf(Number(addr - this.base));
    if (i < 0) return undefined;
    return { name: this.nameAt(i), start: this.base + BigInt(this.starts[i]!), tag: this.tags[i] };
  }

  /** Lookup by an already-relative offset (hot path for ELF files based at 0). */
  indexOf(offset: number): number {
    const starts = this.starts;
    let lo = 0;
    let hi = starts.length - 1;
    if (hi < 0 || offset < starts[0]!) return -1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    if (offset < this.ends[lo]!) return lo;
    // Nested or overlapping symbols: an earlier, larger symbol may still contain it.
    for (let j = lo - 1; j >= 0 && j >= lo - 8; j--) {
      if (offset < this.ends[j]! && offset >= starts[j]!) return j;
    }
    return -1;
  }

  nameAt(i: number): string {
    let name = this.demangled[i];
    if (name === undefined) {
      name = demangle(this.names[i]!);
      this.demangled[i] = name;
    }
    return name;
  }
}
