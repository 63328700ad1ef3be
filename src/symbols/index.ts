/**
 * On-node symbolizer: kernel frames from /proc/kallsyms, user frames from ELF
 * symbol tables (with separate debug info), JIT frames from perf maps.
 */
export { Symbolizer, type SymbolizerOptions, type SymbolizerStats } from './symbolizer.js';
export { ElfFormatError } from './elf.js';
export { KallsymsError } from './kallsyms.js';
export { demangle } from './demangle.js';
export * from './types.js';
export { functionFileOffset } from './uprobe-offset.js';
