/**
 * Diff of a base and a head profile, per frame (function name) and per stack.
 *
 * Raw deltas (head − base, in samples) are what `pprof -top -diff_base` prints; shares
 * (value / side total) make sides of different length comparable; CPU seconds per second
 * (cpuNs / durationNs) appear when both sides know their duration. A change is flagged only
 * when its z statistic passes the alpha threshold AND its size passes a minimum effect —
 * see stats.ts and README.md for the numbers and why.
 */
import { NameTable, totals, type Profile } from './model.js';
import { DEFAULT_ALPHA, DEFAULT_MIN_RATE_DELTA, DEFAULT_MIN_SHARE_DELTA, poissonRateZ, twoProportionZ, zForAlpha } from './stats.js';

export interface DiffOptions {
  /** Two-sided significance level of each test; default 0.001 (|z| ≥ 3.29). */
  alpha?: number;
  /** Minimum |share change| to flag, as a fraction (0.005 = 0.5 pp). */
  minShareDelta?: number;
  /** Minimum |CPU-seconds-per-second change| to flag a rate change. */
  minRateDelta?: number;
  /** Also diff whole stacks (default true). */
  stacks?: boolean;
  /** Stacks kept besides the significant ones: the largest |Δshare| first; default 1000. */
  maxStacks?: number;
}

export interface FrameSide {
  selfSamples: number;
  totalSamples: number;
  selfCpuNs: number;
  totalCpuNs: number;
  /** Share of this side's samples, 0..1. */
  selfShare: number;
  totalShare: number;
  /** CPU seconds per second of wall time, when the side's duration is known. */
  selfCpuPerSec?: number;
  totalCpuPerSec?: number;
}

export type Change = 'new' | 'gone' | 'grew' | 'shrank' | 'unchanged';

export interface RateDiff {
  deltaSelfCpuPerSec: number;
  deltaTotalCpuPerSec: number;
  /** Poisson rate z of total samples per wall second. */
  zTotal: number;
  significant: boolean;
}

export interface FrameDiff {
  name: string;
  base: FrameSide;
  head: FrameSide;
  /** head − base in samples, unnormalised, as `pprof -diff_base` reports flat and cum. */
  deltaSelfSamples: number;
  deltaTotalSamples: number;
  /** head share − base share, fraction of 1 (0.01 = 1 pp). */
  deltaSelfShare: number;
  deltaTotalShare: number;
  zSelf: number;
  zTotal: number;
  /** Share change that sampling noise does not explain (self or total). */
  significant: boolean;
  change: Change;
  /** Present when both sides know their duration. */
  rate?: RateDiff;
}

export interface StackDiff {
  /** Root first. */
  frames: string[];
  baseSamples: number;
  headSamples: number;
  deltaShare: number;
  z: number;
  significant: boolean;
}

export interface SideSummary {
  samples: number;
  cpuNs: number;
  durationNs?: number;
  cpuPerSec?: number;
}

export interface ProfileDiff {
  base: SideSummary;
  head: SideSummary;
  /** Every frame seen on either side, by |deltaSelfShare| then |deltaTotalShare|, largest first. */
  frames: FrameDiff[];
  /**
   * Significant stacks plus the `maxStacks` largest share changes (ties at the cut kept), by
   * |deltaShare|, largest first; empty when opts.stacks is false.
   */
  stacks: StackDiff[];
  /** Significant frames whose share grew (or appeared), largest self-share growth first. */
  regressions: FrameDiff[];
  /** Significant frames whose share shrank (or vanished), largest self-share drop first. */
  improvements: FrameDiff[];
  thresholds: { alpha: number; z: number; minShareDelta: number; minRateDelta: number };
}

interface SideArrays {
  self: Float64Array;
  total: Float64Array;
  selfCpu: Float64Array;
  totalCpu: Float64Array;
}

/** Per-frame self/total over one side, in the shared id space; recursion counted once in total. */
function accumulate(p: Profile, remap: Int32Array, size: number): SideArrays {
  const a: SideArrays = {
    self: new Float64Array(size),
    total: new Float64Array(size),
    selfCpu: new Float64Array(size),
    totalCpu: new Float64Array(size),
  };
  // lastSeen[id] = index of the stack that last added to id's total: dedups recursion in O(1).
  const lastSeen = new Int32Array(size).fill(-1);
  const stacks = p.stacks;
  for (let si = 0; si < stacks.length; si++) {
    const s = stacks[si]!;
    const frames = s.frames;
    if (frames.length === 0) continue;
    for (let i = 0; i < frames.length; i++) {
      const id = remap[frames[i]!]!;
      if (lastSeen[id] !== si) {
        lastSeen[id] = si;
        a.total[id]! += s.samples;
        a.totalCpu[id]! += s.cpuNs;
      }
    }
    const leaf = remap[frames[frames.length - 1]!]!;
    a.self[leaf]! += s.samples;
    a.selfCpu[leaf]! += s.cpuNs;
  }
  return a;
}

