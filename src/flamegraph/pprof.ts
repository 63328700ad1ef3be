/**
 * pprof (profile.proto) in and out, through `pprof-format`.
 *
 * Reading picks a sample count and a CPU time from the sample types the way
 * `pprof -sample_index` would, expands inlined lines into frames, and keeps string
 * labels (thread, pid, span, …) so that `filter` can select on them.
 */
import { gunzipSync } from 'node:zlib';
import { Profile as PprofProfile } from 'pprof-format';
import { PPROF_LABEL, PprofWriter } from '../pprof/index.js';
import { aggregate, NameTable, type Labels, type Profile, type Stack } from './model.js';

export interface PprofReadOptions {
  /** Sample type (e.g. `samples`, `cpu`) to count; default: the count-typed one, else the first. */
  sampleType?: string;
  /** Wall time override when the file has no durationNanos. */
  durationNs?: number;
}

/** Assumed CPU time of one sample when a file has only nanosecond values and no period (100 Hz). */
export const DEFAULT_PERIOD_NS = 10_000_000;

/** Label keys `filter` knows → the pprof label hotspan writes for them (PPROF_LABEL). */
const FILTER_TO_PPROF: Record<string, string> = {
  pid: PPROF_LABEL.pid,
  thread: PPROF_LABEL.threadName,
  service: PPROF_LABEL.service,
  version: PPROF_LABEL.serviceVersion,
  span: PPROF_LABEL.spanName,
};

/** Label keys from hotspan's and other producers' files, renamed to the keys `filter` knows. */
const LABEL_ALIASES: Record<string, string> = {
  ...Object.fromEntries(Object.entries(FILTER_TO_PPROF).map(([k, v]) => [v, k])),
  'thread name': 'thread',
  'service.name': 'service',
  'service.version': 'version',
  process_id: 'pid',
};

export class PprofFormatError extends Error {
  readonly code = 'EPPROF';
}

function num(v: number | bigint | undefined): number {
  return v === undefined ? 0 : Number(v);
}

