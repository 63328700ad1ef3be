/**
 * Minimal ELF reader: just the headers, program headers, symbol tables and notes a
 * symbolizer needs. 64-bit little-endian only (x86_64, aarch64); anything else is
 * rejected with an ElfFormatError naming what was found.
 *
 * Reads through a `ByteSource` so the same code parses files (only the byte ranges
 * it needs, never the whole file) and in-memory images such as a process's [vdso].
 */
import { openWorkloadFile, countFailure, type FileKind, type OpenOptions } from '../workload-files/index.js';

export class ElfFormatError extends Error {
  constructor(
    readonly source: string,
    detail: string,
  ) {
    super(`${source}: not a supported ELF file: ${detail}`);
    this.name = 'ElfFormatError';
  }
}

/** Random-access reader over a file or buffer. */
export interface ByteSource {
  readonly name: string;
  /** Bytes in the file or buffer: no read is ever allocated past it. */
  readonly size: number;
  /** Reads up to `length` bytes at `offset`; may return fewer at end of data. */
  read(offset: number, length: number): Buffer;
  close(): void;
}

/**
 * A workload's ELF through the safe reader (src/workload-files): resolved in `opts.root`,
 * regular files only, reads capped by the kind's budget. Throws WorkloadFileError.
 */
export function fileSource(path: string, opts: OpenOptions & { kind?: FileKind } = {}): FileByteSource {
  const f = openWorkloadFile(path, opts.kind ?? 'elf', opts);
  return { name: f.name, size: f.size, dev: f.dev, ino: f.ino, mtimeMs: f.mtimeMs, read: (offset, length) => f.read(offset, length), close: () => f.close() };
}

/** A ByteSource over an open file, with the identity fstat gave it. */
export interface FileByteSource extends ByteSource {
  readonly dev: number;
  readonly ino: number;
  readonly mtimeMs: number;
}

export function bufferSource(name: string, data: Buffer): ByteSource {
  return {
    name,
    size: data.length,
    read: (offset, length) => data.subarray(offset, offset + length),
    close() {},
  };
}

/** Constants from the ELF specification (elf.h). */
export const ElfConst = {
  PT_LOAD: 1,
  PT_NOTE: 4,
  SHT_SYMTAB: 2,
  SHT_NOTE: 7,
  SHT_NOBITS: 8,
  SHT_DYNSYM: 11,
  STT_FUNC: 2,
  STT_GNU_IFUNC: 10,
  NT_GNU_BUILD_ID: 3,
  ET_EXEC: 2,
  ET_DYN: 3,
} as const;

export interface LoadSegment {
  fileOffset: number;
  vaddr: number;
  fileSize: number;
  memSize: number;
  executable: boolean;
}

export interface SectionHeader {
  name: string;
  type: number;
  flags: number;
  addr: number;
  offset: number;
  size: number;
  link: number;
  entSize: number;
}

export interface ElfSymbol {
  name: string;
  /** Virtual address (st_value). */
  value: number;
  size: number;
  /** STB_LOCAL=0, STB_GLOBAL=1, STB_WEAK=2. */
  binding: number;
}

export interface ElfHeaders {
  type: number;
  machine: number;
  loads: LoadSegment[];
  sections: SectionHeader[];
  buildId?: string;
  debugLink?: { fileName: string; crc32: number };
}

/**
 * Named bounds of ELF parsing (README "Bounds"). Everything an ELF claims (counts, offsets,
 * sizes) is checked against them and against the file's size before anything is allocated;
 * hitting one costs the file its names (ElfFormatError, counted 'parse') or, for the per-file
 * symbol bounds, the names past the bound (counted 'bound').
 */
export const ELF_BOUNDS = {
  /** Program headers per file (real binaries: about 10). */
  maxProgramHeaders: 4096,
  /** Section headers per file (extended numbering allows 2^32). */
  maxSections: 1 << 17,
  /** .shstrtab bytes. */
  maxSectionNameBytes: 4 * 1024 * 1024,
  /** Bytes of one note area searched for the build id. */
  maxNoteBytes: 1 << 20,
  /** .symtab/.dynsym bytes read (24 bytes a symbol: 2.8 M symbols). */
  maxSymtabBytes: 64 * 1024 * 1024,
  /** Symbol entries read per chunk, so no single allocation holds the whole table. */
  symtabChunkEntries: 1 << 16,
  /** .strtab/.dynstr bytes (one buffer, dropped after the table is built). */
  maxStrtabBytes: 64 * 1024 * 1024,
  /** Function symbols kept per file. */
  maxSymbolsPerFile: 1_000_000,
  /** Bytes of one symbol name (longer ones are cut: a name never costs more than this). */
  maxSymbolNameBytes: 4096,
  /** Name bytes kept per file, all names together. */
  maxNameBytesPerFile: 48 * 1024 * 1024,
  /** .gnu_debuglink section bytes (a file name and a CRC). */
  maxDebugLinkBytes: 4096,
} as const;

