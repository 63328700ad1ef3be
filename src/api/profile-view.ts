/**
 * What the UI draws: a call tree packed as nested arrays (small JSON, no per-node keys) and the
 * top-functions table (self and total per function name), both from the flame graph model.
 */
import {
  buildDiffTree,
  buildTree,
  diff,
  pack,
  topFunctionTable,
  totals,
  type PackedNode,
  type Profile,
  type ProfileDiff,
  type TopFunction,
} from '../flamegraph/index.js';

/** The UI shows 300 rows of the top table: 500 each way is its whole head, whichever column sorts it. */
export const DEFAULT_TOP_LIMIT = 500;

export interface ProfileView {
  totalSamples: number;
  cpuNs: number;
  periodNs: number | null;
  durationNs: number | null;
  startUnixNs: string | null;
  names: string[];
  root: PackedNode;
  /** Functions by self samples, then total: the first `topLimit` each way (topFunctions). */
  top: TopFunction[];
  /** Functions with samples left out of `top`. */
  topOmitted: number;
}

export interface DiffView {
  names: string[];
  root: PackedNode;
  baseSamples: number;
  headSamples: number;
  regressions: ProfileDiff['regressions'];
  improvements: ProfileDiff['improvements'];
  thresholds: ProfileDiff['thresholds'];
}

/**
 * Nodes under `minShare` of either side are left out of the tree (they are below a pixel on any
 * screen); the top table is computed from the whole profile, so no sample is lost from it.
 */
export function profileView(p: Profile, minShare = 1e-4, topLimit = DEFAULT_TOP_LIMIT): ProfileView {
  const packed = pack(buildTree(p, { minShare }));
  const top = topFunctionTable(p, topLimit);
  const t = totals(p);
  return {
    totalSamples: t.samples,
    cpuNs: t.cpuNs,
    periodNs: p.periodNs ?? null,
    durationNs: p.durationNs ?? null,
    startUnixNs: p.startUnixNs?.toString() ?? null,
    ...packed,
    top: top.rows,
    topOmitted: top.omitted,
  };
}

export function diffView(base: Profile, head: Profile, top = 20, minShare = 1e-4, d: ProfileDiff = diff(base, head)): DiffView {
  const tree = buildDiffTree(base, head, { minShare });
  return {
    ...pack(tree),
    baseSamples: tree.baseTotal,
    headSamples: tree.headTotal,
    regressions: d.regressions.slice(0, top),
    improvements: d.improvements.slice(0, top),
    thresholds: d.thresholds,
  };
}
