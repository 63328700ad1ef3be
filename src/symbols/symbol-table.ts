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
    // Sort on float64 offsets from the lowest address: bigint comparisons would
    // dominate the load time of large tables (node's 78k symbols).
    let base = symbols.length > 0 ? symbols[0]!.start : 0n;
    for (const s of symbols) if (s.start < base) base = s.start;
    const rel = Float64Array.from(symbols, (s) => Number(s.start - base));
    const order = Array.from(symbols.keys()).sort(
      (a, b) => rel[a]! - rel[b]! || (symbols[a]!.rank ?? 0) - (symbols[b]!.rank ?? 0) || symbols[b]!.size - symbols[a]!.size,
    );
    // One entry per address: the best-ranked alias.
    const unique: number[] = [];
    for (const i of order) {
      if (unique.length > 0 && rel[i] === rel[unique[unique.length - 1]!]) continue;
      unique.push(i);
    }
    this.base = base;
    const n = unique.length;
    this.starts = new Float64Array(n);
    this.ends = new Float64Array(n);
    this.names = new Array<string>(n);
    this.tags = new Array<string | undefined>(n);
    this.demangled = new Array<string | undefined>(n);
    for (let k = 0; k < n; k++) {
      const s = symbols[unique[k]!]!;
      const start = rel[unique[k]!]!;
      this.starts[k] = start;
      this.names[k] = s.name;
      this.tags[k] = s.tag;
      if (s.size > 0) {
        this.ends[k] = start + s.size;
      } else {
        // The last symbol has no successor: assume at most a page.
        const next = k + 1 < n ? rel[unique[k + 1]!]! : start + LAST_SYMBOL_SIZE;
        this.ends[k] = Math.min(next, start + MAX_IMPLICIT_SIZE);
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
