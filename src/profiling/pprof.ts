import { gzipSync } from 'node:zlib';
import { Function as PFunction, Label, Line, Location, Mapping, Profile, Sample, StringTable, ValueType } from 'pprof-format';
import type { Frame } from '../symbols/types.js';
import type { CpuSample } from './types.js';

export interface PprofInput {
  samples: readonly CpuSample[];
  periodNs: bigint;
  startUnixNs: bigint;
  endUnixNs: bigint;
}

/** Label keys written on every sample; span labels use the names Grafana Pyroscope reads. */
export const LABEL_PID = 'pid';
export const LABEL_TID = 'tid';
export const LABEL_THREAD_NAME = 'thread_name';
export const LABEL_PROCESS_NAME = 'process_name';
export const LABEL_TRACE_ID = 'trace_id';
export const LABEL_SPAN_ID = 'span_id';
export const LABEL_SPAN_NAME = 'span_name';
export const LABEL_SPAN_ATTRIBUTION = 'span.attribution';

const KERNEL_MAPPING = '[kernel.kallsyms]';

/**
 * Builds a pprof Profile from CPU samples: sample types samples/count and
 * cpu/nanoseconds, period cpu/nanoseconds; labels pid, tid, thread_name,
 * process_name (+ trace_id/span_id/span_name when a sample ran for a span).
 * Samples with the same stack and labels are merged.
 */
