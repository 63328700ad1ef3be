/**
 * A store selection as the flame graph model, built one way for every reader (API, and CLI
 * commands when no agent holds the store), so output does not depend on which path ran.
 * Also the compact wire form of that model (`format=model`), which the CLI turns back into it.
 */
import { NameTable, type Profile, type Stack } from '../flamegraph/model.js';
import type { NamedProfile } from '../store/ui-queries.js';
import type { MergeQuery, Store } from '../store/index.js';

/** Same duration rule as flamegraph's fromMerged: first to last sample plus one period. */
export function fromNamed(m: NamedProfile): Profile {
  const table = new NameTable();
  const stacks: Stack[] = m.stacks.map((s) => ({
    frames: s.names.map((n) => table.id(n)),
    samples: Number(s.count),
    cpuNs: Number(s.cpuNs),
    labels: {},
  }));
  const p: Profile = { names: table.names, stacks };
  if (m.periodNs > 0n) p.periodNs = Number(m.periodNs);
  if (m.stacks.length > 0) {
    p.startUnixNs = m.firstUnixNs;
    p.durationNs = Number(m.lastUnixNs - m.firstUnixNs + m.periodNs);
  }
  // No aggregate(): the store groups by the names already, so every stack here is distinct.
  return p;
}

export async function selectionProfile(store: Store, q: MergeQuery): Promise<Profile> {
  if (q.labels?.length) throw new Error('selectionProfile: labels are not kept (use Store.mergeProfile)');
  return fromNamed(await store.mergeStackNames(q));
}

/** The model on the wire: names once, stacks as [frame ids root first, samples, cpuNs]. */
export interface ModelJson {
  names: string[];
  stacks: [number[], number, number][];
  periodNs?: number;
  durationNs?: number;
  startUnixNs?: string;
}

export function modelToJson(p: Profile): ModelJson {
  return {
    names: p.names,
    stacks: p.stacks.map((s) => [s.frames, s.samples, s.cpuNs]),
    ...(p.periodNs !== undefined && { periodNs: p.periodNs }),
    ...(p.durationNs !== undefined && { durationNs: p.durationNs }),
    ...(p.startUnixNs !== undefined && { startUnixNs: p.startUnixNs.toString() }),
  };
}

export function modelFromJson(j: ModelJson): Profile {
  const p: Profile = { names: j.names, stacks: j.stacks.map(([frames, samples, cpuNs]) => ({ frames, samples, cpuNs, labels: {} })) };
  if (j.periodNs !== undefined) p.periodNs = j.periodNs;
  if (j.durationNs !== undefined) p.durationNs = j.durationNs;
  if (j.startUnixNs !== undefined) p.startUnixNs = BigInt(j.startUnixNs);
  return p;
}
