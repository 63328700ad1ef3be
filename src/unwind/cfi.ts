/**
 * DWARF call frame information (.eh_frame / .debug_frame) for x86_64: parses CIEs
 * and FDEs and runs their CFA programs, yielding for each FDE the rows that say how
 * to find the CFA, the return address and the caller's RBP at each PC.
 *
 * Only what a stack walker needs is tracked: the CFA rule, RBP (DWARF reg 6) and
 * the return address column. Anything else in the programs is parsed and skipped.
 * Input is a workload's file: every read is bounds-checked (Cursor), every count is
 * capped, and a malformed entry is skipped and counted rather than trusted.
 */
import { CfiError, Cursor } from './cursor.js';

export const enum CfaType {
  /** No FDE covers this PC. */
  None = 0,
  Rsp = 1,
  Rbp = 2,
  /** The .plt CFA expression: CFA = RSP + 8 + (((RIP & 15) >= cfaOffset) ? 8 : 0). */
  Plt = 3,
  /** A rule the walker cannot evaluate (expression, other register). */
  Unsupported = 4,
  /** The return address is undefined: the outermost frame (_start, thread start). */
  End = 5,
  /**
   * The signal trampoline (__restore_rt; its CIE has the 'S' augmentation): SP points at the
   * kernel's ucontext, which holds the interrupted RIP, RSP and RBP.
   */
  SigFrame = 6,
}

export const enum RbpType {
  /** RBP keeps its value in the caller. */
  Unchanged = 0,
  /** The caller's RBP is saved at CFA + rbpOffset. */
  CfaOffset = 1,
  /** Not recoverable (register or expression rule). */
  Unknown = 2,
}

export interface UnwindRow {
  pc: number;
  cfaType: CfaType;
  cfaOffset: number;
  rbpType: RbpType;
  rbpOffset: number;
}

const REG_RBP = 6;
const REG_RSP = 7;

type RegRule = { kind: 'unset' | 'same' | 'undefined' | 'other' } | { kind: 'offset'; offset: number };

interface FrameState {
  cfaReg: number;
  cfaOffset: number;
  /** 'plt' threshold when the CFA is the PLT expression, -1 for another expression, 0 for none. */
  cfaExpr: number;
  rbp: RegRule;
  ra: RegRule;
}

interface Cie {
  codeAlign: number;
  dataAlign: number;
  raReg: number;
  fdeEncoding: number;
  hasAugData: boolean;
  /** 'S' augmentation: FDEs of this CIE describe a signal frame. */
  signalFrame: boolean;
  addressSize: number;
  initial: FrameState;
}

export interface CfiStats {
  fdes: number;
  cies: number;
  /** Entries skipped because they were malformed or used something unsupported. */
  badEntries: number;
  firstError?: string;
}

const UNSET: RegRule = { kind: 'unset' };
const MAX_STATE_STACK = 64;
/** Rows one FDE may produce (the biggest real ones have a few hundred). */
const MAX_ROWS_PER_FDE = 100_000;

function cloneState(s: FrameState): FrameState {
  return { cfaReg: s.cfaReg, cfaOffset: s.cfaOffset, cfaExpr: s.cfaExpr, rbp: s.rbp, ra: s.ra };
}

/** glibc/binutils .plt entries: DW_OP_breg7 8; DW_OP_breg16 0; lit15; and; lit11 (or lit10); ge; lit3; shl; plus. */
function pltThreshold(expr: Buffer): number {
  if (expr.length !== 11) return -1;
  const head = [0x77, 0x08, 0x80, 0x00, 0x3f, 0x1a];
  for (let i = 0; i < head.length; i++) if (expr[i] !== head[i]) return -1;
  const lit = expr[6]!;
  if (lit < 0x30 || lit > 0x4f) return -1;
  if (expr[7] !== 0x2a || expr[8] !== 0x33 || expr[9] !== 0x24 || expr[10] !== 0x22) return -1;
  return lit - 0x30;
}

