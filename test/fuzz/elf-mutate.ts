/**
 * ELF mutations for the fuzzer: byte flips, structured writes of boundary values into the
 * fields a reader trusts (counts, offsets, sizes, note lengths), truncation and extension.
 */
import { int, pick } from './rng.js';

const BOUNDARY_U32 = [0, 1, 3, 4, 0x7f, 0xff, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffff1, 0xfffffffc, 0xffffffff];
const BOUNDARY_U64 = [0n, 1n, 0xffffn, 0xffffffffn, 0x100000000n, 1n << 53n, (1n << 63n) - 1n, 1n << 63n, (1n << 64n) - 1n];

/** ELF64 header fields: [offset, width]. */
const HEADER_FIELDS: Array<[number, 2 | 4 | 8]> = [
  [16, 2],
  [18, 2],
  [32, 8],
  [40, 8],
  [54, 2],
  [56, 2],
  [58, 2],
  [60, 2],
  [62, 2],
];

export function mutateElf(r: () => number, seed: Buffer): Buffer {
  let buf = Buffer.from(seed);
  const ops = 1 + int(r, 4);
  for (let k = 0; k < ops; k++) {
    const op = int(r, 8);
    if (op <= 1 && buf.length > 0) {
      // random bytes
      const n = 1 + int(r, 8);
      for (let i = 0; i < n; i++) buf[int(r, buf.length)] = int(r, 256);
    } else if (op === 2) {
      const [off, w] = pick(r, HEADER_FIELDS);
      writeField(buf, off, w, r);
    } else if ((op === 3 || op === 4) && buf.length >= 64) {
      // a field of a program or section header, or of a note
      const phoff = Number(buf.readBigUInt64LE(32) & 0xffffffn);
      const shoff = Number(buf.readBigUInt64LE(40) & 0xffffffn);
      const base = op === 3 ? phoff + 56 * int(r, 12) : shoff + 64 * int(r, 32);
      const off = base + 4 * int(r, op === 3 ? 14 : 16);
      if (off + 8 <= buf.length) writeField(buf, off, pick(r, [4, 8] as const), r);
    } else if (op === 5) {
      // note header words at a random 4-aligned place
      const off = 4 * int(r, Math.floor(buf.length / 4));
      if (off + 4 <= buf.length) buf.writeUInt32LE(pick(r, BOUNDARY_U32), off);
    } else if (op === 6) {
      buf = buf.subarray(0, int(r, buf.length + 1));
    } else {
      buf = Buffer.concat([buf, Buffer.alloc(int(r, 4096), int(r, 256))]);
    }
  }
  return buf;
}

function writeField(buf: Buffer, off: number, w: 2 | 4 | 8, r: () => number): void {
  if (off + w > buf.length) return;
  if (w === 2) buf.writeUInt16LE(pick(r, BOUNDARY_U32) & 0xffff, off);
  else if (w === 4) buf.writeUInt32LE(pick(r, BOUNDARY_U32), off);
  else buf.writeBigUInt64LE(r() < 0.5 ? pick(r, BOUNDARY_U64) : BigInt(int(r, buf.length * 2)), off);
}

/**
 * The note that hung the agent: the first note of the binary's last PT_NOTE segment gets
 * namesz = 0xFFFFFFF1 (`(n + 3) & ~3` wraps to -12 in 32-bit JS arithmetic). The kernel does not
 * read PT_NOTE (only PT_GNU_PROPERTY, left alone), so the binary still runs.
 */
export function withWrappingNote(elf: Buffer): Buffer {
  const out = Buffer.from(elf);
  const phoff = Number(out.readBigUInt64LE(32));
  const phentsize = out.readUInt16LE(54);
  const phnum = out.readUInt16LE(56);
  let noteOff = -1;
  let property = -1;
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    if (out.readUInt32LE(o) === 0x6474e553) property = Number(out.readBigUInt64LE(o + 8));
  }
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    const type = out.readUInt32LE(o);
    if (type === 4) {
      const off = Number(out.readBigUInt64LE(o + 8));
      if (off !== property) noteOff = off;
    }
  }
  if (noteOff < 0) throw new Error('no PT_NOTE besides the GNU property note');
  out.writeUInt32LE(0xfffffff1, noteOff);
  return out;
}