function u64(buf: Buffer, off: number): number {
  // Offsets and user-space addresses are far below 2^53; kernel-half values lose
  // precision, but no user ELF the symbolizer reads places code there. Values past the
  // file size are rejected where they are used.
  return Number(buf.readBigUInt64LE(off));
}

/** `n` rounded up to a multiple of 4 without 32-bit wrap-around (JS `&` is 32-bit). */
function align4(n: number): number {
  return Math.ceil(n / 4) * 4;
}

function readExact(src: ByteSource, offset: number, length: number, what: string, maxBytes: number): Buffer {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new ElfFormatError(src.name, `${what} at a bad range (${offset}+${length})`);
  }
  if (length > maxBytes) throw new ElfFormatError(src.name, `${what} claims ${length} bytes (bound ${maxBytes})`);
  if (offset + length > src.size) throw new ElfFormatError(src.name, `${what} truncated: ends past the file (${offset}+${length} > ${src.size})`);
  const buf = src.read(offset, length);
  if (buf.length !== length) throw new ElfFormatError(src.name, `${what} truncated (wanted ${length} bytes at ${offset}, got ${buf.length})`);
  return buf;
}

/** Parses the ELF header, program headers, section headers, build id and debuglink. */
export function readElfHeaders(src: ByteSource): ElfHeaders {
  const eh = src.read(0, 64);
  if (eh.length < 16 || eh[0] !== 0x7f || eh[1] !== 0x45 || eh[2] !== 0x4c || eh[3] !== 0x46) {
    throw new ElfFormatError(src.name, 'bad magic (expected \\x7fELF)');
  }
  if (eh[4] !== 2) throw new ElfFormatError(src.name, `ELF class ${eh[4]} (only 64-bit, class 2, is supported)`);
  if (eh[5] !== 1) throw new ElfFormatError(src.name, `data encoding ${eh[5]} (only little endian, 1, is supported)`);
  if (eh.length < 64) throw new ElfFormatError(src.name, 'ELF header truncated');
  const type = eh.readUInt16LE(16);
  const machine = eh.readUInt16LE(18);
  const phoff = u64(eh, 32);
  const shoff = u64(eh, 40);
  const phentsize = eh.readUInt16LE(54);
  let phnum = eh.readUInt16LE(56);
  const shentsize = eh.readUInt16LE(58);
  let shnum = eh.readUInt16LE(60);
  let shstrndx = eh.readUInt16LE(62);

  // Extended numbering: counts that do not fit 16 bits live in section header 0.
  if (shoff !== 0 && (shnum === 0 || shstrndx === 0xffff || phnum === 0xffff)) {
    const sh0 = readExact(src, shoff, 64, 'section header 0', 64);
    if (shnum === 0) shnum = u64(sh0, 32);
    if (shstrndx === 0xffff) shstrndx = sh0.readUInt32LE(40);
    if (phnum === 0xffff) phnum = sh0.readUInt32LE(44);
  }

  const loads: LoadSegment[] = [];
  const noteSegments: Array<{ offset: number; size: number }> = [];
  if (phoff !== 0 && phnum > 0) {
    if (phentsize < 56) throw new ElfFormatError(src.name, `program header size ${phentsize} < 56`);
    if (phnum > ELF_BOUNDS.maxProgramHeaders) throw new ElfFormatError(src.name, `${phnum} program headers (bound ${ELF_BOUNDS.maxProgramHeaders})`);
    const ph = readExact(src, phoff, phnum * phentsize, 'program headers', ELF_BOUNDS.maxProgramHeaders * 0xffff);
    for (let i = 0; i < phnum; i++) {
      const o = i * phentsize;
      const pType = ph.readUInt32LE(o);
      const flags = ph.readUInt32LE(o + 4);
      if (pType === ElfConst.PT_LOAD) {
        loads.push({
          fileOffset: u64(ph, o + 8),
          vaddr: u64(ph, o + 16),
          fileSize: u64(ph, o + 32),
          memSize: u64(ph, o + 40),
          executable: (flags & 1) !== 0,
        });
      } else if (pType === ElfConst.PT_NOTE) {
        noteSegments.push({ offset: u64(ph, o + 8), size: u64(ph, o + 32) });
      }
    }
  }

  const sections: SectionHeader[] = [];
  if (shoff !== 0 && shnum > 0) {
    if (shentsize < 64) throw new ElfFormatError(src.name, `section header size ${shentsize} < 64`);
    if (shnum > ELF_BOUNDS.maxSections) throw new ElfFormatError(src.name, `${shnum} sections (bound ${ELF_BOUNDS.maxSections})`);
    const sh = readExact(src, shoff, shnum * shentsize, 'section headers', ELF_BOUNDS.maxSections * 0xffff);
    const nameOffsets: number[] = [];
    for (let i = 0; i < shnum; i++) {
      const o = i * shentsize;
      nameOffsets.push(sh.readUInt32LE(o));
      sections.push({
        name: '',
        type: sh.readUInt32LE(o + 4),
        flags: u64(sh, o + 8),
        addr: u64(sh, o + 16),
        offset: u64(sh, o + 24),
        size: u64(sh, o + 32),
        link: sh.readUInt32LE(o + 40),
        entSize: u64(sh, o + 56),
      });
    }
    const strSec = sections[shstrndx];
    if (strSec && strSec.type !== ElfConst.SHT_NOBITS) {
      const names = readExact(src, strSec.offset, strSec.size, 'section name table', ELF_BOUNDS.maxSectionNameBytes);
      sections.forEach((s, i) => (s.name = cString(names, nameOffsets[i]!)));
    }
  }

  const headers: ElfHeaders = { type, machine, loads, sections };
  headers.buildId = findBuildId(src, sections, noteSegments);
  const link = sections.find((s) => s.name === '.gnu_debuglink' && s.type !== ElfConst.SHT_NOBITS);
  if (link && link.size >= 8) {
    const data = readExact(src, link.offset, link.size, '.gnu_debuglink', ELF_BOUNDS.maxDebugLinkBytes);
    const end = data.indexOf(0);
    if (end > 0) {
      const crcOffset = align4(end + 1); // name, NUL, pad to 4, then CRC32
      if (crcOffset + 4 <= data.length) {
        headers.debugLink = { fileName: data.toString('utf8', 0, end), crc32: data.readUInt32LE(crcOffset) };
      }
    }
  }
  return headers;
}

