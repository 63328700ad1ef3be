/**
 * Minimal ELF reader: just the headers, program headers, symbol tables and notes a
 * symbolizer needs. 64-bit little-endian only (x86_64, aarch64); anything else is
 * rejected with an ElfFormatError naming what was found.
 *
 * Reads through a `ByteSource` so the same code parses files (only the byte ranges
 * it needs, never the whole file) and in-memory images such as a process's [vdso].
 */
import { closeSync, openSync, readSync } from 'node:fs';

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
  /** Reads up to `length` bytes at `offset`; may return fewer at end of data. */
  read(offset: number, length: number): Buffer;
  close(): void;
}

export function fileSource(path: string): ByteSource {
  const fd = openSync(path, 'r');
  return {
    name: path,
    read(offset, length) {
      const buf = Buffer.allocUnsafe(length);
      let got = 0;
      while (got < length) {
        const n = readSync(fd, buf, got, length - got, offset + got);
        if (n === 0) break;
        got += n;
      }
      return got === length ? buf : buf.subarray(0, got);
    },
    close() {
      closeSync(fd);
    },
  };
}

export function bufferSource(name: string, data: Buffer): ByteSource {
  return {
    name,
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

/** Files larger than this in one section are treated as corrupt rather than read. */
const MAX_SECTION_BYTES = 512 * 1024 * 1024;

function u64(buf: Buffer, off: number): number {
  // Offsets and user-space addresses are far below 2^53; kernel-half values lose
  // precision, but no user ELF the symbolizer reads places code there.
  return Number(buf.readBigUInt64LE(off));
}

function readExact(src: ByteSource, offset: number, length: number, what: string): Buffer {
  if (length > MAX_SECTION_BYTES) throw new ElfFormatError(src.name, `${what} claims ${length} bytes`);
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
    const sh0 = readExact(src, shoff, 64, 'section header 0');
    if (shnum === 0) shnum = u64(sh0, 32);
    if (shstrndx === 0xffff) shstrndx = sh0.readUInt32LE(40);
    if (phnum === 0xffff) phnum = sh0.readUInt32LE(44);
  }

  const loads: LoadSegment[] = [];
  const noteSegments: Array<{ offset: number; size: number }> = [];
  if (phoff !== 0 && phnum > 0) {
    if (phentsize < 56) throw new ElfFormatError(src.name, `program header size ${phentsize} < 56`);
    const ph = readExact(src, phoff, phnum * phentsize, 'program headers');
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
    const sh = readExact(src, shoff, shnum * shentsize, 'section headers');
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
      const names = readExact(src, strSec.offset, strSec.size, 'section name table');
      sections.forEach((s, i) => (s.name = cString(names, nameOffsets[i]!)));
    }
  }

  const headers: ElfHeaders = { type, machine, loads, sections };
  headers.buildId = findBuildId(src, sections, noteSegments);
  const link = sections.find((s) => s.name === '.gnu_debuglink' && s.type !== ElfConst.SHT_NOBITS);
  if (link && link.size >= 8) {
    const data = readExact(src, link.offset, link.size, '.gnu_debuglink');
    const end = data.indexOf(0);
    if (end > 0) {
      const crcOffset = (end + 4) & ~3; // name, NUL, pad to 4, then CRC32
      if (crcOffset + 4 <= data.length) {
        headers.debugLink = { fileName: data.toString('utf8', 0, end), crc32: data.readUInt32LE(crcOffset) };
      }
    }
  }
  return headers;
}

function cString(buf: Buffer, offset: number): string {
  if (offset >= buf.length) return '';
  let end = buf.indexOf(0, offset);
  if (end < 0) end = buf.length;
  return buf.toString('utf8', offset, end);
}

function findBuildId(
  src: ByteSource,
  sections: SectionHeader[],
  noteSegments: Array<{ offset: number; size: number }>,
): string | undefined {
  // Prefer note sections; fall back to PT_NOTE segments (section headers may be gone).
  const areas = sections.filter((s) => s.type === ElfConst.SHT_NOTE).map((s) => ({ offset: s.offset, size: s.size }));
  for (const area of [...areas, ...noteSegments]) {
    if (area.size === 0 || area.size > 1 << 20) continue;
    const data = src.read(area.offset, area.size);
    let o = 0;
    while (o + 12 <= data.length) {
      const nameSize = data.readUInt32LE(o);
      const descSize = data.readUInt32LE(o + 4);
      const noteType = data.readUInt32LE(o + 8);
      const nameStart = o + 12;
      const descStart = nameStart + ((nameSize + 3) & ~3);
      const next = descStart + ((descSize + 3) & ~3);
      if (descStart + descSize > data.length) break;
      if (noteType === ElfConst.NT_GNU_BUILD_ID && nameSize === 4 && data.toString('latin1', nameStart, nameStart + 3) === 'GNU') {
        return data.toString('hex', descStart, descStart + descSize);
      }
      o = next;
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
  if (entSize < 24) throw new ElfFormatError(src.name, `${which} entry size ${entSize} < 24`);
  const data = readExact(src, sec.offset, sec.size, which);
  const strings = readExact(src, strSec.offset, strSec.size, `${which} strings`);
  const out: ElfSymbol[] = [];
  const count = Math.floor(data.length / entSize);
  for (let i = 1; i < count; i++) {
    const o = i * entSize;
    const info = data[o + 4]!;
    const symType = info & 0xf;
    if (symType !== ElfConst.STT_FUNC && symType !== ElfConst.STT_GNU_IFUNC) continue;
    const shndx = data.readUInt16LE(o + 6);
    if (shndx === 0) continue; // undefined: an import, not code in this file
    const value = u64(data, o + 8);
    if (value === 0) continue;
    out.push({ name: cString(strings, data.readUInt32LE(o)), value, size: u64(data, o + 16), binding: info >> 4 });
  }
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
