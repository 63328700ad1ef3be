/**
 * A window of CPU samples → pprof, through the one writer (src/pprof). Keeps every address,
 * mapping (start, limit, offset, build id) and the per-sample labels: pid, tid, thread_name,
 * process_name, and trace_id/span_id/span_name or span_attribution when the sample ran for a span.
 */
import type { Profile } from 'pprof-format';
import { ambiguousAttribution, PPROF_LABEL, PprofWriter, type PprofLabelPairs, type PprofMeta } from '../pprof/index.js';
import type { Frame } from '../symbols/types.js';
import type { CpuSample } from './types.js';

export interface PprofInput {
  samples: readonly CpuSample[];
  periodNs: bigint;
  startUnixNs: bigint;
  endUnixNs: bigint;
}

const KERNEL_MAPPING = '[kernel.kallsyms]';

/** Samples with the same stack and labels are merged into one pprof sample. */
export function buildPprof(input: PprofInput): Profile {
  const { w, meta } = write(input);
  return w.profile(meta);
}

/** Gzipped at level 1: the agent pays this for every process every window (see PprofWriter.encode). */
export function encodePprof(input: PprofInput): Buffer {
  const { w, meta } = write(input);
  return w.encode(meta, 1);
}

function write(input: PprofInput): { w: PprofWriter; meta: PprofMeta } {
  const w = new PprofWriter();
  const stacks = new StackLocations(w);
  const merged = new Map<string, { locs: number[]; labels: PprofLabelPairs; count: number }>();
  for (const s of input.samples) {
    const { id: stackId, locs } = stacks.of(s.frames, s.pid);
    const attribution = s.spanAttribution === 'ambiguous' ? ambiguousAttribution(s.spanCandidates ?? 0) : '';
    const labelKey = `${stackId}|${s.pid}|${s.tid}|${s.threadName}|${s.spanId ?? ''}|${attribution}`;
    const hit = merged.get(labelKey);
    if (hit) {
      hit.count++;
      continue;
    }
    const labels: [string, string | number][] = [
      [PPROF_LABEL.pid, s.pid],
      [PPROF_LABEL.tid, s.tid],
      [PPROF_LABEL.threadName, s.threadName],
      [PPROF_LABEL.processName, s.processName],
    ];
    if (s.traceId && s.spanId) {
      labels.push([PPROF_LABEL.traceId, s.traceId], [PPROF_LABEL.spanId, s.spanId]);
      if (s.spanName) labels.push([PPROF_LABEL.spanName, s.spanName]);
    }
    if (attribution) labels.push([PPROF_LABEL.spanAttribution, attribution]);
    merged.set(labelKey, { locs, labels, count: 1 });
  }
  for (const m of merged.values()) w.sample(m.locs, m.count, BigInt(m.count) * input.periodNs, m.labels);
  return { w, meta: { periodNs: input.periodNs, startUnixNs: input.startUnixNs, durationNs: input.endUnixNs - input.startUnixNs } };
}

/**
 * Frames → pprof locations. The profiler shares Frame objects and whole frame arrays between
 * samples: they are interned by identity first, and string keys are built only for frames seen
 * for the first time.
 */
class StackLocations {
  private readonly ofFrame = new Map<Frame, number>();
  private readonly ofFrames = new Map<readonly Frame[], { id: number; locs: number[]; pid: number; anyPid: boolean }>();
  private readonly stackIds = new Map<string, number>();

  constructor(private readonly w: PprofWriter) {}

  of(frames: readonly Frame[], pid: number): { id: number; locs: number[] } {
    let st = this.ofFrames.get(frames);
    if (!st || (st.pid !== pid && !st.anyPid)) {
      const locs = frames.map((f) => this.location(f, pid));
      // Without mapping-less frames (keyed by pid) the locations are the same in every process.
      const anyPid = frames.every((f) => f.kind === 'kernel' || f.mapping);
      const key = locs.join(',');
      let id = this.stackIds.get(key);
      if (id === undefined) this.stackIds.set(key, (id = this.stackIds.size + 1));
      st = { id, locs, pid, anyPid };
      this.ofFrames.set(frames, st);
    }
    return st;
  }

  private location(f: Frame, pid: number): number {
    const known = this.ofFrame.get(f);
    if (known !== undefined) return known;
    // Kernel addresses are global; user addresses only mean something inside one mapping.
    const key =
      f.kind === 'kernel'
        ? `k${f.address}`
        : f.mapping
          ? `${f.mapping.path}\0${f.mapping.start}\0${f.address}`
          : `${pid}\0${f.module}\0${f.address}\0${f.name}`;
    const id = this.w.location(key, () => ({
      mappingId: this.mapping(f),
      address: f.address,
      functionId: this.w.function(f.name, f.file ?? '', f.module),
      line: f.line ?? 0,
    }));
    // Placeholder frames of unmapped addresses are keyed by pid: only share named ones by identity.
    if (f.kind === 'kernel' || f.mapping) this.ofFrame.set(f, id);
    return id;
  }

  private mapping(f: Frame): number {
    if (f.kind === 'kernel') return this.w.mapping(KERNEL_MAPPING, () => ({ filename: KERNEL_MAPPING, memoryLimit: 0xffffffffffffffffn }));
    const m = f.mapping;
    if (!m) return 0;
    return this.w.mapping(`${m.path}\0${m.start}`, () => ({
      filename: m.path,
      buildId: m.buildId ?? '',
      memoryStart: m.start,
      memoryLimit: m.end,
      fileOffset: m.fileOffset,
      hasFilenames: true,
    }));
  }
}