/** The NUL-terminated string at `offset`, at most `maxBytes` long (cut there, not scanned past). */
function cString(buf: Buffer, offset: number, maxBytes = ELF_BOUNDS.maxSymbolNameBytes): string {
  if (offset >= buf.length) return '';
  const limit = Math.min(buf.length, offset + maxBytes);
  // Search only up to the bound: a string without a NUL must not cost a scan of the whole table.
  const nul = buf.subarray(offset, limit).indexOf(0);
  return buf.toString('utf8', offset, nul < 0 ? limit : offset + nul);
}

function findBuildId(src: ByteSource, sections: SectionHeader[], noteSegments: Array<{ offset: number; size: number }>): string | undefined {
  // Prefer note sections; fall back to PT_NOTE segments (section headers may be gone).
  const areas = sections.filter((s) => s.type === ElfConst.SHT_NOTE).map((s) => ({ offset: s.offset, size: s.size }));
  for (const area of [...areas, ...noteSegments]) {
    if (area.size === 0 || area.size > ELF_BOUNDS.maxNoteBytes) continue;
    if (!Number.isSafeInteger(area.offset) || area.offset < 0 || area.offset + area.size > src.size) continue;
    const data = src.read(area.offset, area.size);
    let o = 0;
    // Each step moves forward by at least 12 bytes; sizes are checked before they are added,
    // so a namesz or descsz near 2^32 ends the walk instead of wrapping it back.
    while (o + 12 <= data.length) {
      const nameSize = data.readUInt32LE(o);
      const descSize = data.readUInt32LE(o + 4);
      const noteType = data.readUInt32LE(o + 8);
      const nameStart = o + 12;
      if (nameSize > data.length - nameStart) break;
      const descStart = nameStart + align4(nameSize);
      if (descStart > data.length || descSize > data.length - descStart) break;
      if (noteType === ElfConst.NT_GNU_BUILD_ID && nameSize === 4 && data.toString('latin1', nameStart, nameStart + 3) === 'GNU') {
        // A build id is 8-64 bytes (20 for SHA-1); a longer one is a forged note.
        return descSize > 0 && descSize <= 64 ? data.toString('hex', descStart, descStart + descSize) : undefined;
      }
      o = descStart + align4(descSize);
    }
  }
  return undefined;
}

