/**
 * Hostile variants of a real, runnable ELF (for the acceptance tests): only section data and
 * section headers change, which the kernel never reads, so every variant still runs.
 */
export interface Section {
  index: number;
  name: string;
  type: number;
  headerOffset: number;
  offset: number;
  size: number;
  link: number;
}

export function sections(elf: Buffer): Section[] {
  const shoff = Number(elf.readBigUInt64LE(40));
  const shentsize = elf.readUInt16LE(58);
  const shnum = elf.readUInt16LE(60);
  const shstrndx = elf.readUInt16LE(62);
  const raw = Array.from({ length: shnum }, (_, i) => {
    const h = shoff + i * shentsize;
    return {
      index: i,
      nameOff: elf.readUInt32LE(h),
      type: elf.readUInt32LE(h + 4),
      headerOffset: h,
      offset: Number(elf.readBigUInt64LE(h + 24)),
      size: Number(elf.readBigUInt64LE(h + 32)),
      link: elf.readUInt32LE(h + 40),
    };
  });
  const names = raw[shstrndx]!;
  return raw.map((s) => {
    const start = names.offset + s.nameOff;
    return { ...s, name: elf.toString('latin1', start, elf.indexOf(0, start)) };
  });
}

function section(elf: Buffer, name: string): Section {
  const s = sections(elf).find((x) => x.name === name);
  if (!s) throw new Error(`no ${name} section`);
  return s;
}

function setPlace(elf: Buffer, s: Section, offset: number, size: number): void {
  elf.writeBigUInt64LE(BigInt(offset), s.headerOffset + 24);
  elf.writeBigUInt64LE(BigInt(size), s.headerOffset + 32);
}

/** Every .symtab name points at one string of `bytes` non-NUL bytes appended to the file. */
export function withSharedHugeName(elf: Buffer, bytes: number): Buffer {
  const out = Buffer.concat([elf, Buffer.alloc(bytes, 'A'), Buffer.alloc(1)]);
  const symtab = section(out, '.symtab');
  const strtab = sections(out)[symtab.link]!;
  setPlace(out, strtab, elf.length, bytes + 1);
  for (let o = symtab.offset + 24; o < symtab.offset + symtab.size; o += 24) out.writeUInt32LE(0, o);
  return out;
}

/** The symbol `from` renamed `to` (a new .strtab appended at the end of the file). */
export function withRenamedSymbol(elf: Buffer, from: string, to: string): Buffer {
  const symtab = section(elf, '.symtab');
  const strtab = sections(elf)[symtab.link]!;
  const oldStrings = elf.subarray(strtab.offset, strtab.offset + strtab.size);
  const newName = oldStrings.length;
  const out = Buffer.concat([elf, oldStrings, Buffer.from(to + '\0', 'latin1')]);
  setPlace(out, strtab, elf.length, oldStrings.length + to.length + 1);
  let renamed = 0;
  for (let o = symtab.offset + 24; o < symtab.offset + symtab.size; o += 24) {
    const at = strtab.offset + elf.readUInt32LE(o);
    if (elf.toString('latin1', at, elf.indexOf(0, at)) === from) {
      out.writeUInt32LE(newName, o);
      renamed++;
    }
  }
  if (renamed === 0) throw new Error(`no symbol ${from}`);
  return out;
}

/**
 * .symtab and .strtab moved into a hole of a file `sparseBytes` long: the head is returned, the
 * caller truncates the file up to `sparseBytes` (a few KiB on disk, hundreds of MB to read).
 */
export function withTablesInHole(elf: Buffer, sparseBytes: number, symtabBytes: number, strtabBytes: number): Buffer {
  const out = Buffer.from(elf);
  const symtab = section(out, '.symtab');
  const strtab = sections(out)[symtab.link]!;
  setPlace(out, symtab, sparseBytes - symtabBytes - strtabBytes, symtabBytes);
  setPlace(out, strtab, sparseBytes - strtabBytes, strtabBytes);
  return out;
}

/** Overwrites the .gnu_debuglink name (the section must be large enough) with `crc` after it. */
export function withDebugLinkName(elf: Buffer, name: string, crc: number): Buffer {
  const out = Buffer.from(elf);
  const s = section(out, '.gnu_debuglink');
  const crcAt = Math.ceil((name.length + 1) / 4) * 4;
  if (crcAt + 4 > s.size) throw new Error(`.gnu_debuglink has ${s.size} bytes, ${name} needs ${crcAt + 4}`);
  out.fill(0, s.offset, s.offset + s.size);
  out.write(name, s.offset, 'latin1');
  out.writeUInt32LE(crc >>> 0, s.offset + crcAt);
  return out;
}
