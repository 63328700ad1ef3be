/**
 * Call trees for rendering: stacks merged by common prefix. One node type carries two
 * sides (base, head) so the plain and the differential flame graph share layout code; a
 * plain flame graph fills only `head`.
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

interface Building {
  id: number;
  baseTotal: number;
  baseSelf: number;
  headTotal: number;
  headSelf: number;
  kids: Map<number, Building>;
}

function node(id: number): Building {
  return { id, baseTotal: 0, baseSelf: 0, headTotal: 0, headSelf: 0, kids: new Map() };
}

function insert(root: Building, p: Profile, remap: readonly number[], isHead: boolean): void {
  for (const s of p.stacks) {
    let n = root;
    if (isHead) n.headTotal += s.samples;
    else n.baseTotal += s.samples;
    for (const f of s.frames) {
      const id = remap[f]!;
      let k = n.kids.get(id);
      if (!k) {
        k = node(id);
        n.kids.set(id, k);
      }
      n = k;
      if (isHead) n.headTotal += s.samples;
      else n.baseTotal += s.samples;
    }
    if (isHead) n.headSelf += s.samples;
    else n.baseSelf += s.samples;
  }
}

function finish(b: Building, names: readonly string[]): TreeNode {
  const children = [...b.kids.values()].map((k) => finish(k, names));
  // Alphabetical, as flame graphs order siblings: position carries no meaning, so keep it stable.
  children.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
  return {
    name: b.id < 0 ? 'all' : names[b.id]!,
    baseTotal: b.baseTotal,
    baseSelf: b.baseSelf,
    headTotal: b.headTotal,
    headSelf: b.headSelf,
    children,
  };
}

/** Call tree of one profile (values in `head*`), rooted at a synthetic `all` node. */
export function buildTree(p: Profile): TreeNode {
  const root = node(-1);
  insert(
    root,
    p,
    p.names.map((_, i) => i),
    true,
  );
  return finish(root, p.names);
}

/** Call tree of both sides, rooted at a synthetic `all` node. */
export function buildDiffTree(base: Profile, head: Profile): TreeNode {
  const table = new NameTable(base.names);
  const headRemap = head.names.map((n) => table.id(n));
  const root = node(-1);
  insert(
    root,
    base,
    base.names.map((_, i) => i),
    false,
  );
  insert(root, head, headRemap, true);
  return finish(root, table.names);
}