/** Section geometry that pointer encodings are relative to. */
export interface CfiSectionInfo {
  data: Buffer;
  /** sh_addr of the section (for DW_EH_PE_pcrel); 0 for .debug_frame. */
  addr: number;
  isEhFrame: boolean;
}

function readEncoded(c: Cursor, enc: number, sec: CfiSectionInfo, addressSize: number): number {
  if (enc === 0xff) throw new CfiError('omitted pointer where one is required');
  const fieldAddr = sec.addr + c.pos;
  let v: number;
  switch (enc & 0x0f) {
    case 0x00:
      v = addressSize === 4 ? c.u32() : c.u64();
      break;
    case 0x01:
      v = c.uleb();
      break;
    case 0x02:
      v = c.u16();
      break;
    case 0x03:
      v = c.u32();
      break;
    case 0x04:
      v = c.u64();
      break;
    case 0x09:
      v = c.sleb();
      break;
    case 0x0a:
      v = c.s16();
      break;
    case 0x0b:
      v = c.s32();
      break;
    case 0x0c:
      v = c.s64();
      break;
    default:
      throw new CfiError(`pointer encoding 0x${enc.toString(16)}`);
  }
  switch (enc & 0x70) {
    case 0x00:
      break;
    case 0x10:
      v += fieldAddr;
      break;
    default:
      throw new CfiError(`pointer application 0x${(enc & 0x70).toString(16)}`);
  }
  if (enc & 0x80) throw new CfiError('indirect pointer');
  return v;
}

/** Like readEncoded but for a length: the format only, no pc-relative base. */
function readEncodedRange(c: Cursor, enc: number, sec: CfiSectionInfo, addressSize: number): number {
  return readEncoded(c, enc & 0x0f, sec, addressSize);
}

function parseCie(sec: CfiSectionInfo, start: number, end: number): Cie {
  const c = new Cursor(sec.data, start, end);
  const version = c.u8();
  if (version !== 1 && version !== 3 && version !== 4) throw new CfiError(`CIE version ${version}`);
  const aug = c.cstring(32);
  let addressSize = 8;
  if (version === 4) {
    addressSize = c.u8();
    c.u8(); // segment selector size
    if (addressSize !== 4 && addressSize !== 8) throw new CfiError(`address size ${addressSize}`);
  }
  if (aug.includes('eh')) c.skip(addressSize); // ancient GCC "eh" augmentation: an eh_ptr
  const codeAlign = c.uleb();
  const dataAlign = c.sleb();
  const raReg = version === 1 ? c.u8() : c.uleb();
  let fdeEncoding = 0;
  let hasAugData = false;
  if (aug.startsWith('z')) {
    hasAugData = true;
    const len = c.uleb();
    const augEnd = c.pos + len;
    if (augEnd > end) throw new CfiError('CIE augmentation data runs past the entry');
    for (const ch of aug.slice(1)) {
      if (ch === 'R') fdeEncoding = c.u8();
      else if (ch === 'L') c.u8();
      else if (ch === 'P')
        readEncoded(c, c.u8() & 0x7f, sec, addressSize); // personality: value unused, indirect bit irrelevant
      else if (ch === 'S' || ch === 'B' || ch === 'G') continue;
      else break; // unknown: the length lets us skip the rest
    }
    c.pos = augEnd;
  } else if (aug !== '' && aug !== 'eh') {
    throw new CfiError(`augmentation "${aug}" without 'z'`);
  }
  const cie: Cie = {
    codeAlign,
    dataAlign,
    raReg,
    fdeEncoding,
    hasAugData,
    signalFrame: aug.startsWith('z') && aug.includes('S'),
    addressSize,
    initial: { cfaReg: REG_RSP, cfaOffset: 8, cfaExpr: 0, rbp: UNSET, ra: UNSET },
  };
  const state: FrameState = { cfaReg: -1, cfaOffset: 0, cfaExpr: 0, rbp: UNSET, ra: UNSET };
  runProgram(c, cie, state, null, sec, 0, Infinity, () => {});
  cie.initial = state;
  return cie;
}

