/**
 * ProfileWindow[] → ExportProfilesServiceRequest (profiles v1development, proto v1.10 layout).
 * Pure: no I/O. One ResourceProfiles per window (a window is one process); all windows share one
 * ProfilesDictionary, whose tables all start with their zero value so that index 0 means "unset".
 *
 * Conventions (OTel profiles semantic conventions, honoured by Pyroscope):
 *  - sample type samples/count, period type cpu/nanoseconds, period = window.periodNs;
 *  - sample attributes thread.id, thread.name, cpu.logical_number; from the span join
 *    hotspan.span.name (with a link) or hotspan.span.attribution=ambiguous + hotspan.span.candidates;
 *  - location attribute profile.frame.type (kernel | native | v8js);
 *  - mapping attribute process.executable.build_id.gnu, else process.executable.build_id.htlhash;
 *  - a sample that ran for a traced request carries a Link (trace id, span id).
 * Samples with identical (stack, attributes, link) are merged into one Sample whose
 * timestamps_unix_nano lists each occurrence and whose values are EMPTY (each timestamp counts 1),
 * as opentelemetry-ebpf-profiler sends them. Why not values=[1,1,…]: Pyroscope (convert.go,
 * convertSampleBack) requires len(values) == number of sample types (1) whenever a period is set and
 * rejects the whole request otherwise; with values empty it counts len(timestamps) × period.
 * The profile's time range is half-open [time_unix_nano, time_unix_nano + duration_nano) (Collector
 * pprofiletest rule) and is widened to cover a late sample the window aggregator kept.
 */
import { createHash } from 'node:crypto';
import { anyValue, idBytes, keyValues } from './attributes.js';
import { processResourceAttributes } from './process-attributes.js';
import { hotspanScope } from './scope.js';
import type { CpuSample, ProfileWindow, ProcessInfo } from '../profiling/types.js';
import type { Frame, MappingInfo } from '../symbols/types.js';
import type {
  AnyValueObject,
  Attributes,
  ExportProfilesServiceRequestObject,
  FunctionObject,
  LinkObject,
  LocationObject,
  MappingObject,
  ProfileObject,
  ProfilesDictionaryObject,
  ResourceProfilesObject,
  SampleObject,
  StackObject,
} from './types.js';

export interface ProfilesToOtlpOptions {
  /** Resource attributes of a window's process (default: processResourceAttributes). */
  resourceOf?: (process: ProcessInfo) => Attributes;
  /** htlhash of a mapping's file, used when the mapping has no GNU build id. */
  htlHashOf?: (mapping: MappingInfo, pid: number) => string | undefined;
  /**
   * false: locations without addresses and mappings without address ranges, so frames that differ
   * only in their address (every leaf of a spinning loop, a JIT's code) share one location, one
   * stack and one merged sample. For a consumer that keeps no addresses — the embedded store names
   * frames by function, file, line, module and build id (decode-profiles.ts) — the rows are the
   * same and the request is several times smaller: on a busy host most samples have a stack no
   * other sample has, only because their leaf addresses differ. Default true (an OTLP backend
   * re-symbolizes by address).
   */
  addresses?: boolean;
}

export interface ProfilesConversion {
  request: ExportProfilesServiceRequestObject;
  /** Samples skipped because they could not be encoded (e.g. malformed trace id). */
  malformed: number;
  firstError?: string;
}

/** Interning tables of one ProfilesDictionary. */
class Dictionary {
  readonly dict: ProfilesDictionaryObject = {
    mappingTable: [{ memoryStart: '0', memoryLimit: '0', fileOffset: '0', filenameStrindex: 0, attributeIndices: [] }],
    locationTable: [{ mappingIndex: 0, address: '0', lines: [], attributeIndices: [] }],
    functionTable: [{ nameStrindex: 0, systemNameStrindex: 0, filenameStrindex: 0, startLine: '0' }],
    linkTable: [{ traceId: Buffer.alloc(0), spanId: Buffer.alloc(0) }],
    stringTable: [''],
    attributeTable: [{ keyStrindex: 0, value: null, unitStrindex: 0 }],
    stackTable: [{ locationIndices: [] }],
  };
  private readonly index = new Map<string, number>();
  /** Attribute index by key, then by value: looked up three times per sample, no key string built. */
  private readonly attrIndex = new Map<string, Map<string | number | boolean, number>>();
  /** Thread attribute triples by tid, cpu, thread name (threadAttributes). */
  private readonly threads = new Map<number, Map<number, Map<string, { indices: number[]; key: string }>>>();
  /** Symbolizers share Frame objects and frame arrays between samples; skip re-keying those. */
  readonly locationOfFrame = new WeakMap<Frame, number>();
  readonly stackOfFrames = new WeakMap<Frame[], number>();

  constructor(readonly addresses: boolean) {}

