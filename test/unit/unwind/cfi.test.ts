// The CFI parser and table compiler against binutils' own interpretation of the
// same CFA programs (readelf --debug-dump=frames-interp), row by row, on libc,
// Debian's python3, node and the unwinding fixtures; plus hand-made known answers
// and hostile input.
import { readFileSync, writeFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { walkCfi, type CfiStats } from '../../../src/unwind/cfi.js';
import { buildTableSync, CfaType, decodeRow, findRow, RbpType, readElfCfi, UnwindFormatError, type UnwindTable } from '../../../src/unwind/index.js';
import { buildFixtures, FIXTURE_BIN, run } from '../symbols/fixtures.js';
import { readelfFrames, type ReadelfRow } from './readelf-frames.js';

const LIBC = run('sh', ['-c', "ldd /bin/true | awk '/libc.so/ {print $3}'"]).trim();
const PYTHON = '/usr/bin/python3.11';

/** What readelf's row says, in the walker's terms. */
function expected(r: ReadelfRow): string {
  let cfa: string;
  const m = /^(rsp|rbp)\+(\d+)$/.exec(r.cfa);
  if (r.ra === 'u') cfa = 'end';
  else if (r.ra !== 'c-8') cfa = 'unsupported';
  else if (m) cfa = `${m[1]}+${m[2]}`;
  else if (r.cfa === 'exp') cfa = 'exp';
  else cfa = 'unsupported';
  // readelf prints "u" both for "not saved yet" and DW_CFA_undefined; for RBP the first is what compilers emit.
  const rbp = r.rbp === '' || r.rbp === 'u' || r.rbp === 's' ? 'same' : /^c[+-]\d+$/.test(r.rbp) ? r.rbp : 'unknown';
  return `${cfa} ${rbp}`;
}

function actual(t: UnwindTable, pc: number): string {
  const i = findRow(t, pc);
  if (i < 0) return 'missing';
  const g = decodeRow(t.rows, i);
  const cfa =
    g.cfaType === CfaType.Rsp
      ? `rsp+${g.cfaOffset}`
      : g.cfaType === CfaType.Rbp
        ? `rbp+${g.cfaOffset}`
        : g.cfaType === CfaType.End
          ? 'end'
          : g.cfaType === CfaType.Plt
            ? 'exp'
            : g.cfaType === CfaType.None
              ? 'none'
              : g.cfaType === CfaType.SigFrame
                ? 'sigframe'
                : 'unsupported';
  const rbp = g.rbpType === RbpType.Unchanged ? 'same' : g.rbpType === RbpType.CfaOffset ? `c${g.rbpOffset >= 0 ? '+' : ''}${g.rbpOffset}` : 'unknown';
  return `${cfa} ${rbp}`;
}

function compareWithReadelf(path: string): { rows: number; mismatches: string[]; table: UnwindTable; sigframeFdes: number } {
  const table = buildTableSync(path);
  const mismatches: string[] = [];
  let sigframeFdes = 0;
  let rows = 0;
  for (const f of readelfFrames(path)) {
    if (f.rows.length === 0) {
      // readelf prints no rows for an FDE without instructions (CIE state) nor for one that
      // only sets RA undefined (_start): either is right here.
      const a = actual(table, f.pcBegin);
      if (a !== 'rsp+8 same' && a !== 'end same') mismatches.push(`0x${f.pcBegin.toString(16)}: ${a}`);
      rows++;
      continue;
    }
    // A signal trampoline ('S' CIE; readelf shows its expressions): the walker's own rule, whole FDE.
    if (actual(table, f.pcBegin).startsWith('sigframe')) {
      sigframeFdes++;
      const all = f.rows.every((r) => actual(table, r.pc) === 'sigframe same' && expected(r).startsWith('unsupported'));
      if (!all) mismatches.push(`0x${f.pcBegin.toString(16)}: a signal-frame FDE with rows readelf can read`);
      rows += f.rows.length;
      continue;
    }
    for (const r of f.rows) {
      rows++;
      let e = expected(r);
      const a = actual(table, r.pc);
      // A CFA expression is either the PLT pattern (exp) or one the walker cannot run.
      if (e.startsWith('exp') && a.startsWith('unsupported')) e = e.replace('exp', 'unsupported');
      if (e !== a) mismatches.push(`0x${r.pc.toString(16)}: readelf ${e}, table ${a}`);
    }
    // Just past the FDE: either the next FDE's first row or a gap.
    if (findRow(table, f.pcEnd) < 0) mismatches.push(`0x${f.pcEnd.toString(16)}: no row after FDE end`);
  }
  return { rows, mismatches, table, sigframeFdes };
}

describe('unwind tables vs readelf --debug-dump=frames-interp', () => {
  beforeAll(() => buildFixtures(), 120_000);

  for (const [name, path] of [
    ['libc', LIBC],
    ['python3', PYTHON],
    ['unwind_chain fixture', `${FIXTURE_BIN}/unwind_chain`],
    ['unwind_cxx fixture', `${FIXTURE_BIN}/unwind_cxx`],
  ] as const) {
    it(`${name}: every row agrees`, () => {
      const { rows, mismatches, table, sigframeFdes } = compareWithReadelf(path);
      expect(mismatches.slice(0, 10)).toEqual([]);
      // glibc's __restore_rt is the one signal trampoline (its CIE is "zRS"); nothing else is one.
      expect(sigframeFdes).toBe(name === 'libc' ? 1 : 0);
      expect(rows).toBeGreaterThan(5);
      expect(table.stats.badEntries).toBe(0);
      expect(table.buildId).toMatch(/^[0-9a-f]{40}$/);
    }, 120_000);
  }

  it('fixture: the .plt FDE is the PLT pattern, the alloca frame is RBP-based, gaps are None', () => {
    const path = `${FIXTURE_BIN}/unwind_chain`;
    const t = buildTableSync(path);
    const plt = readelfFrames(path).find((f) => f.rows.some((r) => r.cfa === 'exp'))!;
    const expRow = plt.rows.find((r) => r.cfa === 'exp')!;
    const row = decodeRow(t.rows, findRow(t, expRow.pc));
    expect(row.cfaType).toBe(CfaType.Plt);
    expect(row.cfaOffset).toBe(11);
    const types = Array.from({ length: t.rowCount }, (_, i) => decodeRow(t.rows, i).cfaType);
    expect(types).toContain(CfaType.Rbp); // chain_level3's alloca
    expect(types).toContain(CfaType.None);
    // Sorted and strictly increasing.
    for (let i = 1; i < t.rowCount; i++) expect(decodeRow(t.rows, i).pc).toBeGreaterThan(decodeRow(t.rows, i - 1).pc);
  });
});

/** Builds a little .eh_frame by hand: one CIE ("zR", pcrel sdata4) and one FDE. */
function handMadeEhFrame(fdeProgram: number[], pcBegin = 0x1000, pcRange = 0x40): Buffer {
  const cieBody = [0, 0, 0, 0, 1, 0x7a, 0x52, 0, 1, 0x78, 0x10, 1, 0x1b, 0x0c, 7, 8, 0x90, 1];
  while ((cieBody.length + 4) % 8) cieBody.push(0);
  const cie = Buffer.alloc(4 + cieBody.length);
  cie.writeUInt32LE(cieBody.length, 0);
  Buffer.from(cieBody).copy(cie, 4);
  const fdeBody = Buffer.alloc(4 + 4 + 4 + 1 + fdeProgram.length);
  fdeBody.writeUInt32LE(cie.length + 4, 0); // CIE pointer: back to offset 0
  // pcrel: pcBegin is relative to the field's own address (section addr 0 + offset).
  fdeBody.writeInt32LE(pcBegin - (cie.length + 8), 4);
  fdeBody.writeUInt32LE(pcRange, 8);
  fdeBody[12] = 0; // augmentation data length
  Buffer.from(fdeProgram).copy(fdeBody, 13);
  const fde = Buffer.alloc(4 + fdeBody.length);
  fde.writeUInt32LE(fdeBody.length, 0);
  fdeBody.copy(fde, 4);
  return Buffer.concat([cie, fde, Buffer.alloc(4)]);
}

function rowsOf(data: Buffer) {
  const stats: CfiStats = { fdes: 0, cies: 0, badEntries: 0 };
  const fdes = [...walkCfi({ data, addr: 0, isEhFrame: true }, stats)];
  return { fdes, stats };
}

describe('CFA programs: known answers', () => {
  it('push rbp; mov rbp,rsp; ... remember/restore_state around an early return', () => {
    const { fdes, stats } = rowsOf(
      handMadeEhFrame([
        0x41,
        0x0e,
        16,
        0x86,
        2, // +1: def_cfa_offset 16; rbp at cfa-16
        0x43,
        0x0d,
        6, // +3: def_cfa_register rbp
        0x48,
        0x0a,
        0x0c,
        7,
        8, // +8: remember; def_cfa rsp+8 (early ret)
        0x41,
        0x0b, // +1: restore_state: back to rbp+16
        0x44,
        0xc6, // +4: restore rbp (the CIE rule: unchanged)
      ]),
    );
    expect(stats).toMatchObject({ fdes: 1, badEntries: 0 });
    const rows = fdes[0]!.rows.map((r) => [r.pc - 0x1000, r.cfaType, r.cfaOffset, r.rbpType, r.rbpOffset]);
    expect(rows).toEqual([
      [0, CfaType.Rsp, 8, RbpType.Unchanged, 0],
      [1, CfaType.Rsp, 16, RbpType.CfaOffset, -16],
      [4, CfaType.Rbp, 16, RbpType.CfaOffset, -16],
      [12, CfaType.Rsp, 8, RbpType.CfaOffset, -16],
      [13, CfaType.Rbp, 16, RbpType.CfaOffset, -16],
      [17, CfaType.Rbp, 16, RbpType.Unchanged, 0],
    ]);
  });

  it('advance_loc1/2/4, offset_extended_sf, undefined RA, a non-PLT expression', () => {
    const { fdes } = rowsOf(
      handMadeEhFrame(
        [
          0x02,
          0x10,
          0x0e,
          24, // advance_loc1 16; cfa rsp+24
          0x03,
          0x00,
          0x01,
          0x11,
          6,
          0x7d, // advance_loc2 256; rbp at cfa + (-3 * -8) = +24
          0x04,
          0x00,
          0x00,
          0x01,
          0x00,
          0x0f,
          2,
          0x77,
          0x10, // advance_loc4 65536; def_cfa_expression (breg7 16)
          0x41,
          0x07,
          0x10, // +1: RA undefined
        ],
        0x1000,
        0x20000,
      ),
    );
    const rows = fdes[0]!.rows.map((r) => [r.pc - 0x1000, r.cfaType, r.cfaOffset, r.rbpType, r.rbpOffset]);
    expect(rows).toEqual([
      [0, CfaType.Rsp, 8, RbpType.Unchanged, 0],
      [16, CfaType.Rsp, 24, RbpType.Unchanged, 0],
      [272, CfaType.Rsp, 24, RbpType.CfaOffset, 24],
      [272 + 65536, CfaType.Unsupported, 0, RbpType.CfaOffset, 24],
      [272 + 65537, CfaType.End, 0, RbpType.CfaOffset, 24],
    ]);
  });

  it('restore_state without remember_state is a counted bad entry, not a crash', () => {
    const { fdes, stats } = rowsOf(handMadeEhFrame([0x41, 0x0b]));
    expect(fdes).toEqual([]);
    expect(stats.badEntries).toBe(1);
    expect(stats.firstError).toMatch(/restore_state/);
  });
});

describe('hostile input', () => {
  it('random corruption of a real .eh_frame: always ends, quickly, with counted bad entries', () => {
    const real = readElfCfi(`${FIXTURE_BIN}/unwind_cxx`).ehFrame!;
    let seed = 12345;
    const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    const t0 = performance.now();
    for (let round = 0; round < 300; round++) {
      const data = Buffer.from(real.data);
      const flips = 1 + Math.floor(rand() * 20);
      for (let i = 0; i < flips; i++) data[Math.floor(rand() * data.length)] = Math.floor(rand() * 256);
      const stats: CfiStats = { fdes: 0, cies: 0, badEntries: 0 };
      let rows = 0;
      for (const f of walkCfi({ data, addr: real.addr, isEhFrame: true }, stats)) rows += f.rows.length;
      expect(rows).toBeLessThan(10_000_000);
    }
    expect(performance.now() - t0).toBeLessThan(20_000);
  });

  it('a file that is not ELF, or a truncated one, is a clear UnwindFormatError', () => {
    expect(() => buildTableSync('/etc/hostname')).toThrow(UnwindFormatError);
    const head = readFileSync(`${FIXTURE_BIN}/unwind_chain`).subarray(0, 200);
    const tmp = `/tmp/hotspan-unwind-trunc-${process.pid}`;
    writeFileSync(tmp, head);
    expect(() => buildTableSync(tmp)).toThrow(UnwindFormatError);
  });
});