/**
 * Runs a CFA program from c.pos to c.end. `initial` is the CIE state (for
 * DW_CFA_restore*), null while running the CIE itself. `emit(loc, state)` is called
 * each time the location advances past rows.
 */
function runProgram(
  c: Cursor,
  cie: Cie,
  state: FrameState,
  initial: FrameState | null,
  sec: CfiSectionInfo,
  startLoc: number,
  endLoc: number,
  emit: (loc: number, s: FrameState) => void,
): number {
  let loc = startLoc;
  const stack: FrameState[] = [];
  const setReg = (reg: number, rule: RegRule) => {
    if (reg === REG_RBP) state.rbp = rule;
    else if (reg === cie.raReg) state.ra = rule;
  };
  const restoreReg = (reg: number) => {
    const from = initial ?? state;
    if (reg === REG_RBP) state.rbp = initial ? from.rbp : UNSET;
    else if (reg === cie.raReg) state.ra = initial ? from.ra : UNSET;
  };
  while (c.pos < c.end) {
    const op = c.u8();
    const hi = op & 0xc0;
    const low = op & 0x3f;
    let delta = -1;
    if (hi === 0x40) delta = low;
    else if (op === 0x02) delta = c.u8();
    else if (op === 0x03) delta = c.u16();
    else if (op === 0x04) delta = c.u32();
    if (delta >= 0) {
      const next = loc + delta * cie.codeAlign;
      if (next > loc && loc < endLoc) emit(loc, state);
      loc = next;
      continue;
    }
    if (hi === 0x80) {
      setReg(low, { kind: 'offset', offset: c.uleb() * cie.dataAlign });
      continue;
    }
    if (hi === 0xc0) {
      restoreReg(low);
      continue;
    }
    switch (op) {
      case 0x00:
        break; // nop
      case 0x01: {
        // set_loc
        const next = readEncoded(c, cie.fdeEncoding, sec, cie.addressSize);
        if (next > loc && loc < endLoc) emit(loc, state);
        loc = next;
        break;
      }
      case 0x05:
        setReg(c.uleb(), { kind: 'offset', offset: c.uleb() * cie.dataAlign });
        break;
      case 0x06:
        restoreReg(c.uleb());
        break;
      case 0x07:
        setReg(c.uleb(), { kind: 'undefined' });
        break;
      case 0x08:
        setReg(c.uleb(), { kind: 'same' });
        break;
      case 0x09: {
        const reg = c.uleb();
        c.uleb();
        setReg(reg, { kind: 'other' });
        break;
      }
      case 0x0a:
        if (stack.length >= MAX_STATE_STACK) throw new CfiError('remember_state nesting too deep');
        stack.push(cloneState(state));
        break;
      case 0x0b: {
        const s = stack.pop();
        if (!s) throw new CfiError('restore_state without remember_state');
        // The CFA rule and registers come back; the location does not.
        state.cfaReg = s.cfaReg;
        state.cfaOffset = s.cfaOffset;
        state.cfaExpr = s.cfaExpr;
        state.rbp = s.rbp;
        state.ra = s.ra;
        break;
      }
      case 0x0c:
        state.cfaReg = c.uleb();
        state.cfaOffset = c.uleb();
        state.cfaExpr = 0;
        break;
      case 0x0d:
        state.cfaReg = c.uleb();
        state.cfaExpr = 0;
        break;
      case 0x0e:
        state.cfaOffset = c.uleb();
        break;
      case 0x0f: {
        const len = c.uleb();
        const start = c.pos;
        c.skip(len);
        const t = pltThreshold(c.buf.subarray(start, start + len));
        state.cfaExpr = t >= 0 ? 1000 + t : -1;
        break;
      }
      case 0x10: {
        const reg = c.uleb();
        c.skip(c.uleb());
        setReg(reg, { kind: 'other' });
        break;
      }
      case 0x11:
        setReg(c.uleb(), { kind: 'offset', offset: c.sleb() * cie.dataAlign });
        break;
      case 0x12:
        state.cfaReg = c.uleb();
        state.cfaOffset = c.sleb() * cie.dataAlign;
        state.cfaExpr = 0;
        break;
      case 0x13:
        state.cfaOffset = c.sleb() * cie.dataAlign;
        break;
      case 0x14: {
        const reg = c.uleb();
        c.uleb();
        setReg(reg, { kind: 'other' });
        break;
      }
      case 0x15: {
        const reg = c.uleb();
        c.sleb();
        setReg(reg, { kind: 'other' });
        break;
      }
      case 0x16: {
        const reg = c.uleb();
        c.skip(c.uleb());
        setReg(reg, { kind: 'other' });
        break;
      }
      case 0x2e:
        c.uleb();
        break; // GNU_args_size
      case 0x2f:
        setReg(c.uleb(), { kind: 'offset', offset: -c.uleb() * cie.dataAlign });
        break;
      default:
        throw new CfiError(`unknown CFA opcode 0x${op.toString(16)}`);
    }
  }
  return loc;
}

