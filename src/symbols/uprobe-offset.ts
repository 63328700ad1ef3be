import { ElfFormatError, fileSource, readElfHeaders, readFunctionSymbols } from './elf.js';

/**
 * The file offset of function `name` in the ELF at `path`: what a uprobe is
 * attached at (the kernel wants offsets, symbols give virtual addresses; the
 * PT_LOAD segment holding the symbol converts one into the other).
 * Looks in .symtab, then .dynsym. Throws naming the file and symbol when absent.
 */
export function functionFileOffset(path: string, name: string): number {
  const src = fileSource(path);
  try {
    const headers = readElfHeaders(src);
    for (const table of ['.symtab', '.dynsym'] as const) {
      const sym = readFunctionSymbols(src, headers, table).find((s) => s.name === name);
      if (!sym) continue;
      const seg = headers.loads.find((l) => sym.value >= l.vaddr && sym.value < l.vaddr + l.memSize);
      if (!seg) throw new ElfFormatError(path, `${name} at 0x${sym.value.toString(16)} is in no PT_LOAD segment`);
      return sym.value - seg.vaddr + seg.fileOffset;
    }
    throw new Error(`${path} has no function named ${name} (stripped, or a different build?)`);
  } finally {
    src.close();
  }
}
