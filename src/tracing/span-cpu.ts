/**
 * CPU cost per SERVER span, accumulated from the samples the join attributed to it, and the
 * `hotspan.*` span attributes that carry it (documented in README.md in this folder).
 */
import type { CpuSample } from '../profiling/index.js';
import type { Frame } from '../symbols/index.js';
import type { Span } from './types.js';

/** CPU time sampled while the request was handled: samples × period, seconds (double). */
export const ATTR_CPU_TIME = 'hotspan.cpu.time';
/** Samples attributed exactly to the span (int). */
export const ATTR_CPU_SAMPLES = 'hotspan.cpu.samples';
/** Samples taken while this request and others were in flight on the same thread (int). */
export const ATTR_CPU_AMBIGUOUS_SAMPLES = 'hotspan.cpu.ambiguous_samples';
/** The function most often at the top of the span's stacks (leaf-most named user frame). */
export const ATTR_CPU_HOTTEST_FUNCTION = 'hotspan.cpu.hottest_function';
/** What Tempo's traces-to-profiles link queries Pyroscope with: the span id itself. */
export const ATTR_PYROSCOPE_PROFILE_ID = 'pyroscope.profile.id';

export interface SpanCpu {
  samples: number;
  ambiguousSamples: number;
  /** Leaf function name → samples. */
  leafCounts: Map<string, number>;
}

/**
 * The function a sample is "in": the leaf-most named user frame, else the leaf-most named frame
 * (a syscall-bound request). Users act on their own code; a kernel leaf such as a copy routine
 * says little about which of their functions is hot. Unnamed (`module+0x…`) frames are skipped.
 */
export function leafFunction(frames: readonly Frame[]): string | undefined {
  let anyNamed: string | undefined;
  for (const f of frames) {
    if (!f.resolved) continue;
    if (f.kind !== 'kernel') return f.name;
    anyNamed ??= f.name;
  }
  return anyNamed;
}

/** Most frequent leaf; ties broken by name so the answer is deterministic. */
export function hottestFunction(leafCounts: ReadonlyMap<string, number>): string | undefined {
  let best: string | undefined;
  let bestN = 0;
  for (const [name, n] of leafCounts) {
    if (n > bestN || (n === bestN && best !== undefined && name < best)) {
      best = name;
      bestN = n;
    }
  }
  return best;
}

/** Bounded table of per-span CPU; the oldest entry goes first when full. */
export class SpanCpuTable {
  private readonly bySpan = new Map<string, SpanCpu>();
  evicted = 0;

  constructor(private readonly maxSpans: number) {}

  private entry(spanId: string): SpanCpu {
    let e = this.bySpan.get(spanId);
    if (!e) {
      if (this.bySpan.size >= this.maxSpans) {
        this.bySpan.delete(this.bySpan.keys().next().value as string);
        this.evicted++;
      }
      e = { samples: 0, ambiguousSamples: 0, leafCounts: new Map() };
      this.bySpan.set(spanId, e);
    }
    return e;
  }

  addExact(spanId: string, sample: CpuSample): void {
    const e = this.entry(spanId);
    e.samples++;
    const leaf = leafFunction(sample.frames);
    if (leaf !== undefined) e.leafCounts.set(leaf, (e.leafCounts.get(leaf) ?? 0) + 1);
  }

  addAmbiguous(spanId: string): void {
    this.entry(spanId).ambiguousSamples++;
  }

  get(spanId: string): SpanCpu | undefined {
    return this.bySpan.get(spanId);
  }

  delete(spanId: string): void {
    this.bySpan.delete(spanId);
  }

  get size(): number {
    return this.bySpan.size;
  }
}

/**
 * A copy of the SERVER span with its CPU attributes. Spans with no attributed sample get
 * `hotspan.cpu.samples = 0` and `hotspan.cpu.time = 0` (measured zero, not unknown) but no
 * profile id: there is no profile to link to. CLIENT spans are returned unchanged.
 */
export function withCpuAttributes(span: Span, cpu: SpanCpu | undefined, periodNs: bigint): Span {
  if (span.kind !== 'server') return span;
  const samples = cpu?.samples ?? 0;
  const attributes: Span['attributes'] = {
    ...span.attributes,
    [ATTR_CPU_SAMPLES]: samples,
    [ATTR_CPU_TIME]: (samples * Number(periodNs)) / 1e9,
  };
  if (cpu && cpu.ambiguousSamples > 0) attributes[ATTR_CPU_AMBIGUOUS_SAMPLES] = cpu.ambiguousSamples;
  const hottest = cpu && hottestFunction(cpu.leafCounts);
  if (hottest !== undefined) attributes[ATTR_CPU_HOTTEST_FUNCTION] = hottest;
  if (samples > 0) attributes[ATTR_PYROSCOPE_PROFILE_ID] = span.spanId;
  return { ...span, attributes };
}
