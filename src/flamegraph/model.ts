/**
 * The one profile model every input is converted to and every rendering reads.
 *
 * A profile is a list of stacks; each stack is a root-first list of frame ids (indexes
 * into `names`) with a sample count, the CPU time those samples stand for, and labels
 * (service, version, pid, thread, span) used to filter and merge. Frame names are
 * interned per profile so that diffing 100k stacks compares small integers, not strings.
 */

/** Label keys hotspan attaches to stacks; other keys from pprof files are kept as is. */
export type LabelKey = 'service' | 'version' | 'pid' | 'thread' | 'span' | (string & {});

export type Labels = Readonly<Record<string, string>>;

export interface Stack {
  /** Frame ids into `Profile.names`, root first. */
  frames: number[];
  /** Number of samples that saw exactly this stack (what significance tests count). */
  samples: number;
  /** CPU time those samples stand for, nanoseconds (samples × periodNs when derived). */
  cpuNs: number;
  labels: Labels;
}

export interface Profile {
  /** Frame names indexed by frame id. */
  names: string[];
  stacks: Stack[];
  /** CPU nanoseconds one sample stands for, when known. */
  periodNs?: number;
  /** Wall-clock time the profile covers, nanoseconds; enables CPU-seconds-per-second figures. */
  durationNs?: number;
  /** Start of the covered time, Unix epoch nanoseconds, when known. */
  startUnixNs?: bigint;
  /** Malformed input records (lines, samples) counted and skipped while reading this profile. */
  malformed?: number;
}

/** Interns frame names into ids for one profile under construction. */
export class NameTable {
  readonly names: string[] = [];
  private readonly ids = new Map<string, number>();

  constructor(initial: readonly string[] = []) {
    for (const n of initial) this.id(n);
  }

  id(name: string): number {
    let id = this.ids.get(name);
    if (id === undefined) {
      id = this.names.length;
      this.names.push(name);
      this.ids.set(name, id);
    }
    return id;
  }
}

export const EMPTY_LABELS: Labels = Object.freeze({});

/** Total samples and CPU time over all stacks. */
export function totals(p: Profile): { samples: number; cpuNs: number } {
  let samples = 0;
  let cpuNs = 0;
  for (const s of p.stacks) {
    samples += s.samples;
    cpuNs += s.cpuNs;
  }
  return { samples, cpuNs };
}

/** Stable key for a label set (sorted), used to aggregate identical stacks. */
export function labelsKey(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return '';
  keys.sort();
  let k = '';
  for (const key of keys) k += `${key}=${labels[key]}\u0001`;
  return k;
}

/** Frame names of a stack, root first. */
export function stackNames(p: Profile, s: Stack): string[] {
  return s.frames.map((f) => p.names[f] ?? '[unknown]');
}

/**
 * Sums stacks that have the same frames and labels. Returns a new profile; the input
 * is not changed. Used after every conversion so that the model never holds duplicates.
 */
export function aggregate(p: Profile, opts: { dropLabels?: boolean } = {}): Profile {
  const byKey = new Map<string, Stack>();
  const out: Stack[] = [];
  // Converters share frame arrays and label sets between stacks (fromWindows): key each once.
  const framesKeys = new Map<readonly number[], string>();
  const labelsKeys = new Map<Labels, string>();
  for (const s of p.stacks) {
    const labels = opts.dropLabels ? EMPTY_LABELS : s.labels;
    let fk = framesKeys.get(s.frames);
    if (fk === undefined) framesKeys.set(s.frames, (fk = s.frames.join(',')));
    let lk = labelsKeys.get(labels);
    if (lk === undefined) labelsKeys.set(labels, (lk = labelsKey(labels)));
    const key = `${fk}|${lk}`;
    const have = byKey.get(key);
    if (have) {
      have.samples += s.samples;
      have.cpuNs += s.cpuNs;
    } else {
      const copy: Stack = { frames: s.frames, samples: s.samples, cpuNs: s.cpuNs, labels };
      byKey.set(key, copy);
      out.push(copy);
    }
  }
  return { ...p, stacks: out };
}
