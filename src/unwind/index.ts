/**
 * Unwind tables from DWARF CFI (.eh_frame / .debug_frame), compiled for the BPF
 * stack walker in bpf/profile.bpf.c. See table.ts for the row layout.
 */
export { CfaType, RbpType, type UnwindRow, type CfiStats } from './cfi.js';
export { buildTable, buildTableSync, buildTableSteps, findRow, decodeRow, UNWIND_ROW_BYTES, MAX_TABLE_ROWS, type UnwindTable } from './table.js';
export { UnwindFormatError, readElfCfi } from './elf-sections.js';
export { UnwindLoader, executableMappings, type UnwindLoaderOptions, type UnwindLoaderStats, type UnwindMaps } from './loader.js';
