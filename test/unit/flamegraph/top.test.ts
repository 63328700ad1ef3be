import { describe, expect, it } from 'vitest';
import { topFunctionTable, topFunctions } from '../../../src/flamegraph/top.js';
import { NameTable, type Profile } from '../../../src/flamegraph/model.js';

function profile(stacks: [string[], number][]): Profile {
  const t = new NameTable();
  return { names: t.names, stacks: stacks.map(([names, samples]) => ({ frames: names.map((n) => t.id(n)), samples, cpuNs: 0, labels: {} })) };
}

describe('top functions', () => {
  const p = profile([
    [['main', 'a', 'a', 'leaf1'], 5], // recursion: `a` counts once per stack in total
    [['main', 'b'], 3],
    [['main', 'c', 'leaf2'], 2],
  ]);

  it('counts self at the leaf and total once per stack, ordered by self then total then name', () => {
    expect(topFunctions(p)).toEqual([
      { name: 'leaf1', selfSamples: 5, totalSamples: 5 },
      { name: 'b', selfSamples: 3, totalSamples: 3 },
      { name: 'leaf2', selfSamples: 2, totalSamples: 2 },
      { name: 'main', selfSamples: 0, totalSamples: 10 },
      { name: 'a', selfSamples: 0, totalSamples: 5 },
      { name: 'c', selfSamples: 0, totalSamples: 2 },
    ]);
  });

  it('with a limit keeps the head of both orders, in the self order', () => {
    // First 2 by self: leaf1, b; first 2 by total: main, then a/leaf1 (5 each; leaf1 has more self).
    expect(topFunctions(p, 2).map((f) => f.name)).toEqual(['leaf1', 'b', 'main']);
  });

  it('counts the functions with samples that a limit leaves out (a stack without samples adds none)', () => {
    const q = profile([
      [['main', 'a', 'a', 'leaf1'], 5],
      [['main', 'b'], 3],
      [['main', 'c', 'leaf2'], 2],
      [['main', 'idle'], 0],
    ]);
    expect(topFunctionTable(q, 2).omitted).toBe(3); // a, c, leaf2; not idle
    expect(topFunctionTable(q).omitted).toBe(0);
  });
});
