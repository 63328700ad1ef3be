import { describe, expect, it } from 'vitest';
import { buildDiffTree, buildTree, type TreeNode } from '../../../src/flamegraph/tree.js';
import { NameTable, type Profile } from '../../../src/flamegraph/model.js';

/** A deterministic random profile: `n` stacks over a few names, so prefixes are shared and repeat. */
function randomProfile(n: number, seed: number, extra = ''): Profile {
  let x = seed;
  const r = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const t = new NameTable();
  const stacks = Array.from({ length: n }, () => {
    const depth = 1 + Math.floor(r() * 6);
    const frames = Array.from({ length: depth }, (_, d) => t.id(`f${Math.floor(r() * (d + 2))}${extra}`));
    return { frames, samples: 1 + Math.floor(r() * 5), cpuNs: 0, labels: {} };
  });
  return { names: t.names, stacks };
}

/** The obvious construction, node by node with a map per node: the reference the walk must equal. */
function reference(sides: { p: Profile; head: boolean }[], minShare: number): TreeNode {
  type B = { name: string; bt: number; bs: number; ht: number; hs: number; kids: Map<string, B> };
  const mk = (name: string): B => ({ name, bt: 0, bs: 0, ht: 0, hs: 0, kids: new Map() });
  const root = mk('all');
  for (const { p, head } of sides) {
    for (const s of p.stacks) {
      let n = root;
      head ? (n.ht += s.samples) : (n.bt += s.samples);
      for (const f of s.frames) {
        const name = p.names[f]!;
        if (!n.kids.has(name)) n.kids.set(name, mk(name));
        n = n.kids.get(name)!;
        head ? (n.ht += s.samples) : (n.bt += s.samples);
      }
      head ? (n.hs += s.samples) : (n.bs += s.samples);
    }
  }
  const share = (b: B) => Math.max(root.bt > 0 ? b.bt / root.bt : 0, root.ht > 0 ? b.ht / root.ht : 0);
  const out = (b: B): TreeNode => ({
    name: b.name,
    baseTotal: b.bt,
    baseSelf: b.bs,
    headTotal: b.ht,
    headSelf: b.hs,
    children: [...b.kids.values()]
      .filter((k) => share(k) >= minShare)
      .sort((x, y) => (x.name < y.name ? -1 : 1))
      .map(out),
  });
  return out(root);
}

const count = (n: TreeNode): number => 1 + n.children.reduce((s, c) => s + count(c), 0);

describe('call tree', () => {
  it('equals the node-by-node construction, every node kept', () => {
    const p = randomProfile(3000, 7);
    expect(buildTree(p)).toEqual(reference([{ p, head: true }], 0));
  });

  it('drops exactly the nodes under minShare, their samples still in their ancestors', () => {
    const p = randomProfile(3000, 11);
    const all = buildTree(p);
    const pruned = buildTree(p, { minShare: 0.01 });
    expect(pruned).toEqual(reference([{ p, head: true }], 0.01));
    expect(count(pruned)).toBeLessThan(count(all));
    expect(pruned.headTotal).toBe(all.headTotal);
  });

  it('merges both sides of a diff by name, names only one side has included', () => {
    const base = randomProfile(2000, 3);
    const head = randomProfile(2000, 5, 'x'); // other names: nodes with one side only
    const same = randomProfile(500, 3);
    for (const minShare of [0, 0.005]) {
      expect(
        buildDiffTree(
          base,
          {
            names: [...head.names, ...same.names],
            stacks: [...head.stacks, ...same.stacks.map((s) => ({ ...s, frames: s.frames.map((f) => f + head.names.length) }))],
          },
          { minShare },
        ),
      ).toEqual(
        reference(
          [
            { p: base, head: false },
            { p: head, head: true },
            { p: same, head: true },
          ],
          minShare,
        ),
      );
    }
  });
});