  private intern<T>(kind: string, key: string, table: T[], make: () => T): number {
    const k = `${kind}\0${key}`;
    let i = this.index.get(k);
    if (i === undefined) {
      i = table.length;
      table.push(make());
      this.index.set(k, i);
    }
    return i;
  }

  str(s: string): number {
    if (s === '') return 0;
    return this.intern('s', s, this.dict.stringTable, () => s);
  }

  attr(key: string, value: string | number | boolean): number {
    let byValue = this.attrIndex.get(key);
    if (byValue === undefined) this.attrIndex.set(key, (byValue = new Map()));
    // Keyed by the value itself: a Map keeps 7 and '7' apart, as the attribute table must.
    let i = byValue.get(value);
    if (i === undefined) {
      i = this.dict.attributeTable.length;
      const v: AnyValueObject = anyValue(value);
      this.dict.attributeTable.push({ keyStrindex: this.str(key), value: v, unitStrindex: 0 });
      byValue.set(value, i);
    }
    return i;
  }

  mapping(m: MappingInfo, attrs: number[]): number {
    const key = this.addresses ? `${m.path}\0${m.start}\0${m.end}\0${m.fileOffset}\0${attrs.join(',')}` : `${m.path}\0${attrs.join(',')}`;
    return this.intern<MappingObject>('m', key, this.dict.mappingTable, () => ({
      memoryStart: this.addresses ? m.start.toString() : '0',
      memoryLimit: this.addresses ? m.end.toString() : '0',
      fileOffset: this.addresses ? m.fileOffset.toString() : '0',
      filenameStrindex: this.str(m.path),
      attributeIndices: attrs,
    }));
  }

  func(name: string, file: string): number {
    return this.intern<FunctionObject>('f', `${name}\0${file}`, this.dict.functionTable, () => ({
      nameStrindex: this.str(name),
      systemNameStrindex: this.str(name),
      filenameStrindex: this.str(file),
      startLine: '0',
    }));
  }

  location(mappingIndex: number, f: Frame): number {
    const address = this.addresses ? f.address : 0n;
    const key = `${mappingIndex}\0${address}\0${f.name}\0${f.file ?? ''}\0${f.line ?? 0}\0${f.kind}`;
    return this.intern<LocationObject>('l', key, this.dict.locationTable, () => ({
      mappingIndex,
      address: address.toString(),
      lines: [{ functionIndex: this.func(f.name, f.file ?? ''), line: String(f.line ?? 0), column: '0' }],
      attributeIndices: f.kind === 'unknown' ? [] : [this.attr('profile.frame.type', f.kind)],
    }));
  }

  stack(locations: number[]): number {
    return this.intern<StackObject>('k', locations.join(','), this.dict.stackTable, () => ({ locationIndices: locations }));
  }

  /**
   * A sample's thread.id, thread.name and cpu.logical_number attributes, with their merge key:
   * the same few threads and CPUs recur in every sample, so each combination is interned once
   * (shared read-only by every sample object that carries it).
   */
  threadAttributes(tid: number, cpu: number, threadName: string): { indices: number[]; key: string } {
    let byCpu = this.threads.get(tid);
    if (byCpu === undefined) this.threads.set(tid, (byCpu = new Map()));
    let byName = byCpu.get(cpu);
    if (byName === undefined) byCpu.set(cpu, (byName = new Map()));
    let t = byName.get(threadName);
    if (t === undefined) {
      const indices = [this.attr('thread.id', tid), this.attr('thread.name', threadName), this.attr('cpu.logical_number', cpu)];
      t = { indices, key: indices.join(',') };
      byName.set(threadName, t);
    }
    return t;
  }

  link(traceId: string, spanId: string): number {
    const t = idBytes(traceId, 16, 'traceId');
    const s = idBytes(spanId, 8, 'spanId');
    return this.intern<LinkObject>('n', `${traceId}\0${spanId}`, this.dict.linkTable, () => ({ traceId: t, spanId: s }));
  }
}

/** Sample attributes carrying the span join (hotspan's namespace: OTel has no convention for these). */
export const ATTR_SPAN_NAME = 'hotspan.span.name';
/** 'ambiguous': several requests were in flight on the thread, none is linked. */
export const ATTR_SPAN_ATTRIBUTION = 'hotspan.span.attribution';
/** With attribution 'ambiguous': how many requests were candidates. */
export const ATTR_SPAN_CANDIDATES = 'hotspan.span.candidates';

function mappingIndex(d: Dictionary, f: Frame, pid: number, opts: ProfilesToOtlpOptions): number {
  const m = f.mapping;
  if (!m) return 0;
  const attrs: number[] = [];
  if (m.buildId) attrs.push(d.attr('process.executable.build_id.gnu', m.buildId));
  else {
    const htl = opts.htlHashOf?.(m, pid);
    if (htl) attrs.push(d.attr('process.executable.build_id.htlhash', htl));
  }
  return d.mapping(m, attrs);
}

