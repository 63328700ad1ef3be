/**
 * Kernel symbols from /proc/kallsyms. Needs root (or kptr_restrict=0) for real
 * addresses; with all-zero addresses the table is refused with a clear error.
 */
import { readFileSync } from 'node:fs';
import { SymbolTable, type SymbolInput } from './symbol-table.js';

export class KallsymsError extends Error {
  override name = 'KallsymsError';
}

export interface KallsymsParseResult {
  table: SymbolTable;
  /** Lines that did not parse (counted and skipped). */
  malformedLines: number;
}

/** Text symbols only: code addresses never fall in data symbols. */
const TEXT_TYPES = new Set(['t', 'T', 'w', 'W']);

/**
 * Pure parser over the text of /proc/kallsyms. Given the latin1 `bytes` the text was decoded
 * from, names are copied out of them: a slice of `text` would keep all of it (~10 MB) alive.
 */
export function parseKallsyms(text: string, sourceName = '/proc/kallsyms', bytes?: Buffer): KallsymsParseResult {
  const symbols: SymbolInput[] = [];
  const modules = new Map<string, string>();
  let malformedLines = 0;
  let zeroAddresses = 0;
  let lineStart = 0;
  while (lineStart < text.length) {
    let lineEnd = text.indexOf('\n', lineStart);
    if (lineEnd < 0) lineEnd = text.length;
    const line = text.slice(lineStart, lineEnd);
    const lineOffset = lineStart;
    lineStart = lineEnd + 1;
    if (line.length === 0) continue;
    // "ffffffff816b7430 t do_sys_openat2" or "... t name\t[module]"
    const sp1 = line.indexOf(' ');
    const sp2 = sp1 < 0 ? -1 : line.indexOf(' ', sp1 + 1);
    if (sp1 <= 0 || sp2 !== sp1 + 2) {
      malformedLines++;
      continue;
    }
    const type = line[sp1 + 1]!;
    if (!TEXT_TYPES.has(type)) continue;
    const tab = line.indexOf('\t', sp2 + 1);
    const nameEnd = tab < 0 ? line.length : tab;
    const name = bytes ? bytes.toString('latin1', lineOffset + sp2 + 1, lineOffset + nameEnd) : line.slice(sp2 + 1, nameEnd);
    let module: string | undefined;
    if (tab >= 0) {
      const m = /^\[(.+)\]$/.exec(line.slice(tab + 1).trim());
      module = m ? ownModuleName(modules, m[1]!) : undefined;
    }
    let start: bigint;
    try {
      start = BigInt('0x' + line.slice(0, sp1));
    } catch {
      malformedLines++;
      continue;
    }
    if (name.length === 0) {
      malformedLines++;
      continue;
    }
    if (start === 0n) {
      zeroAddresses++;
      continue;
    }
    symbols.push({ name, start, size: 0, tag: module });
  }
  if (symbols.length === 0 && zeroAddresses > 0) {
    throw new KallsymsError(
      `${sourceName}: every address is 0 (kernel pointer hiding). Fix: run as root, or set kernel.kptr_restrict=0 (sysctl -w kernel.kptr_restrict=0).`,
    );
  }
  // Kernel symbols are C names; skip the demangler.
  return { table: new SymbolTable(symbols, { demangle: false }), malformedLines };
}

/** One flat copy per module name, shared by its symbols (a regex capture is a slice of the text). */
function ownModuleName(modules: Map<string, string>, name: string): string {
  let own = modules.get(name);
  if (own === undefined) {
    own = Buffer.from(name, 'latin1').toString('latin1');
    modules.set(own, own);
  }
  return own;
}

export function readKallsyms(path: string): KallsymsParseResult {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new KallsymsError(`cannot read ${path}: ${(err as Error).message}. Fix: mount procfs and run on Linux.`);
  }
  return parseKallsyms(bytes.toString('latin1'), path, bytes);
}
