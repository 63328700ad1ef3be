/**
 * Call trees for rendering: stacks merged by common prefix. One node type carries two
 * sides (base, head) so the plain and the differential flame graph share layout code; a
 * plain flame graph fills only `head`.
 *
 * Built from the stacks in lexicographic order, so each node is complete the moment the walk
 * leaves its prefix: a node narrower than `minShare` is dropped right there and only kept nodes
 * stay. A 10-minute flame graph of 100k distinct stacks has over a million nodes, of which a few
 * hundred are wider than a pixel; no map or object per node is built for the rest.
 */
import { NameTable, type Profile } from './model.js';

export interface TreeNode {
  name: string;
  /** Samples in this node and below / in this node only, per side. */
  baseTotal: number;
  baseSelf: number;
  headTotal: number;
  headSelf: number;
  children: TreeNode[];
}

export interface TreeOptions {
  /**
   * Leave out nodes narrower than this share of their side's total on both sides (and all below
   * them). Their samples stay in their ancestors' totals. Default 0: every node.
   */
  minShare?: number;
}

/** One stack of one side, its frames in the tree's name ids. */
interface Entry {
  frames: readonly number[];
  samples: number;
  isHead: boolean;
}

function compareFrames(a: Entry, b: Entry): number {
  const n = Math.min(a.frames.length, b.frames.length);
  for (let i = 0; i < n; i++) if (a.frames[i] !== b.frames[i]) return a.frames[i]! - b.frames[i]!;
  return a.frames.length - b.frames.length;
}

const fresh = (name: string): TreeNode => ({ name, baseTotal: 0, baseSelf: 0, headTotal: 0, headSelf: 0, children: [] });

function build(entries: Entry[], names: readonly string[], minShare: number): TreeNode {
  entries.sort(compareFrames);
  let baseN = 0;
  let headN = 0;
  for (const e of entries) {
    if (e.isHead) headN += e.samples;
    else baseN += e.samples;
  }
  const kept = (n: TreeNode) => Math.max(baseN > 0 ? n.baseTotal / baseN : 0, headN > 0 ? n.headTotal / headN : 0) >= minShare;
  const root = fresh('all');
  // The open path: path[d] is the node at depth d of the stack being walked; a node joins its
  // parent's children when the walk leaves it, complete.
  const path: TreeNode[] = [root];
  const closeTo = (depth: number): void => {
    while (path.length > depth + 1) {
      const n = path.pop()!;
      // When a node is dropped, its descendants (never wider) were dropped before it.
      if (kept(n)) path[path.length - 1]!.children.push(n);
    }
  };
  let prev: readonly number[] = [];
  for (const e of entries) {
    let common = 0;
    const max = Math.min(prev.length, e.frames.length);
    while (common < max && prev[common] === e.frames[common]) common++;
    closeTo(common);
    for (let d = common; d < e.frames.length; d++) path.push(fresh(names[e.frames[d]!]!));
    for (const n of path) {
      if (e.isHead) n.headTotal += e.samples;
      else n.baseTotal += e.samples;
    }
    const leaf = path[path.length - 1]!;
    if (e.isHead) leaf.headSelf += e.samples;
    else leaf.baseSelf += e.samples;
    prev = e.frames;
  }
  closeTo(0);
  const order = (n: TreeNode): void => {
    // Alphabetical, as flame graphs order siblings: position carries no meaning, so keep it stable.
    n.children.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
    for (const c of n.children) order(c);
  };
  order(root);
  return root;
}

/** Call tree of one profile (values in `head*`), rooted at a synthetic `all` node. */
export function buildTree(p: Profile, opts: TreeOptions = {}): TreeNode {
  const entries = p.stacks.map((s) => ({ frames: s.frames, samples: s.samples, isHead: true }));
  return build(entries, p.names, opts.minShare ?? 0);
}

/** Call tree of both sides, rooted at a synthetic `all` node. */
export function buildDiffTree(base: Profile, head: Profile, opts: TreeOptions = {}): TreeNode {
  const table = new NameTable(base.names);
  const headRemap = head.names.map((n) => table.id(n));
  const entries: Entry[] = base.stacks.map((s) => ({ frames: s.frames, samples: s.samples, isHead: false }));
  for (const s of head.stacks) entries.push({ frames: s.frames.map((f) => headRemap[f]!), samples: s.samples, isHead: true });
  return build(entries, table.names, opts.minShare ?? 0);
}

/** A tree node on the wire: [name index, base total, base self, head total, head self, children]. */
export type PackedNode = [number, number, number, number, number, PackedNode[]];

/** The tree as nested arrays with each name once: small JSON, no per-node keys (the UI and HTML pages read it). */
export function pack(root: TreeNode): { names: string[]; root: PackedNode } {
  const names: string[] = [];
  const ids = new Map<string, number>();
  const walk = (n: TreeNode): PackedNode => {
    let id = ids.get(n.name);
    if (id === undefined) {
      id = names.length;
      names.push(n.name);
      ids.set(n.name, id);
    }
    return [id, n.baseTotal, n.baseSelf, n.headTotal, n.headSelf, n.children.map(walk)];
  };
  return { names, root: walk(root) };
}
