/**
 * MergedProfile → pprof (profile.proto), gzipped, through the one writer (src/pprof), so CLI
 * commands and the API write files `go tool pprof` reads. Sample values are [samples/count,
 * cpu/nanoseconds]; each merge label becomes the pprof label of the same name in PPROF_LABEL.
 */
import type { Profile } from 'pprof-format';
import { PPROF_LABEL, PprofWriter, type PprofMeta } from '../pprof/index.js';
import type { MergeLabel, MergedProfile, StoredFrame } from './types.js';

function write(merged: MergedProfile): { w: PprofWriter; meta: PprofMeta } {
  const w = new PprofWriter();
  const mappingId = (f: StoredFrame): number => (f.module ? w.mapping(`${f.module}\0${f.buildId}`, () => ({ filename: f.module, buildId: f.buildId })) : 0);
  const locationId = (f: StoredFrame): number =>
    w.location(`${f.name}\0${f.file}\0${f.line}\0${f.module}\0${f.buildId}`, () => ({
      mappingId: mappingId(f),
      functionId: w.function(f.name, f.file),
      line: f.line,
    }));
  for (const s of merged.stacks) {
    const labels = (Object.entries(s.labels) as [MergeLabel, string | number][]).map(([k, v]) => [PPROF_LABEL[k], v] as const);
    w.sample(s.frames.map(locationId), Number(s.count), s.cpuNs, labels);
  }
  const durationNs = merged.lastUnixNs > merged.firstUnixNs ? merged.lastUnixNs - merged.firstUnixNs + merged.periodNs : merged.periodNs;
  return { w, meta: { periodNs: merged.periodNs, startUnixNs: merged.firstUnixNs, durationNs, countType: merged.sampleType } };
}

export function mergedToPprofProfile(merged: MergedProfile): Profile {
  const { w, meta } = write(merged);
  return w.profile(meta);
}

/** Gzipped pprof bytes, ready to write to a `.pb.gz` file. */
export function toPprof(merged: MergedProfile): Buffer {
  const { w, meta } = write(merged);
  return w.encode(meta);
}
