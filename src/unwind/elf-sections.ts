/**
 * Bounded reader of the few ELF pieces an unwind table needs: section headers,
 * .eh_frame / .eh_frame_hdr / .debug_frame and the GNU build id. The file is a
 * workload's, so every size it claims is checked against the file and a cap before
 * a byte is allocated. (A shared safe reader for workload files is being added in
 * src/workload-files/; until it lands this module is its own bounded reader.)
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

export class UnwindFormatError extends Error {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: cannot build an unwind table: ${detail}`);
    this.name = 'UnwindFormatError';
  }
}

/** No CFI section this large exists in practice (node's .eh_frame is ~6 MiB). */
export const MAX_CFI_SECTION_BYTES = 64 * 1024 * 1024;
const MAX_SECTIONS = 65_535;
const EM_X86_64 = 62;
const SHT_NOBITS = 8;
const SHT_NOTE = 7;

export interface CfiSection {
  /** Virtual address the section is loaded at (sh_addr); 0 for .debug_frame. */
  addr: number;
  data: Buffer;
}

export interface ElfCfi {
  file: string;
  buildId?: string;
  ehFrame?: CfiSection;
  ehFrameHdr?: CfiSection;
  debugFrame?: CfiSection;
  /** Executable PT_LOAD segments: to map file offsets to virtual addresses. */
  execSegments: Array<{ vaddr: number; fileOffset: number; fileSize: number }>;
}

function readAt(fd: number, fileSize: number, offset: number, length: number, file: string, what: string): Buffer {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > fileSize) {
    throw new UnwindFormatError(file, `${what} lies outside the file (${length} bytes at ${offset}, file is ${fileSize})`);
  }
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, offset + got);
    if (n === 0) throw new UnwindFormatError(file, `${what} truncated`);
    got += n;
  }
  return buf;
}

function u64(buf: Buffer, off: number): number {
  const v = buf.readBigUInt64LE(off);
  // Anything above 2^53 is no offset or size of a real file: treat as corrupt.
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
}

/**
 * Reads the CFI sections of an x86_64 ELF file. `withSections: false` reads only the headers,
 * segments and build id (what a process's mapping needs), not the CFI bytes (node's are ~6 MiB).
 */
export function readElfCfi(path: string, opts: { withSections?: boolean } = {}): ElfCfi {
  const withSections = opts.withSections ?? true;
  const fd = openSync(path, 'r');
  try {
    const fileSize = fstatSync(fd).size;
    const eh = readAt(fd, fileSize, 0, Math.min(64, fileSize), path, 'ELF header');
    if (eh.length < 64 || eh.readUInt32BE(0) !== 0x7f454c46) throw new UnwindFormatError(path, 'not an ELF file');
    if (eh[4] !== 2 || eh[5] !== 1) throw new UnwindFormatError(path, 'only 64-bit little-endian ELF is supported');
    const machine = eh.readUInt16LE(18);
    if (machine !== EM_X86_64) throw new UnwindFormatError(path, `machine ${machine} is not x86_64 (62)`);
    const phoff = u64(eh, 32);
    const shoff = u64(eh, 40);
    const phentsize = eh.readUInt16LE(54);
    const phnum = eh.readUInt16LE(56);
    const shentsize = eh.readUInt16LE(58);
    let shnum = eh.readUInt16LE(60);
    let shstrndx = eh.readUInt16LE(62);
    if (shoff === 0) throw new UnwindFormatError(path, 'no section headers');
    if (shentsize < 64 || phentsize < 56) throw new UnwindFormatError(path, 'bad header entry sizes');
    if (shnum === 0 || shstrndx === 0xffff) {
      const sh0 = readAt(fd, fileSize, shoff, 64, path, 'section header 0');
      if (shnum === 0) shnum = Math.min(u64(sh0, 32), MAX_SECTIONS + 1);
      if (shstrndx === 0xffff) shstrndx = sh0.readUInt32LE(40);
    }
    if (shnum > MAX_SECTIONS) throw new UnwindFormatError(path, `${shnum} sections`);
    const shdrs = readAt(fd, fileSize, shoff, shnum * shentsize, path, 'section headers');
    const sec = (i: number) => {
      const o = i * shentsize;
      return {
        name: shdrs.readUInt32LE(o),
        type: shdrs.readUInt32LE(o + 4),
        addr: u64(shdrs, o + 16),
        offset: u64(shdrs, o + 24),
        size: u64(shdrs, o + 32),
      };
    };
    if (shstrndx >= shnum) throw new UnwindFormatError(path, 'section name table index out of range');
    const strSec = sec(shstrndx);
    const strtab = readAt(fd, fileSize, strSec.offset, Math.min(strSec.size, 1 << 20), path, 'section names');
    const nameAt = (off: number) => {
      if (off >= strtab.length) return '';
      const end = strtab.indexOf(0, off);
      return strtab.toString('latin1', off, end < 0 ? strtab.length : end);
    };
    const out: ElfCfi = { file: path, execSegments: [] };
    for (let i = 0; i < phnum; i++) {
      const ph = readAt(fd, fileSize, phoff + i * phentsize, 56, path, 'program header');
      const PT_LOAD = 1,
        PF_X = 1;
      if (ph.readUInt32LE(0) === PT_LOAD && (ph.readUInt32LE(4) & PF_X) !== 0) {
        out.execSegments.push({ fileOffset: u64(ph, 8), vaddr: u64(ph, 16), fileSize: u64(ph, 32) });
      }
    }
    for (let i = 1; i < shnum; i++) {
      const s = sec(i);
      if (s.type === SHT_NOBITS) continue;
      const name = nameAt(s.name);
      const want = name === '.eh_frame' || name === '.eh_frame_hdr' || name === '.debug_frame';
      if (want && withSections) {
        if (s.size > MAX_CFI_SECTION_BYTES) throw new UnwindFormatError(path, `${name} claims ${s.size} bytes`);
        const section = { addr: s.addr, data: readAt(fd, fileSize, s.offset, s.size, path, name) };
        if (name === '.eh_frame') out.ehFrame = section;
        else if (name === '.eh_frame_hdr') out.ehFrameHdr = section;
        else out.debugFrame = section;
      } else if (s.type === SHT_NOTE && name === '.note.gnu.build-id' && s.size <= 4096) {
        out.buildId = parseBuildIdNote(readAt(fd, fileSize, s.offset, s.size, path, name));
      }
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

function parseBuildIdNote(buf: Buffer): string | undefined {
  let o = 0;
  while (o + 12 <= buf.length) {
    const namesz = buf.readUInt32LE(o);
    const descsz = buf.readUInt32LE(o + 4);
    const type = buf.readUInt32LE(o + 8);
    const nameOff = o + 12;
    const descOff = nameOff + ((namesz + 3) & ~3);
    if (descOff + descsz > buf.length) return undefined;
    if (type === 3 && buf.toString('latin1', nameOff, nameOff + namesz).startsWith('GNU')) {
      return buf.subarray(descOff, descOff + descsz).toString('hex');
    }
    o = descOff + ((descsz + 3) & ~3);
  }
  return undefined;
}