export interface FdeRows {
  pcBegin: number;
  pcEnd: number;
  rows: UnwindRow[];
}

function toRow(pc: number, s: FrameState): UnwindRow {
  let cfaType: CfaType;
  let cfaOffset = s.cfaOffset;
  if (s.cfaExpr >= 1000) {
    cfaType = CfaType.Plt;
    cfaOffset = s.cfaExpr - 1000;
  } else if (s.cfaExpr < 0) cfaType = CfaType.Unsupported;
  else if (s.cfaReg === REG_RSP) cfaType = CfaType.Rsp;
  else if (s.cfaReg === REG_RBP) cfaType = CfaType.Rbp;
  else cfaType = CfaType.Unsupported;
  if (s.ra.kind === 'undefined') cfaType = CfaType.End;
  else if (cfaType !== CfaType.Unsupported && !(s.ra.kind === 'offset' && s.ra.offset === -8)) cfaType = CfaType.Unsupported;
  if (cfaType === CfaType.Unsupported || cfaType === CfaType.End) cfaOffset = 0;
  let rbpType = RbpType.Unchanged;
  let rbpOffset = 0;
  if (s.rbp.kind === 'offset') {
    if (s.rbp.offset >= -32768 && s.rbp.offset <= 32767) {
      rbpType = RbpType.CfaOffset;
      rbpOffset = s.rbp.offset;
    } else rbpType = RbpType.Unknown;
  } else if (s.rbp.kind === 'other' || s.rbp.kind === 'undefined') rbpType = RbpType.Unknown;
  if ((cfaType === CfaType.Rsp || cfaType === CfaType.Rbp) && (cfaOffset < -(2 ** 31) || cfaOffset >= 2 ** 31)) {
    cfaType = CfaType.Unsupported;
    cfaOffset = 0;
  }
  return { pc, cfaType, cfaOffset, rbpType, rbpOffset };
}

function sameRule(a: UnwindRow, b: UnwindRow): boolean {
  return a.cfaType === b.cfaType && a.cfaOffset === b.cfaOffset && a.rbpType === b.rbpType && a.rbpOffset === b.rbpOffset;
}

/**
 * Walks every FDE of a CFI section, yielding its rows. A generator so that a caller
 * can bound the time of each step (the table builder yields to the event loop).
 */