function side(p: Profile): SideSummary {
  const t = totals(p);
  const out: SideSummary = { samples: t.samples, cpuNs: t.cpuNs };
  if (p.durationNs !== undefined && p.durationNs > 0) {
    out.durationNs = p.durationNs;
    out.cpuPerSec = t.cpuNs / p.durationNs;
  }
  return out;
}

function frameSide(a: SideArrays, id: number, n: number, durationNs: number | undefined): FrameSide {
  const f: FrameSide = {
    selfSamples: a.self[id]!,
    totalSamples: a.total[id]!,
    selfCpuNs: a.selfCpu[id]!,
    totalCpuNs: a.totalCpu[id]!,
    selfShare: n > 0 ? a.self[id]! / n : 0,
    totalShare: n > 0 ? a.total[id]! / n : 0,
  };
  if (durationNs !== undefined) {
    f.selfCpuPerSec = a.selfCpu[id]! / durationNs;
    f.totalCpuPerSec = a.totalCpu[id]! / durationNs;
  }
  return f;
}

const byMagnitude = (x: FrameDiff, y: FrameDiff): number =>
  Math.abs(y.deltaSelfShare) - Math.abs(x.deltaSelfShare) || Math.abs(y.deltaTotalShare) - Math.abs(x.deltaTotalShare);

/** Diffs head against base. Neither input is changed. */
export function diff(base: Profile, head: Profile, opts: DiffOptions = {}): ProfileDiff {
  const alpha = opts.alpha ?? DEFAULT_ALPHA;
  const z = zForAlpha(alpha);
  const minShareDelta = opts.minShareDelta ?? DEFAULT_MIN_SHARE_DELTA;
  const minRateDelta = opts.minRateDelta ?? DEFAULT_MIN_RATE_DELTA;

  const table = new NameTable(base.names);
  const baseRemap = Int32Array.from(base.names, (_, i) => i);
  const headRemap = Int32Array.from(head.names, (n) => table.id(n));
  const size = table.names.length;
  const b = accumulate(base, baseRemap, size);
  const h = accumulate(head, headRemap, size);
  const bs = side(base);
  const hs = side(head);
  const timed = bs.durationNs !== undefined && hs.durationNs !== undefined;

  const frames: FrameDiff[] = [];
  for (let id = 0; id < size; id++) {
    if (b.total[id] === 0 && h.total[id] === 0) continue;
    const fb = frameSide(b, id, bs.samples, bs.durationNs);
    const fh = frameSide(h, id, hs.samples, hs.durationNs);
    const deltaSelfShare = fh.selfShare - fb.selfShare;
    const deltaTotalShare = fh.totalShare - fb.totalShare;
    const zSelf = twoProportionZ(fb.selfSamples, bs.samples, fh.selfSamples, hs.samples);
    const zTotal = twoProportionZ(fb.totalSamples, bs.samples, fh.totalSamples, hs.samples);
    const selfFlag = Math.abs(zSelf) >= z && Math.abs(deltaSelfShare) >= minShareDelta;
    const totalFlag = Math.abs(zTotal) >= z && Math.abs(deltaTotalShare) >= minShareDelta;
    const significant = selfFlag || totalFlag;
    const direction = totalFlag ? deltaTotalShare : deltaSelfShare;
    let change: Change = 'unchanged';
    if (significant) {
      if (fb.totalSamples === 0) change = 'new';
      else if (fh.totalSamples === 0) change = 'gone';
      else change = direction > 0 ? 'grew' : 'shrank';
    }
    const fd: FrameDiff = {
      name: table.names[id]!,
      base: fb,
      head: fh,
      deltaSelfSamples: fh.selfSamples - fb.selfSamples,
      deltaTotalSamples: fh.totalSamples - fb.totalSamples,
      deltaSelfShare,
      deltaTotalShare,
      zSelf,
      zTotal,
      significant,
      change,
    };
    if (timed) {
      const dTotal = fh.totalCpuPerSec! - fb.totalCpuPerSec!;
      const zRate = poissonRateZ(fb.totalSamples, bs.durationNs!, fh.totalSamples, hs.durationNs!);
      fd.rate = {
        deltaSelfCpuPerSec: fh.selfCpuPerSec! - fb.selfCpuPerSec!,
        deltaTotalCpuPerSec: dTotal,
        zTotal: zRate,
        significant: Math.abs(zRate) >= z && Math.abs(dTotal) >= minRateDelta,
      };
    }
    frames.push(fd);
  }
  frames.sort(byMagnitude);

  const stacks =
    opts.stacks === false ? [] : diffStacks(base, head, baseRemap, headRemap, table.names, bs.samples, hs.samples, z, minShareDelta, opts.maxStacks ?? 1000);

  const grewFirst = (x: FrameDiff, y: FrameDiff): number => y.deltaSelfShare - x.deltaSelfShare || y.deltaTotalShare - x.deltaTotalShare;
  return {
    base: bs,
    head: hs,
    frames,
    stacks,
    regressions: frames.filter((f) => f.change === 'new' || f.change === 'grew').sort(grewFirst),
    improvements: frames.filter((f) => f.change === 'gone' || f.change === 'shrank').sort((x, y) => grewFirst(y, x)),
    thresholds: { alpha, z, minShareDelta, minRateDelta },
  };
}

