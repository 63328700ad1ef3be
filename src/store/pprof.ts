/**
 * MergedProfile → pprof (profile.proto), gzipped, so CLI commands can write files `go tool pprof`
 * reads. Sample values are [samples/count, cpu/nanoseconds]; label columns become pprof labels
 * (`pid`, `tid` numeric; `thread_name`, `trace_id`, `span_id`, `span_name`, `service_name`,
 * `span_attribution` strings).
 */

import { gzipSync } from 'node:zlib';
import { Function as PFunction, Label, Line, Location, Mapping, Profile, Sample, StringTable, ValueType } from 'pprof-format';
import type { MergeLabel, MergedProfile, StoredFrame } from './types.js';

const LABEL_KEYS: Record<MergeLabel, string> = {
  pid: 'pid',
  tid: 'tid',
  threadName: 'thread_name',
  traceId: 'trace_id',
  spanId: 'span_id',
  spanName: 'span_name',
  service: 'service_name',
  // The key and value `hotspan record`'s pprof files use (src/profiling/pprof.ts): `ambiguous:N`.
  spanAttribution: 'span_attribution',
};
const NUMERIC_LABELS = new Set<MergeLabel>(['pid', 'tid']);

export function mergedToPprofProfile(merged: MergedProfile): Profile {
  const strings = new StringTable();
  const mappings = new Map<string, Mapping>();
  const functions = new Map<string, PFunction>();
  const locations = new Map<string, Location>();

  const mappingId = (f: StoredFrame): number => {
    if (!f.module) return 0;
    const key = `${f.module}\0${f.buildId}`;
    let m = mappings.get(key);
    if (!m) {
      m = new Mapping({
        id: mappings.size + 1,
        filename: strings.dedup(f.module),
        buildId: strings.dedup(f.buildId),
        hasFunctions: true,
      });
      mappings.set(key, m);
    }
    return Number(m.id);
  };
  const functionId = (f: StoredFrame): number => {
    const key = `${f.name}\0${f.file}`;
    let fn = functions.get(key);
    if (!fn) {
      fn = new PFunction({ id: functions.size + 1, name: strings.dedup(f.name), systemName: strings.dedup(f.name), filename: strings.dedup(f.file) });
      functions.set(key, fn);
    }
    return Number(fn.id);
  };
  const locationId = (f: StoredFrame): number => {
    const key = `${f.name}\0${f.file}\0${f.line}\0${f.module}\0${f.buildId}`;
    let loc = locations.get(key);
    if (!loc) {
      loc = new Location({
        id: locations.size + 1,
        mappingId: mappingId(f),
        line: [new Line({ functionId: functionId(f), line: f.line })],
      });
      locations.set(key, loc);
    }
    return Number(loc.id);
  };

  const samples = merged.stacks.map((s) => {
    const label: Label[] = [];
    for (const [k, v] of Object.entries(s.labels) as [MergeLabel, string | number][]) {
      const key = strings.dedup(LABEL_KEYS[k]);
      label.push(NUMERIC_LABELS.has(k) ? new Label({ key, num: Number(v) }) : new Label({ key, str: strings.dedup(String(v)) }));
    }
    return new Sample({ locationId: s.frames.map(locationId), value: [s.count, s.cpuNs], label });
  });

  const [type, unit] = splitType(merged.sampleType);
  return new Profile({
    sampleType: [
      new ValueType({ type: strings.dedup(type), unit: strings.dedup(unit) }),
      new ValueType({ type: strings.dedup('cpu'), unit: strings.dedup('nanoseconds') }),
    ],
    sample: samples,
    mapping: [...mappings.values()],
    location: [...locations.values()],
    function: [...functions.values()],
    stringTable: strings,
    timeNanos: merged.firstUnixNs,
    durationNanos: merged.lastUnixNs > merged.firstUnixNs ? merged.lastUnixNs - merged.firstUnixNs + merged.periodNs : merged.periodNs,
    periodType: new ValueType({ type: strings.dedup('cpu'), unit: strings.dedup('nanoseconds') }),
    period: merged.periodNs,
  });
}

/** Gzipped pprof bytes, ready to write to a `.pb.gz` file. */
export function toPprof(merged: MergedProfile): Buffer {
  return gzipSync(mergedToPprofProfile(merged).encode());
}

function splitType(sampleType: string): [string, string] {
  const i = sampleType.indexOf('/');
  return i < 0 ? [sampleType, 'count'] : [sampleType.slice(0, i), sampleType.slice(i + 1)];
}
