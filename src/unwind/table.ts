/**
 * Compiles the rows of every FDE of one ELF file into one sorted table, in the
 * exact byte layout the BPF walker searches (struct hotspan_unwind_row, 12 bytes):
 *   u32 pc; s32 cfa_offset; u8 cfa_type; u8 rbp_type; s16 rbp_offset.
 * A row holds from its pc up to the next row's pc; gaps between FDEs get a
 * CfaType.None row so a PC no FDE covers is never read as its neighbour's.
 */
import { CfaType, walkCfi, type CfiStats, type FdeRows, type UnwindRow } from './cfi.js';
import { readElfCfi, UnwindFormatError, type ElfCfi } from './elf-sections.js';

export const UNWIND_ROW_BYTES = 12;
/** 2M rows (24 MiB): several times the largest binary seen (node: ~0.6M). */
export const MAX_TABLE_ROWS = 2_000_000;

export interface UnwindTable {
  file: string;
  /** GNU build id (hex), or a stand-in derived from the path when the file has none. */
  key: string;
  buildId?: string;
  /** Rows in BPF layout, sorted by pc. */
  rows: Buffer;
  rowCount: number;
  source: 'eh_frame' | 'debug_frame';
  stats: CfiStats & { overlaps: number };
}

export function encodeRow(buf: Buffer, i: number, r: UnwindRow): void {
  const o = i * UNWIND_ROW_BYTES;
  buf.writeUInt32LE(r.pc, o);
  buf.writeInt32LE(r.cfaOffset, o + 4);
  buf.writeUInt8(r.cfaType, o + 8);
  buf.writeUInt8(r.rbpType, o + 9);
  buf.writeInt16LE(r.rbpOffset, o + 10);
}

export function decodeRow(buf: Buffer, i: number): UnwindRow {
  const o = i * UNWIND_ROW_BYTES;
  return {
    pc: buf.readUInt32LE(o),
    cfaOffset: buf.readInt32LE(o + 4),
    cfaType: buf.readUInt8(o + 8),
    rbpType: buf.readUInt8(o + 9),
    rbpOffset: buf.readInt16LE(o + 10),
  };
}

/** Index of the row covering pc (last row with row.pc <= pc), or -1. */
export function findRow(t: UnwindTable, pc: number): number {
  let lo = 0;
  let hi = t.rowCount - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (t.rows.readUInt32LE(mid * UNWIND_ROW_BYTES) <= pc) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

const FDES_PER_STEP = 1000;

/**
 * Builds the table of one file in steps: each `next()` does a bounded amount of
 * work (FDES_PER_STEP entries), so a caller can spread a big binary over many
 * event-loop turns. Returns the table when done.
 */
export function* buildTableSteps(path: string): Generator<void, UnwindTable> {
  const elf = readElfCfi(path);
  yield;
  const fromEh = yield* compile(elf, 'eh_frame');
  if (fromEh.rowCount > 0 || !elf.debugFrame) return fromEh;
  return yield* compile(elf, 'debug_frame');
}

function* compile(elf: ElfCfi, source: 'eh_frame' | 'debug_frame'): Generator<void, UnwindTable> {
  const sec = source === 'eh_frame' ? elf.ehFrame : elf.debugFrame;
  const stats: CfiStats & { overlaps: number } = { fdes: 0, cies: 0, badEntries: 0, overlaps: 0 };
  const fdes: FdeRows[] = [];
  let total = 0;
  if (sec) {
    let n = 0;
    for (const f of walkCfi({ data: sec.data, addr: sec.addr, isEhFrame: source === 'eh_frame' }, stats)) {
      if (f.pcEnd > 0xffffffff) throw new UnwindFormatError(elf.file, `code above 4 GiB (FDE at 0x${f.pcBegin.toString(16)}) is not supported`);
      total += f.rows.length + 1;
      if (total > MAX_TABLE_ROWS) throw new UnwindFormatError(elf.file, `more than ${MAX_TABLE_ROWS} unwind rows`);
      fdes.push(f);
      if (++n % FDES_PER_STEP === 0) yield;
    }
  }
  let sorted = true;
  for (let i = 1; i < fdes.length && sorted; i++) sorted = fdes[i - 1]!.pcBegin <= fdes[i]!.pcBegin;
  if (!sorted) fdes.sort((a, b) => a.pcBegin - b.pcBegin);
  yield;
  const rows = Buffer.alloc(total * UNWIND_ROW_BYTES);
  const view = new DataView(rows.buffer, rows.byteOffset, rows.byteLength);
  let count = 0;
  let prevEnd = -1;
  let last: UnwindRow | undefined;
  const put = (r: UnwindRow) => {
    if (last && last.pc === r.pc)
      count--; // a later row at the same pc replaces the earlier
    else if (last && last.cfaType === r.cfaType && last.cfaOffset === r.cfaOffset && last.rbpType === r.rbpType && last.rbpOffset === r.rbpOffset) return;
    const o = count++ * UNWIND_ROW_BYTES;
    view.setUint32(o, r.pc, true);
    view.setInt32(o + 4, r.cfaOffset, true);
    view.setUint8(o + 8, r.cfaType);
    view.setUint8(o + 9, r.rbpType);
    view.setInt16(o + 10, r.rbpOffset, true);
    last = r;
  };
  let n = 0;
  for (const f of fdes) {
    if (++n % FDES_PER_STEP === 0) yield;
    if (f.pcBegin < prevEnd) {
      stats.overlaps++; // overlapping FDEs (rare, linker leftovers): the first one wins
      continue;
    }
    if (prevEnd >= 0 && f.pcBegin > prevEnd) put({ pc: prevEnd, cfaType: CfaType.None, cfaOffset: 0, rbpType: 0, rbpOffset: 0 });
    for (const r of f.rows) put(r);
    prevEnd = f.pcEnd;
  }
  if (prevEnd >= 0) put({ pc: prevEnd, cfaType: CfaType.None, cfaOffset: 0, rbpType: 0, rbpOffset: 0 });
  return {
    file: elf.file,
    key: elf.buildId ?? `path:${elf.file}`,
    ...(elf.buildId ? { buildId: elf.buildId } : {}),
    rows: rows.subarray(0, count * UNWIND_ROW_BYTES),
    rowCount: count,
    source,
    stats,
  };
}

export class UnwindCancelledError extends Error {
  constructor(file: string) {
    super(`${file}: table build cancelled`);
    this.name = 'UnwindCancelledError';
  }
}

export function buildTableSync(path: string): UnwindTable {
  const it = buildTableSteps(path);
  for (;;) {
    const r = it.next();
    if (r.done) return r.value;
  }
}

/**
 * Builds a table without holding the event loop: runs steps for at most `sliceMs`,
 * then yields with setImmediate.
 */
export async function buildTable(path: string, sliceMs = 20, cancelled: () => boolean = () => false): Promise<UnwindTable> {
  const it = buildTableSteps(path);
  for (;;) {
    // A stopped agent must not keep building (node's table is seconds of CPU on a busy host).
    if (cancelled()) throw new UnwindCancelledError(path);
    const deadline = performance.now() + sliceMs;
    while (performance.now() < deadline) {
      const r = it.next();
      if (r.done) return r.value;
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
}