/** 16 bytes derived from the window identity: stable across re-exports, never all zero. */
function profileId(w: ProfileWindow): Buffer {
  return createHash('sha256').update(`${w.process.pid}\0${w.startUnixNs}\0${w.endUnixNs}`).digest().subarray(0, 16);
}

function windowProfile(d: Dictionary, w: ProfileWindow, opts: ProfilesToOtlpOptions, errors: string[]): ProfileObject {
  const merged = new Map<string, SampleObject>();
  // A late sample can predate the window (windows.ts keeps it rather than drop it); widen the range.
  let start = w.startUnixNs;
  let end = w.endUnixNs > w.startUnixNs ? w.endUnixNs : w.startUnixNs + 1n;
  for (const s of w.samples) {
    let sample: { key: string; stackIndex: number; attributeIndices: number[]; linkIndex: number };
    try {
      sample = sampleKey(d, s, w.process.pid, opts);
    } catch (err) {
      errors.push((err as Error).message);
      continue;
    }
    let out = merged.get(sample.key);
    if (!out) {
      out = { stackIndex: sample.stackIndex, attributeIndices: sample.attributeIndices, linkIndex: sample.linkIndex, values: [], timestampsUnixNano: [] };
      merged.set(sample.key, out);
    }
    out.timestampsUnixNano.push(s.timeUnixNs.toString());
    if (s.timeUnixNs < start) start = s.timeUnixNs;
    if (s.timeUnixNs >= end) end = s.timeUnixNs + 1n;
  }
  return {
    sampleType: { typeStrindex: d.str('samples'), unitStrindex: d.str('count') },
    samples: [...merged.values()],
    timeUnixNano: start.toString(),
    durationNano: (end - start).toString(),
    periodType: { typeStrindex: d.str('cpu'), unitStrindex: d.str('nanoseconds') },
    period: w.periodNs.toString(),
    profileId: profileId(w),
    droppedAttributesCount: 0,
    originalPayloadFormat: '',
    originalPayload: Buffer.alloc(0),
    attributeIndices: [],
  };
}

function sampleKey(d: Dictionary, s: CpuSample, pid: number, opts: ProfilesToOtlpOptions) {
  const linkIndex = s.traceId && s.spanId ? d.link(s.traceId, s.spanId) : 0;
  let stackIndex = d.stackOfFrames.get(s.frames);
  if (stackIndex === undefined) {
    const locations = s.frames.map((f) => {
      let li = d.locationOfFrame.get(f);
      if (li === undefined) {
        li = d.location(mappingIndex(d, f, pid, opts), f);
        d.locationOfFrame.set(f, li);
      }
      return li;
    });
    stackIndex = d.stack(locations);
    d.stackOfFrames.set(s.frames, stackIndex);
  }
  const thread = d.threadAttributes(s.tid, s.cpu, s.threadName);
  // The span join's result beyond the link: the span's name (the link carries ids only), and for
  // a sample several requests could have run, how many — part of the merge key, so samples of one
  // stack with different candidate counts stay apart.
  const withSpanName = Boolean(s.spanName) && linkIndex !== 0;
  if (!withSpanName && s.spanAttribution !== 'ambiguous') {
    return { key: `${stackIndex}|${thread.key}|${linkIndex}`, stackIndex, attributeIndices: thread.indices, linkIndex };
  }
  const attributeIndices = [...thread.indices];
  if (withSpanName) attributeIndices.push(d.attr(ATTR_SPAN_NAME, s.spanName!));
  if (s.spanAttribution === 'ambiguous') {
    attributeIndices.push(d.attr(ATTR_SPAN_ATTRIBUTION, 'ambiguous'), d.attr(ATTR_SPAN_CANDIDATES, s.spanCandidates ?? 0));
  }
  return { key: `${stackIndex}|${attributeIndices.join(',')}|${linkIndex}`, stackIndex, attributeIndices, linkIndex };
}

/** Converts profile windows to one OTLP profiles export request. */
export function profilesToOtlp(windows: ProfileWindow[], opts: ProfilesToOtlpOptions = {}): ProfilesConversion {
  const d = new Dictionary(opts.addresses ?? true);
  const errors: string[] = [];
  const resourceOf = opts.resourceOf ?? processResourceAttributes;
  const resourceProfiles: ResourceProfilesObject[] = windows.map((w) => ({
    resource: { attributes: keyValues(resourceOf(w.process)), droppedAttributesCount: 0 },
    scopeProfiles: [{ scope: hotspanScope(), profiles: [windowProfile(d, w, opts, errors)], schemaUrl: '' }],
    schemaUrl: '',
  }));
  return { request: { resourceProfiles, dictionary: d.dict }, malformed: errors.length, firstError: errors[0] };
}