export function buildPprof(input: PprofInput): Profile {
  const strings = new StringTable();
  const mappings: Mapping[] = [];
  const mappingIds = new Map<string, number>();
  const functions: PFunction[] = [];
  const functionIds = new Map<string, number>();
  const locations: Location[] = [];
  const locationIds = new Map<string, number>();
  // The profiler shares Frame objects and whole frame arrays between samples: intern those
  // by identity first, and build string keys only for frames seen for the first time.
  const locationOfFrame = new Map<Frame, number>();
  const stackOfFrames = new Map<readonly Frame[], { id: number; locs: number[]; pid: number; anyPid: boolean }>();

  const mappingFor = (f: Frame): number => {
    if (f.kind === 'kernel') {
      return intern(mappingIds, KERNEL_MAPPING, () => {
        mappings.push(new Mapping({ id: mappings.length + 1, filename: strings.dedup(KERNEL_MAPPING), memoryLimit: 0xffffffffffffffffn, hasFunctions: true }));
        return mappings.length;
      });
    }
    const m = f.mapping;
    if (!m) return 0;
    return intern(mappingIds, `${m.path}\0${m.start}`, () => {
      mappings.push(
        new Mapping({
          id: mappings.length + 1,
          memoryStart: m.start,
          memoryLimit: m.end,
          fileOffset: m.fileOffset,
          filename: strings.dedup(m.path),
          buildId: strings.dedup(m.buildId ?? ''),
          hasFunctions: true,
          hasFilenames: true,
        }),
      );
      return mappings.length;
    });
  };

  const functionFor = (f: Frame): number =>
    intern(functionIds, `${f.name}\0${f.file ?? ''}\0${f.module}`, () => {
      const name = strings.dedup(f.name);
      functions.push(new PFunction({ id: functions.length + 1, name, systemName: name, filename: strings.dedup(f.file ?? '') }));
      return functions.length;
    });

  const locationFor = (f: Frame, pid: number): number => {
    const known = locationOfFrame.get(f);
    if (known !== undefined) return known;
    // Kernel addresses are global; user addresses only mean something inside one mapping.
    const key =
      f.kind === 'kernel'
        ? `k${f.address}`
        : f.mapping
          ? `${f.mapping.path}\0${f.mapping.start}\0${f.address}`
          : `${pid}\0${f.module}\0${f.address}\0${f.name}`;
    const id = intern(locationIds, key, () => {
      locations.push(
        new Location({
          id: locations.length + 1,
          mappingId: mappingFor(f),
          address: f.address,
          line: [new Line({ functionId: functionFor(f), line: f.line ?? 0 })],
        }),
      );
      return locations.length;
    });
    // Placeholder frames of unmapped addresses are keyed by pid: only share named ones by identity.
    if (f.kind === 'kernel' || f.mapping) locationOfFrame.set(f, id);
    return id;
  };
  const stackIds = new Map<string, number>();
  const stackFor = (frames: readonly Frame[], pid: number): { id: number; locs: number[] } => {
    let st = stackOfFrames.get(frames);
    if (!st || (st.pid !== pid && !st.anyPid)) {
      const locs = frames.map((f) => locationFor(f, pid));
      // Without mapping-less frames (keyed by pid) the locations are the same in every process.
      const anyPid = frames.every((f) => f.kind === 'kernel' || f.mapping);
      st = { id: intern(stackIds, locs.join(','), () => stackIds.size + 1), locs, pid, anyPid };
      stackOfFrames.set(frames, st);
    }
    return st;
  };

  const merged = new Map<string, { locs: number[]; labels: Label[]; count: number }>();
  const k = {
    pid: strings.dedup(LABEL_PID),
    tid: strings.dedup(LABEL_TID),
    thread: strings.dedup(LABEL_THREAD_NAME),
    process: strings.dedup(LABEL_PROCESS_NAME),
  };
  for (const s of input.samples) {
    const { id: stackId, locs } = stackFor(s.frames, s.pid);
    const labelKey = `${stackId}|${s.pid}|${s.tid}|${s.threadName}|${s.spanId ?? ''}|${s.spanAttribution ?? ''}`;
    const hit = merged.get(labelKey);
    if (hit) {
      hit.count++;
      continue;
    }
    const labels = [
      new Label({ key: k.pid, num: s.pid }),
      new Label({ key: k.tid, num: s.tid }),
      new Label({ key: k.thread, str: strings.dedup(s.threadName) }),
      new Label({ key: k.process, str: strings.dedup(s.processName) }),
    ];
    if (s.traceId && s.spanId) {
      labels.push(new Label({ key: strings.dedup(LABEL_TRACE_ID), str: strings.dedup(s.traceId) }));
      labels.push(new Label({ key: strings.dedup(LABEL_SPAN_ID), str: strings.dedup(s.spanId) }));
      if (s.spanName) labels.push(new Label({ key: strings.dedup(LABEL_SPAN_NAME), str: strings.dedup(s.spanName) }));
    }
    if (s.spanAttribution === 'ambiguous') {
      labels.push(new Label({ key: strings.dedup(LABEL_SPAN_ATTRIBUTION), str: strings.dedup(`ambiguous:${s.spanCandidates ?? 0}`) }));
    }
    merged.set(labelKey, { locs, labels, count: 1 });
  }

  const samples = [...merged.values()].map((m) => new Sample({ locationId: m.locs, value: [m.count, BigInt(m.count) * input.periodNs], label: m.labels }));
  return new Profile({
    sampleType: [
      new ValueType({ type: strings.dedup('samples'), unit: strings.dedup('count') }),
      new ValueType({ type: strings.dedup('cpu'), unit: strings.dedup('nanoseconds') }),
    ],
    periodType: new ValueType({ type: strings.dedup('cpu'), unit: strings.dedup('nanoseconds') }),
    period: input.periodNs,
    timeNanos: input.startUnixNs,
    durationNanos: input.endUnixNs - input.startUnixNs,
    sample: samples,
    mapping: mappings,
    location: locations,
    function: functions,
    stringTable: strings,
  });
}

/**
 * Encodes and gzips, as `pprof` and every pprof consumer expect. Level 1: on a window of
 * ~1500 samples it is a third of the CPU of the default level for ~15% more bytes, and
 * the agent pays it for every process every window.
 */
export function encodePprof(input: PprofInput): Buffer {
  return gzipSync(buildPprof(input).encode(), { level: 1 });
}

function intern(map: Map<string, number>, key: string, create: () => number): number {
  let id = map.get(key);
  if (id === undefined) {
    id = create();
    map.set(key, id);
  }
  return id;
}
