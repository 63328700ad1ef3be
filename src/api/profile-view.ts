/**
 * What the UI draws: a call tree packed as nested arrays (small JSON, no per-node keys) and the
 * top-functions table (self and total per function name), both from the flame graph model.
 */
import { buildDiffTree, buildTree, diff, totals, type Profile, type ProfileDiff, type TreeNode } from '../flamegraph/index.js';

/** [name index, base total, base self, head total, head self, children]; a plain profile fills head only. */
export type PackedNode = [number, number, number, number, number, PackedNode[]];

export interface TopFunction {
  name: string;
  selfSamples: number;
  totalSamples: number;
}

export interface ProfileView {
  totalSamples: number;
  cpuNs: number;
  periodNs: number | null;
  durationNs: number | null;
  startUnixNs: string | null;
  names: string[];
  root: PackedNode;
  /** Every function with samples, by self samples, then total. */
  top: TopFunction[];
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
export function pack(root: TreeNode, baseN: number, headN: number, minShare: number): { names: string[]; root: PackedNode } {
  const names: string[] = [];
  const ids = new Map<string, number>();
  const share = (n: TreeNode) => Math.max(baseN > 0 ? n.baseTotal / baseN : 0, headN > 0 ? n.headTotal / headN : 0);
  const walk = (n: TreeNode): PackedNode => {
    let id = ids.get(n.name);
    if (id === undefined) {
      id = names.length;
      names.push(n.name);
      ids.set(n.name, id);
    }
    return [id, n.baseTotal, n.baseSelf, n.headTotal, n.headSelf, n.children.filter((c) => share(c) >= minShare).map(walk)];
  };
  return { names, root: walk(root) };
}

/** Self and total samples per function name; a recursive function counts once per stack in total. */
export function topFunctions(p: Profile): TopFunction[] {
  const self = new Float64Array(p.names.length);
  const total = new Float64Array(p.names.length);
  const seen = new Int32Array(p.names.length).fill(-1);
  p.stacks.forEach((s, si) => {
    for (const f of s.frames) {
      if (seen[f] !== si) {
        seen[f] = si;
        total[f]! += s.samples;
      }
    }
    const leaf = s.frames[s.frames.length - 1];
    if (leaf !== undefined) self[leaf]! += s.samples;
  });
  const ids = p.names.map((_, i) => i).filter((i) => total[i]! > 0);
  ids.sort((a, b) => self[b]! - self[a]! || total[b]! - total[a]! || (p.names[a]! < p.names[b]! ? -1 : 1));
  return ids.map((i) => ({ name: p.names[i]!, selfSamples: self[i]!, totalSamples: total[i]! }));
}

export function profileView(p: Profile, minShare = 1e-4): ProfileView {
  const tree = buildTree(p);
  const packed = pack(tree, 0, tree.headTotal, minShare);
  const t = totals(p);
  return {
    totalSamples: t.samples,
    cpuNs: t.cpuNs,
    periodNs: p.periodNs ?? null,
    durationNs: p.durationNs ?? null,
    startUnixNs: p.startUnixNs?.toString() ?? null,
    ...packed,
    top: topFunctions(p),
  };
}

export function diffView(base: Profile, head: Profile, top = 20, minShare = 1e-4, d: ProfileDiff = diff(base, head)): DiffView {
  const tree = buildDiffTree(base, head);
  return {
    ...pack(tree, tree.baseTotal, tree.headTotal, minShare),
    baseSamples: tree.baseTotal,
    headSamples: tree.headTotal,
    regressions: d.regressions.slice(0, top),
    improvements: d.improvements.slice(0, top),
    thresholds: d.thresholds,
  };
}
