/** Self and total samples per function name: the `pprof -top` table, for terminals and the UI. */
import type { Profile } from './model.js';

export interface TopFunction {
  name: string;
  selfSamples: number;
  totalSamples: number;
}

/**
 * Every function with samples, by self samples, then total, then name; a recursive function
 * counts once per stack in its total. With `limit`, the first `limit` by self plus any function in
 * the first `limit` by total (so a table sorted either way has its head), still in that order.
 */
export function topFunctions(p: Profile, limit = Infinity): TopFunction[] {
  return topFunctionTable(p, limit).rows;
}

/** topFunctions, and how many functions with samples the limit left out of it. */
export function topFunctionTable(p: Profile, limit = Infinity): { rows: TopFunction[]; omitted: number } {
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
  let ids = p.names.map((_, i) => i).filter((i) => total[i]! > 0);
  const byName = (a: number, b: number) => (p.names[a]! < p.names[b]! ? -1 : p.names[a]! > p.names[b]! ? 1 : 0);
  ids.sort((a, b) => self[b]! - self[a]! || total[b]! - total[a]! || byName(a, b));
  const withSamples = ids.length;
  if (ids.length > limit) {
    const byTotal = [...ids].sort((a, b) => total[b]! - total[a]! || self[b]! - self[a]! || byName(a, b));
    const keep = new Set([...ids.slice(0, limit), ...byTotal.slice(0, limit)]);
    ids = ids.filter((i) => keep.has(i));
  }
  return { rows: ids.map((i) => ({ name: p.names[i]!, selfSamples: self[i]!, totalSamples: total[i]! })), omitted: withSamples - ids.length };
}