/** Function symbols (STT_FUNC, STT_GNU_IFUNC) with an address from .symtab or .dynsym. */
export function readFunctionSymbols(src: ByteSource, headers: ElfHeaders, which: '.symtab' | '.dynsym'): ElfSymbol[] {
  const wantType = which === '.symtab' ? ElfConst.SHT_SYMTAB : ElfConst.SHT_DYNSYM;
  const sec = headers.sections.find((s) => s.type === wantType);
  if (!sec || sec.size === 0) return [];
  const strSec = headers.sections[sec.link];
  if (!strSec || strSec.type === ElfConst.SHT_NOBITS) return [];
  const entSize = sec.entSize || 24;
  if (entSize < 24 || entSize > 4096) throw new ElfFormatError(src.name, `${which} entry size ${entSize} (expected 24)`);
  if (sec.size > ELF_BOUNDS.maxSymtabBytes) {
    throw new ElfFormatError(src.name, `${which} claims ${sec.size} bytes (bound ${ELF_BOUNDS.maxSymtabBytes})`);
  }
  // Checked before anything is read: both must lie inside the file.
  readExact(src, sec.offset, 0, which, 0);
  if (sec.offset + sec.size > src.size) throw new ElfFormatError(src.name, `${which} ends past the file`);
  const strings = readExact(src, strSec.offset, strSec.size, `${which} strings`, ELF_BOUNDS.maxStrtabBytes);
  const out: ElfSymbol[] = [];
  const count = Math.floor(sec.size / entSize);
  let nameBytes = 0;
  let bounded = false;
  let cut = false;
  // In chunks: a 64 MiB table never becomes one allocation beside the strings.
  for (let first = 1; first < count && !bounded; first += ELF_BOUNDS.symtabChunkEntries) {
    const n = Math.min(ELF_BOUNDS.symtabChunkEntries, count - first);
    const data = readExact(src, sec.offset + first * entSize, n * entSize, which, ELF_BOUNDS.maxSymtabBytes);
    for (let k = 0; k < n; k++) {
      const o = k * entSize;
      const info = data[o + 4]!;
      const symType = info & 0xf;
      if (symType !== ElfConst.STT_FUNC && symType !== ElfConst.STT_GNU_IFUNC) continue;
      const shndx = data.readUInt16LE(o + 6);
      if (shndx === 0) continue; // undefined: an import, not code in this file
      const value = u64(data, o + 8);
      if (value === 0) continue;
      const nameOff = data.readUInt32LE(o);
      const name = cString(strings, nameOff);
      // A name that fills the bound without its NUL was cut: that too is a bound hit.
      if (nameOff < strings.length && strings.subarray(nameOff, nameOff + ELF_BOUNDS.maxSymbolNameBytes).indexOf(0) < 0) cut = true;
      nameBytes += name.length;
      if (out.length >= ELF_BOUNDS.maxSymbolsPerFile || nameBytes > ELF_BOUNDS.maxNameBytesPerFile) {
        bounded = true;
        break;
      }
      out.push({ name, value, size: u64(data, o + 16), binding: info >> 4 });
    }
  }
  if (bounded || cut) countFailure('bound');
  return out;
}

/**
 * Maps a file offset to the virtual address the ELF's symbols use, through the
 * PT_LOAD segment that contains it. Undefined when no segment maps that offset.
 */
export function fileOffsetToVaddr(loads: readonly LoadSegment[], fileOffset: number): number | undefined {
  for (const seg of loads) {
    if (fileOffset >= seg.fileOffset && fileOffset < seg.fileOffset + seg.fileSize) {
      return fileOffset - seg.fileOffset + seg.vaddr;
    }
  }
  return undefined;
}