/** Reads a pprof profile (gzipped or raw bytes, or an already decoded pprof-format Profile). */
export function fromPprof(input: Uint8Array | PprofProfile, opts: PprofReadOptions = {}): Profile {
  let pp: PprofProfile;
  if (input instanceof PprofProfile) {
    pp = input;
  } else {
    let bytes = input;
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
    try {
      pp = PprofProfile.decode(bytes);
    } catch (e) {
      throw new PprofFormatError(`not a pprof profile (${(e as Error).message}); fix: pass a profile.proto file, gzipped or not`);
    }
  }
  const str = (i: number | bigint | undefined): string => pp.stringTable.strings[num(i)] ?? '';
  const types = pp.sampleType.map((t) => ({ type: str(t.type), unit: str(t.unit) }));
  if (types.length === 0) throw new PprofFormatError('pprof profile has no sample types; fix: check the producer');

  let countIdx: number;
  if (opts.sampleType !== undefined) {
    countIdx = types.findIndex((t) => t.type === opts.sampleType);
    if (countIdx < 0) {
      throw new PprofFormatError(`sample type "${opts.sampleType}" not in profile; fix: use one of ${types.map((t) => t.type).join(', ')}`);
    }
  } else {
    countIdx = types.findIndex((t) => t.unit === 'count');
    if (countIdx < 0) countIdx = 0;
  }
  const nsIdx = types.findIndex((t) => t.unit === 'nanoseconds');
  const periodIsNs = pp.periodType !== undefined && str(pp.periodType.unit) === 'nanoseconds';
  const periodNs = periodIsNs && num(pp.period) > 0 ? num(pp.period) : undefined;
  const countIsNs = types[countIdx]!.unit === 'nanoseconds';

  const table = new NameTable();
  const functionName = new Map<number, string>();
  for (const f of pp.function) functionName.set(num(f.id), str(f.name) || str(f.systemName));
  const mappingName = new Map<number, { name: string; start: number; offset: number }>();
  for (const m of pp.mapping) {
    const file = str(m.filename);
    mappingName.set(num(m.id), {
      name: file.slice(file.lastIndexOf('/') + 1) || '[unknown]',
      start: num(m.memoryStart),
      offset: num(m.fileOffset),
    });
  }
  // Frame ids of each location, leaf first (line[0] is the innermost inlined function).
  const locFrames = new Map<number, number[]>();
  for (const loc of pp.location) {
    const ids: number[] = [];
    for (const line of loc.line) ids.push(table.id(functionName.get(num(line.functionId)) || '[unknown]'));
    if (ids.length === 0) {
      const m = mappingName.get(num(loc.mappingId));
      const addr = num(loc.address);
      ids.push(table.id(m ? `${m.name}+0x${(addr - m.start + m.offset).toString(16)}` : `0x${addr.toString(16)}`));
    }
    locFrames.set(num(loc.id), ids);
  }

  const stacks: Stack[] = [];
  let malformed = 0;
  for (const s of pp.sample) {
    const v = num(s.value[countIdx]);
    if (!Number.isFinite(v) || s.value.length !== types.length) {
      malformed++;
      continue;
    }
    if (v === 0) continue;
    const frames: number[] = [];
    let bad = false;
    for (let i = s.locationId.length - 1; i >= 0; i--) {
      const ids = locFrames.get(num(s.locationId[i]));
      if (!ids) {
        bad = true;
        break;
      }
      for (let j = ids.length - 1; j >= 0; j--) frames.push(ids[j]!);
    }
    if (bad) {
      malformed++;
      continue;
    }
    let samples = v;
    let cpuNs = nsIdx >= 0 ? num(s.value[nsIdx]) : periodNs !== undefined ? v * periodNs : 0;
    if (countIsNs) samples = Math.max(1, Math.round(v / (periodNs ?? DEFAULT_PERIOD_NS)));
    if (nsIdx < 0 && countIsNs) cpuNs = v;
    const labels: Record<string, string> = {};
    for (const l of s.label) {
      const key = str(l.key);
      labels[LABEL_ALIASES[key] ?? key] = num(l.str) !== 0 ? str(l.str) : String(num(l.num));
    }
    stacks.push({ frames, samples, cpuNs, labels });
  }
  const profile: Profile = { names: table.names, stacks, malformed };
  const effectivePeriod = periodNs ?? (nsIdx >= 0 || countIsNs ? DEFAULT_PERIOD_NS : undefined);
  if (effectivePeriod !== undefined) profile.periodNs = effectivePeriod;
  const durationNs = num(pp.durationNanos) || opts.durationNs;
  if (durationNs) profile.durationNs = durationNs;
  if (num(pp.timeNanos) > 0) profile.startUnixNs = BigInt(pp.timeNanos);
  return aggregate(profile);
}

/**
 * Encodes a profile as gzipped pprof (the one writer, src/pprof): sample types `samples/count`
 * and `cpu/nanoseconds`, one function and one location per frame name, labels under hotspan's
 * pprof names (`thread` → `thread_name`, `service` → `service_name`, …; others as they are).
 */
export function toPprof(p: Profile): Buffer {
  const w = new PprofWriter();
  const locations = p.names.map((name, i) => w.location(String(i), () => ({ mappingId: 0, functionId: w.function(name) })));
  for (const s of p.stacks) {
    const locationIds: number[] = [];
    for (let i = s.frames.length - 1; i >= 0; i--) locationIds.push(locations[s.frames[i]!]!);
    const labels = Object.entries(s.labels as Labels).map(([k, v]) => [FILTER_TO_PPROF[k] ?? k, v] as const);
    w.sample(locationIds, s.samples, s.cpuNs, labels);
  }
  return w.encode({
    periodNs: BigInt(Math.round(p.periodNs ?? 0)),
    startUnixNs: p.startUnixNs ?? 0n,
    durationNs: BigInt(Math.round(p.durationNs ?? 0)),
  });
}
