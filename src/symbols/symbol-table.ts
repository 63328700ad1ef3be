/**
 * A sorted, immutable address → name table with binary search. Built once per file
 * (or per kallsyms read); lookups allocate nothing.
 *
 * Addresses are stored as float64 offsets from `base` so kernel addresses (above
 * 2^53) keep full precision without paying for bigint comparisons on every probe.
 */
import { demangleNow } from './demangle.js';

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

/**
 * A built table as plain data: what the loader worker hands the main thread (the typed arrays
 * are transferred, not copied; the one names string is copied once).
 */
export interface SymbolTableData {
  base: bigint;
  starts: Float64Array;
  ends: Float64Array;
  allNames: string;
  nameStarts: Uint32Array;
  tagIds?: Uint16Array;
  tagNames: Array<string | undefined>;
}

/** Unknown-size symbols end at the next symbol, but no further than this. */
const MAX_IMPLICIT_SIZE = 1 << 20;
const LAST_SYMBOL_SIZE = 4096;

export class SymbolTable {
  readonly base: bigint;
  private readonly starts: Float64Array;
  private readonly ends: Float64Array;
  /**
   * Every name in one string, '\0'-separated, with start offsets: two objects instead of one
   * string per symbol (kallsyms and node hold 100k+), so the agent's heap stays small and GC
   * marking has little to walk. nameAt slices out the few names that are ever hit.
   */
  private readonly allNames: string;
  private readonly nameStarts: Uint32Array;
  /** Tag index per symbol (0 = none) into `tagNames`. */
  private readonly tagIds: Uint16Array | undefined;
  private readonly tagNames: Array<string | undefined> = [undefined];
  private readonly demangleNames: boolean;
  /** Names handed out so far, demangled: demangling costs microseconds, most symbols are never hit. */
  private readonly named = new Map<number, string>();

  constructor(symbols: SymbolInput[] | SymbolTableData, opts: { demangle?: boolean } = {}) {
    this.demangleNames = opts.demangle !== false;
    if (!Array.isArray(symbols)) {
      this.base = symbols.base;
      this.starts = symbols.starts;
      this.ends = symbols.ends;
      this.allNames = symbols.allNames;
      this.nameStarts = symbols.nameStarts;
      this.tagIds = symbols.tagIds;
      this.tagNames = symbols.tagNames;
      return;
    }
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
    this.nameStarts = new Uint32Array(n + 1);
    const names = new Array<string>(n);
    const tagIndex = new Map<string, number>();
    let tagIds: Uint16Array | undefined;
    let offset = 0;
    for (let k = 0; k < n; k++) {
      const s = symbols[unique[k]!]!;
      const start = rel[unique[k]!]!;
      this.starts[k] = start;
      names[k] = s.name;
      this.nameStarts[k] = offset;
      offset += s.name.length + 1;
      if (s.tag !== undefined) {
        let t = tagIndex.get(s.tag);
        if (t === undefined) {
          t = this.tagNames.length;
          this.tagNames.push(s.tag);
          tagIndex.set(s.tag, t);
        }
        tagIds ??= new Uint16Array(n);
        tagIds[k] = t;
      }
      if (s.size > 0) {
        this.ends[k] = start + s.size;
      } else {
        // The last symbol has no successor: assume at most a page.
        const next = k + 1 < n ? rel[unique[k + 1]!]! : start + LAST_SYMBOL_SIZE;
        this.ends[k] = Math.min(next, start + MAX_IMPLICIT_SIZE);
      }
    }
    this.nameStarts[n] = offset;
    this.allNames = names.join('\0');
    this.tagIds = tagIds;
  }

  /** The table as plain data (for postMessage), with the buffers to transfer. */
  toData(): { data: SymbolTableData; transfer: ArrayBuffer[] } {
    const data: SymbolTableData = {
      base: this.base,
      starts: this.starts,
      ends: this.ends,
      allNames: this.allNames,
      nameStarts: this.nameStarts,
      tagNames: this.tagNames,
      ...(this.tagIds && { tagIds: this.tagIds }),
    };
    const transfer = [this.starts.buffer, this.ends.buffer, this.nameStarts.buffer, ...(this.tagIds ? [this.tagIds.buffer] : [])] as ArrayBuffer[];
    return { data, transfer };
  }

  get size(): number {
    return this.starts.length;
  }

  /** Rough retained size, for byte-bounded caches. */
  approxBytes(): number {
    return this.starts.length * (8 + 8 + 4) + this.allNames.length * 2;
  }

  /** The symbol containing `addr`, or undefined. */
  lookup(addr: bigint): SymbolHit | undefined {
    if (addr < this.base) return undefined;
    const i = this.indexOf(Number(addr - this.base));
    if (i < 0) return undefined;
    return { name: this.nameAt(i), start: this.base + BigInt(this.starts[i]!), tag: this.tagIds ? this.tagNames[this.tagIds[i]!] : undefined };
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
    return this.nameAtFinal(i).name;
  }

  /**
   * Name of symbol i, and whether it is final: a name that could demangle explosively is
   * demangled off the thread, and until it is, the mangled name is handed out (final: false).
   */
  nameAtFinal(i: number): { name: string; final: boolean } {
    let name = this.named.get(i);
    if (name !== undefined) return { name, final: true };
    const raw = this.allNames.slice(this.nameStarts[i]!, this.nameStarts[i + 1]! - 1);
    if (!this.demangleNames) name = raw;
    else {
      name = demangleNow(raw);
      if (name === undefined) return { name: raw, final: false };
    }
    this.named.set(i, name);
    return { name, final: true };
  }
}
