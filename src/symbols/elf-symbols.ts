/**
 * Loads what the symbolizer keeps per ELF file: its PT_LOAD segments (to turn file
 * offsets into symbol addresses) and a symbol table merged from .symtab and .dynsym
 * — from a separate debug file when the binary itself is stripped.
 */
import { bufferSource, fileSource, readElfHeaders, readFunctionSymbols, type ByteSource, type ElfHeaders, type ElfSymbol, type LoadSegment } from './elf.js';
import { debugFileName, findDebugFile, type DebugFileQuery } from './debug-file.js';
import { SymbolTable, type SymbolInput } from './symbol-table.js';

export type SymbolSource = 'symtab' | 'debug-file' | 'dynsym' | 'none';

export interface ElfSymbols {
  buildId?: string;
  loads: LoadSegment[];
  table: SymbolTable;
  /** Where the names came from (for diagnostics and tests). */
  source: SymbolSource;
  debugFile?: string;
  /** Set when a cache dropped this table; holders must fetch it again. */
  evicted?: boolean;
}

/** Binding rank: a GLOBAL name beats a WEAK alias beats a LOCAL one at one address. */
const BINDING_RANK: Record<number, number> = { 1: 0, 2: 1, 0: 2 };

function toInputs(symbols: ElfSymbol[]): SymbolInput[] {
  return symbols.map((s) => ({
    // .symtab spells compat versions of a symbol `name@VERSION`; the version is not
    // part of the function's name (and .dynsym keeps it in .gnu.version instead).
    name: stripVersion(s.name),
    start: BigInt(s.value),
    size: s.size,
    // Among aliases prefer the public name: `write` over `__libc_write`.
    rank: (BINDING_RANK[s.binding] ?? 3) * 100 + leadingUnderscores(s.name),
  }));
}

function leadingUnderscores(name: string): number {
  let n = 0;
  while (n < name.length && name.charCodeAt(n) === 95) n++;
  return n;
}

function stripVersion(name: string): string {
  const at = name.indexOf('@');
  return at > 0 ? name.slice(0, at) : name;
}

export function readElfSymbolsFrom(src: ByteSource, headers: ElfHeaders, debug?: Omit<DebugFileQuery, 'headers'>): ElfSymbols {
  let symtab = readFunctionSymbols(src, headers, '.symtab');
  // A full .symtab already holds every .dynsym function; reading both would double
  // the load time of binaries that export everything (node: 74k dynamic symbols).
  const dynsym = symtab.length > 0 ? [] : readFunctionSymbols(src, headers, '.dynsym');
  let source: SymbolSource = symtab.length > 0 ? 'symtab' : dynsym.length > 0 ? 'dynsym' : 'none';
  let debugFile: string | undefined;
  if (symtab.length === 0 && debug) {
    const found = findDebugFile({ ...debug, headers });
    if (found) {
      debugFile = debugFileName(found);
      let dsrc: ByteSource;
      try {
        dsrc = fileSource(found.path, { root: found.root, kind: 'debug-file' });
      } catch {
        dsrc = bufferSource(debugFile, Buffer.alloc(0));
      }
      try {
        symtab = readFunctionSymbols(dsrc, readElfHeaders(dsrc), '.symtab');
        if (symtab.length > 0) source = 'debug-file';
      } catch {
        // A corrupt debug file must not hide the binary's own .dynsym names.
        symtab = [];
      } finally {
        dsrc.close();
      }
    }
  }
  const table = new SymbolTable(toInputs([...symtab, ...dynsym]));
  return { buildId: headers.buildId, loads: headers.loads, table, source, debugFile };
}

/** Convenience for a file the agent names itself (tests, tools): resolved from `/`. */
export function readElfSymbols(path: string, debugDirs: readonly string[] = []): ElfSymbols {
  const src = fileSource(path, { root: '/' });
  try {
    return readElfSymbolsFrom(src, readElfHeaders(src), { root: '/', logicalPath: path, debugDirs });
  } finally {
    src.close();
  }
}

/** Name of the function containing ELF virtual address `vaddr`. */
export function lookupVaddr(syms: ElfSymbols, vaddr: number): string | undefined {
  const i = syms.table.indexOf(vaddr - Number(syms.table.base));
  return i < 0 ? undefined : syms.table.nameAt(i);
}