export function* walkCfi(sec: CfiSectionInfo, stats: CfiStats): Generator<FdeRows> {
  const data = sec.data;
  const cies = new Map<number, Cie | null>();
  let pos = 0;
  const fail = (err: unknown) => {
    stats.badEntries++;
    stats.firstError ??= err instanceof Error ? err.message : String(err);
  };
  while (pos + 4 <= data.length) {
    const entryStart = pos;
    let length = data.readUInt32LE(pos);
    let hdr = 4;
    if (length === 0) {
      if (sec.isEhFrame) break; // .eh_frame terminator
      pos += 4;
      continue;
    }
    let offsetSize = 4;
    if (length === 0xffffffff) {
      if (pos + 12 > data.length) break;
      const l64 = data.readBigUInt64LE(pos + 4);
      if (l64 > BigInt(data.length)) break;
      length = Number(l64);
      hdr = 12;
      offsetSize = 8;
    }
    const bodyStart = pos + hdr;
    const end = bodyStart + length;
    if (end > data.length || length < offsetSize) {
      fail(new CfiError(`entry at ${entryStart} runs past the section`));
      break; // lengths chain the entries: one bad length loses the rest
    }
    pos = end;
    const idField = offsetSize === 4 ? data.readUInt32LE(bodyStart) : Number(data.readBigUInt64LE(bodyStart));
    const isCie = sec.isEhFrame ? idField === 0 : offsetSize === 4 ? idField === 0xffffffff : data.readBigUInt64LE(bodyStart) === 0xffffffffffffffffn;
    if (isCie) continue; // parsed lazily, when an FDE names it
    try {
      const ciePos = sec.isEhFrame ? bodyStart - idField : idField;
      let cie = cies.get(ciePos);
      if (cie === undefined) {
        cie = null;
        try {
          if (ciePos < 0 || ciePos + 4 > data.length) throw new CfiError(`CIE pointer ${ciePos} outside the section`);
          let cl = data.readUInt32LE(ciePos);
          let ch = 4;
          if (cl === 0xffffffff) {
            if (ciePos + 12 > data.length) throw new CfiError('CIE header truncated');
            cl = Number(data.readBigUInt64LE(ciePos + 4));
            ch = 12;
          }
          const cEnd = ciePos + ch + cl;
          if (cEnd > data.length) throw new CfiError('CIE runs past the section');
          cie = parseCie(sec, ciePos + ch + (ch === 4 ? 4 : 8), cEnd);
          stats.cies++;
        } finally {
          cies.set(ciePos, cie);
        }
      }
      if (!cie) throw new CfiError('FDE names a malformed CIE');
      const c = new Cursor(data, bodyStart + offsetSize, end);
      const enc = sec.isEhFrame ? cie.fdeEncoding : 0;
      const pcBegin = readEncoded(c, enc, sec, cie.addressSize);
      const pcRange = readEncodedRange(c, enc, sec, cie.addressSize);
      if (cie.hasAugData) c.skip(c.uleb());
      const pcEnd = pcBegin + pcRange;
      if (pcRange <= 0 || pcEnd > 2 ** 48) continue; // empty or bogus: nothing to cover
      stats.fdes++;
      const rows: UnwindRow[] = [];
      const state = cloneState(cie.initial);
      const push = (loc: number, s: FrameState) => {
        if (rows.length >= MAX_ROWS_PER_FDE) throw new CfiError('FDE has too many rows');
        const r = toRow(loc, s);
        const last = rows[rows.length - 1];
        if (last && last.pc === loc) rows[rows.length - 1] = r;
        else if (!last || !sameRule(last, r)) rows.push(r);
      };
      const loc = runProgram(c, cie, state, cie.initial, sec, pcBegin, pcEnd, push);
      if (loc < pcEnd) push(Math.max(loc, pcBegin), state);
      // Its CFA program (expressions over the ucontext) is what the walker's SigFrame rule does.
      if (cie.signalFrame) rows.splice(0, rows.length, { pc: pcBegin, cfaType: CfaType.SigFrame, cfaOffset: 0, rbpType: RbpType.Unchanged, rbpOffset: 0 });
      yield { pcBegin, pcEnd, rows };
    } catch (err) {
      fail(err);
    }
  }
}
