/**
 * Merging and filtering, after google/pprof's `profile.Merge` and tag filters: merge
 * re-interns frame names into one table and sums identical stacks; filter keeps stacks
 * whose labels match every given selector.
 */
import { aggregate, NameTable, type Labels, type Profile, type Stack } from './model.js';

/**
 * Merges profiles (windows, processes, files) into one. Durations: when the inputs carry
 * start times, the merged duration is the wall span they cover together (processes
 * profiled side by side do not add up time); otherwise durations are summed (windows
 * taken one after another).
 */
export function merge(profiles: readonly Profile[]): Profile {
  const table = new NameTable();
  const stacks: Stack[] = [];
  let malformed = 0;
  for (const p of profiles) {
    const remap = p.names.map((n) => table.id(n));
    for (const s of p.stacks) {
      stacks.push({ frames: s.frames.map((f) => remap[f]!), samples: s.samples, cpuNs: s.cpuNs, labels: s.labels });
    }
    malformed += p.malformed ?? 0;
  }
  const out: Profile = { names: table.names, stacks, malformed };
  const period = profiles.find((p) => p.periodNs !== undefined)?.periodNs;
  if (period !== undefined) out.periodNs = period;
  const timed = profiles.filter((p) => p.durationNs !== undefined);
  if (timed.length > 0 && timed.length === profiles.length) {
    if (timed.every((p) => p.startUnixNs !== undefined)) {
      let start = timed[0]!.startUnixNs!;
      let end = start + BigInt(Math.round(timed[0]!.durationNs!));
      for (const p of timed) {
        const s = p.startUnixNs!;
        const e = s + BigInt(Math.round(p.durationNs!));
        if (s < start) start = s;
        if (e > end) end = e;
      }
      out.startUnixNs = start;
      out.durationNs = Number(end - start);
    } else {
      out.durationNs = timed.reduce((a, p) => a + p.durationNs!, 0);
    }
  }
  return aggregate(out);
}

/** Label selector: each key must equal one of the given values. */
export type LabelSelector = Readonly<Record<string, string | readonly string[]>>;

function matches(labels: Labels, sel: LabelSelector): boolean {
  for (const [key, want] of Object.entries(sel)) {
    const have = labels[key];
    if (have === undefined) return false;
    if (typeof want === 'string' ? have !== want : !want.includes(have)) return false;
  }
  return true;
}

/**
 * Keeps the stacks whose labels match every key of `selector` (service, version, pid,
 * thread, span, or any pprof label). Duration is unchanged: the selection covers the same time.
 */
export function filter(p: Profile, selector: LabelSelector): Profile {
  return { ...p, stacks: p.stacks.filter((s) => matches(s.labels, selector)) };
}

/** Parses `service=checkout,version=1.4.2` into a selector; throws naming the bad part. */
export function parseSelector(text: string): LabelSelector {
  const sel: Record<string, string> = {};
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0 || eq === part.length - 1) {
      throw new Error(`bad selector part "${part}" in "${text}"; fix: write key=value pairs joined by commas, e.g. service=checkout,version=1.4.2`);
    }
    sel[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return sel;
}