/** 32-bit hash of a remapped frame-id sequence, so stacks match by number, not by string. */
function stackHash(frames: readonly number[], remap: Int32Array): number {
  let h = 0x811c9dc5 ^ frames.length;
  for (let i = 0; i < frames.length; i++) {
    h = Math.imul(h ^ remap[frames[i]!]!, 0x5bd1e995);
    h ^= h >>> 15;
  }
  return h >>> 0;
}

function sameStack(a: readonly number[], ra: Int32Array, b: readonly number[], rb: Int32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (ra[a[i]!] !== rb[b[i]!]) return false;
  return true;
}

function diffStacks(
  base: Profile,
  head: Profile,
  baseRemap: Int32Array,
  headRemap: Int32Array,
  names: string[],
  nBase: number,
  nHead: number,
  z: number,
  minShareDelta: number,
  maxStacks: number,
): StackDiff[] {
  // Open-addressing hash table (linear probing) of entry indexes: far cheaper than a Map or
  // string keys at 100k+ stacks. An entry remembers its first stack and that stack's remap,
  // so no id array is allocated per stack.
  let cap = 1024;
  while (cap < 2 * (base.stacks.length + head.stacks.length)) cap *= 2;
  const mask = cap - 1;
  const table = new Int32Array(cap).fill(-1);
  const entFrames: (readonly number[])[] = [];
  const entRemap: Int32Array[] = [];
  const counts: number[] = [];
  for (let side = 0; side < 2; side++) {
    const p = side === 0 ? base : head;
    const remap = side === 0 ? baseRemap : headRemap;
    for (const s of p.stacks) {
      let slot = stackHash(s.frames, remap) & mask;
      let e = table[slot]!;
      while (e >= 0 && !sameStack(s.frames, remap, entFrames[e]!, entRemap[e]!)) {
        slot = (slot + 1) & mask;
        e = table[slot]!;
      }
      if (e < 0) {
        e = entFrames.length;
        table[slot] = e;
        entFrames.push(s.frames);
        entRemap.push(remap);
        counts.push(0, 0);
      }
      counts[2 * e + side]! += s.samples;
    }
  }
  const n = entFrames.length;
  const delta = new Float64Array(n);
  const zs = new Float64Array(n);
  for (let e = 0; e < n; e++) {
    const b = counts[2 * e]!;
    const h = counts[2 * e + 1]!;
    delta[e] = (nHead > 0 ? h / nHead : 0) - (nBase > 0 ? b / nBase : 0);
    zs[e] = twoProportionZ(b, nBase, h, nHead);
  }
  // Keep every significant stack plus the maxStacks largest changes; materialise only those.
  let cutoff = 0;
  if (n > maxStacks) {
    const mags = new Float64Array(n);
    for (let e = 0; e < n; e++) mags[e] = Math.abs(delta[e]!);
    cutoff = kthSmallest(mags, n - maxStacks);
  }
  const out: StackDiff[] = [];
  for (let e = 0; e < n; e++) {
    const significant = Math.abs(zs[e]!) >= z && Math.abs(delta[e]!) >= minShareDelta;
    if (!significant && Math.abs(delta[e]!) < cutoff) continue;
    out.push({
      frames: entFrames[e]!.map((f) => names[entRemap[e]![f]!]!),
      baseSamples: counts[2 * e]!,
      headSamples: counts[2 * e + 1]!,
      deltaShare: delta[e]!,
      z: zs[e]!,
      significant,
    });
  }
  out.sort((x, y) => Math.abs(y.deltaShare) - Math.abs(x.deltaShare));
  return out;
}

/** Hoare's quickselect: the k-th smallest value (0-based), reordering `a` in place. O(n) on average. */
function kthSmallest(a: Float64Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >>> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k]!;
  }
  return a[k]!;
}
