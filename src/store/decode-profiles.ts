/**
 * OTLP profiles (v1development, proto v1.10 numbering) → sample rows and content-addressed stacks.
 * Pure: decoded request object in, rows out; malformed items are counted and skipped.
 *
 * Row rule: a sample that ran for a span (it has a link) gives one row per timestamp (value =
 * values[i], or 1 when the sample has no values): a request's samples keep their own times. Any
 * other sample with timestamps gives at most two rows per second it has timestamps in
 * (SAMPLE_ROW_BUCKET_NS): one at the second's first timestamp and one at its last, whose values
 * add up to those of every timestamp in that second. A sample without timestamps gives one row at
 * the profile's time whose value is the sum of its values.
 *
 * Why not one row per timestamp: a hot stack sampled at 99 Hz gave 99 rows a second, and appending
 * them was the store's largest cost (a third of the agent's store worker). Queries sum `value`, so
 * totals, CPU time and flame graphs are unchanged; the first and last timestamp of a selection stay
 * exact (durations of short spans too); what is lost is where inside one second a sample fell.
 *
 * Columns from sample attributes (the ones convert-profiles.ts writes): thread.id, thread.name,
 * cpu.logical_number, hotspan.span.name; every other attribute (hotspan.span.attribution and
 * .candidates among them) is kept in `labels` JSON, which queries read (queries.ts).
 */

import { createHash } from 'node:crypto';
import { ATTR_SPAN_NAME } from '../otlp/convert-profiles.js';
import type { FrameKind } from '../symbols/types.js';
import type { ExportProfilesServiceRequestObject, KeyValueAndUnitObject, ProfilesDictionaryObject } from '../otlp/index.js';
import {
  anyValueToPlain,
  countMalformed,
  idToHex,
  intAttr,
  keyValuesToRecord,
  resourceColumns,
  stringAttr,
  toBigInt,
  type MalformedCounts,
  type PlainValue,
  type ResourceColumns,
} from './attributes.js';
import type { StoredFrame } from './types.js';

export interface SampleRow {
  timeUnixNs: bigint;
  resource: ResourceColumns;
  pid: number | null;
  tid: number | null;
  threadName: string;
  cpu: number | null;
  stackId: bigint;
  traceId: string | null;
  spanId: string | null;
  spanName: string | null;
  /** `type/unit` of the profile's sample type, e.g. `samples/count`. */
  sampleType: string;
  periodNs: bigint;
  value: bigint;
  /** Sample attributes other than the ones with their own column, JSON text; null when none. */
  labelsJson: string | null;
}

export interface StackRow {
  stackId: bigint;
  frames: StoredFrame[];
}

export interface DecodedProfiles {
  samples: SampleRow[];
  /** Every distinct stack the samples reference (deduplicated within the request). */
  stacks: Map<bigint, StackRow>;
  malformed: MalformedCounts;
}

const FRAME_KINDS: ReadonlySet<string> = new Set(['kernel', 'native', 'v8js']);
/** Sample attributes that get their own column instead of landing in `labels`. */
const COLUMN_ATTRS = new Set(['thread.id', 'thread.name', 'cpu.logical_number', ATTR_SPAN_NAME]);

/** Content hash of a stack: equal frame lists get equal ids in every request and every process. */
export function stackIdOf(frames: readonly StoredFrame[]): bigint {
  const h = createHash('sha256');
  for (const f of frames) {
    h.update(`${f.name}\0${f.file}\0${f.line}\0${f.module}\0${f.kind}\0${f.buildId}\n`);
  }
  return h.digest().readBigInt64BE(0);
}

/** Stored time resolution of samples within one OTLP sample (see the row rule above). */
export const SAMPLE_ROW_BUCKET_NS = 1_000_000_000n;

/**
 * Timestamps (with their values, or 1 each) → at most two (time, value) rows per bucket: the
 * bucket's first timestamp with everything but the last timestamp's values, and its last
 * timestamp with those; one row when a bucket has a single distinct timestamp. In order of time.
 */
export function bucketedRows(times: readonly bigint[], values: readonly bigint[] | null): { timeUnixNs: bigint; value: bigint }[] {
  // Most samples of a window are one stack seen once: no buckets to build.
  if (times.length === 1) return [{ timeUnixNs: times[0]!, value: values ? values[0]! : 1n }];
  const buckets = new Map<bigint, { first: bigint; last: bigint; total: bigint; atLast: bigint }>();
  for (let i = 0; i < times.length; i++) {
    const t = times[i]!;
    const v = values ? values[i]! : 1n;
    const key = t / SAMPLE_ROW_BUCKET_NS;
    const b = buckets.get(key);
    if (!b) {
      buckets.set(key, { first: t, last: t, total: v, atLast: v });
      continue;
    }
    b.total += v;
    if (t < b.first) b.first = t;
    if (t > b.last) {
      b.last = t;
      b.atLast = v;
    } else if (t === b.last) b.atLast += v;
  }
  const rows: { timeUnixNs: bigint; value: bigint }[] = [];
  for (const b of buckets.values()) {
    if (b.first === b.last) rows.push({ timeUnixNs: b.first, value: b.total });
    else rows.push({ timeUnixNs: b.first, value: b.total - b.atLast }, { timeUnixNs: b.last, value: b.atLast });
  }
  return rows.sort((a, b) => (a.timeUnixNs < b.timeUnixNs ? -1 : a.timeUnixNs > b.timeUnixNs ? 1 : 0));
}

export function decodeProfiles(req: ExportProfilesServiceRequestObject): DecodedProfiles {
  const malformed: MalformedCounts = {};
  const samples: SampleRow[] = [];
  const stacks = new Map<bigint, StackRow>();
  const dict = req?.dictionary;
  if (!dict || !Array.isArray(dict.stringTable)) {
    if ((req?.resourceProfiles ?? []).length > 0) countMalformed(malformed, 'profiles: missing dictionary');
    return { samples, stacks, malformed };
  }
  const tables = new DictionaryReader(dict, malformed);

  for (const rp of req.resourceProfiles ?? []) {
    const resAttrs = keyValuesToRecord(rp?.resource?.attributes);
    const resource = resourceColumns(resAttrs);
    for (const sp of rp?.scopeProfiles ?? []) {
      for (const profile of sp?.profiles ?? []) {
        const sampleType = `${tables.str(profile.sampleType?.typeStrindex)}/${tables.str(profile.sampleType?.unitStrindex)}`;
        const periodUnit = tables.str(profile.periodType?.unitStrindex);
        const period = toBigInt(profile.period) ?? 0n;
        // Only a nanosecond period can be turned into CPU time; anything else is kept as 0.
        const periodNs = periodUnit === 'nanoseconds' ? period : 0n;
        const profileTime = toBigInt(profile.timeUnixNano) ?? 0n;
        const profileAttrs = tables.attributes(profile.attributeIndices);
        // Profile-level attributes may carry process identity when the resource does not.
        const pidFromProfile = intAttr(profileAttrs, 'process.pid');

        for (const s of profile.samples ?? []) {
          const stack = tables.stack(s?.stackIndex ?? 0);
          if (!stack) {
            countMalformed(malformed, 'profiles: stack_index out of range');
            continue;
          }
          stacks.set(stack.stackId, stack);
          const attrs = tables.attributes(s.attributeIndices);
          const link = tables.link(s.linkIndex ?? 0);
          const labels: Record<string, PlainValue> = {};
          for (const [k, v] of Object.entries(attrs)) if (!COLUMN_ATTRS.has(k)) labels[k] = v;
          const base = {
            resource,
            pid: resource.pid ?? pidFromProfile,
            tid: intAttr(attrs, 'thread.id'),
            threadName: stringAttr(attrs, 'thread.name') ?? '',
            cpu: intAttr(attrs, 'cpu.logical_number'),
            stackId: stack.stackId,
            traceId: link?.traceId ?? null,
            spanId: link?.spanId ?? null,
            spanName: stringAttr(attrs, ATTR_SPAN_NAME),
            sampleType,
            periodNs,
            labelsJson: Object.keys(labels).length ? JSON.stringify(labels) : null,
          };
          const values = (s.values ?? []).map(toBigInt);
          const times = (s.timestampsUnixNano ?? []).map(toBigInt);
          if (values.some((v) => v === null) || times.some((t) => t === null)) {
            countMalformed(malformed, 'profiles: sample value or timestamp is not an integer');
            continue;
          }
          if (times.length > 0) {
            if (values.length !== 0 && values.length !== times.length) {
              countMalformed(malformed, 'profiles: sample values and timestamps differ in length');
              continue;
            }
            if (base.spanId === null) {
              for (const row of bucketedRows(times as bigint[], values.length ? (values as bigint[]) : null)) samples.push({ ...base, ...row });
            } else {
              for (let i = 0; i < times.length; i++) samples.push({ ...base, timeUnixNs: times[i]!, value: values.length ? values[i]! : 1n });
            }
          } else {
            if (values.length === 0) {
              countMalformed(malformed, 'profiles: sample has neither values nor timestamps');
              continue;
            }
            samples.push({ ...base, timeUnixNs: profileTime, value: values.reduce((a, b) => a! + b!, 0n)! });
          }
        }
      }
    }
  }
  return { samples, stacks, malformed };
}

/** Index lookups into one request's dictionary, memoized per index. */
class DictionaryReader {
  private readonly stackCache = new Map<number, StackRow | null>();
  private readonly frameCache = new Map<number, StoredFrame[] | null>();
  private readonly attrCache = new Map<number, [string, PlainValue] | null>();
  private readonly linkCache = new Map<number, { traceId: string | null; spanId: string | null } | null>();

  constructor(
    private readonly d: ProfilesDictionaryObject,
    private readonly malformed: MalformedCounts,
  ) {}

  str(i: number | undefined): string {
    if (i === undefined || i === null) return '';
    const s = this.d.stringTable[i];
    if (s === undefined) {
      countMalformed(this.malformed, 'profiles: string index out of range');
      return '';
    }
    return s;
  }

  attributes(indices: readonly number[] | undefined): Record<string, PlainValue> {
    const out: Record<string, PlainValue> = {};
    for (const i of indices ?? []) {
      const kv = this.attribute(i);
      if (kv) out[kv[0]] = kv[1];
    }
    return out;
  }

  private attribute(i: number): [string, PlainValue] | null {
    let kv = this.attrCache.get(i);
    if (kv === undefined) {
      const e: KeyValueAndUnitObject | undefined = this.d.attributeTable?.[i];
      if (!e || i === 0) {
        if (!e) countMalformed(this.malformed, 'profiles: attribute index out of range');
        kv = null;
      } else {
        kv = [this.str(e.keyStrindex), anyValueToPlain(e.value)];
      }
      this.attrCache.set(i, kv);
    }
    return kv;
  }

  link(i: number): { traceId: string | null; spanId: string | null } | null {
    if (!i) return null;
    let l = this.linkCache.get(i);
    if (l === undefined) {
      const e = this.d.linkTable?.[i];
      if (!e) countMalformed(this.malformed, 'profiles: link index out of range');
      l = e ? { traceId: idToHex(e.traceId), spanId: idToHex(e.spanId) } : null;
      this.linkCache.set(i, l);
    }
    return l;
  }

  stack(i: number): StackRow | null {
    let s = this.stackCache.get(i);
    if (s === undefined) {
      s = this.buildStack(i);
      this.stackCache.set(i, s);
    }
    return s;
  }

  private buildStack(i: number): StackRow | null {
    const st = this.d.stackTable?.[i];
    if (!st) return null;
    const frames: StoredFrame[] = [];
    for (const li of st.locationIndices ?? []) {
      const fs = this.locationFrames(li);
      if (!fs) return null;
      frames.push(...fs);
    }
    return { stackId: stackIdOf(frames), frames };
  }

  /** One location → its frames, innermost inlined function first (the order `lines` uses). */
  private locationFrames(li: number): StoredFrame[] | null {
    let fs = this.frameCache.get(li);
    if (fs !== undefined) return fs;
    const loc = this.d.locationTable?.[li];
    if (!loc) {
      countMalformed(this.malformed, 'profiles: location index out of range');
      this.frameCache.set(li, null);
      return null;
    }
    const mapping = loc.mappingIndex ? this.d.mappingTable?.[loc.mappingIndex] : undefined;
    const mappingPath = mapping ? this.str(mapping.filenameStrindex) : '';
    const module = mappingPath ? mappingPath.slice(mappingPath.lastIndexOf('/') + 1) : '';
    const mappingAttrs = mapping ? this.attributes(mapping.attributeIndices) : {};
    const buildId = stringAttr(mappingAttrs, 'process.executable.build_id.gnu') ?? stringAttr(mappingAttrs, 'process.executable.build_id.htlhash') ?? '';
    const kindAttr = stringAttr(this.attributes(loc.attributeIndices), 'profile.frame.type') ?? '';
    const kind: FrameKind = FRAME_KINDS.has(kindAttr) ? (kindAttr as FrameKind) : 'unknown';
    fs = [];
    for (const line of loc.lines ?? []) {
      const fn = this.d.functionTable?.[line.functionIndex];
      if (!fn) {
        countMalformed(this.malformed, 'profiles: function index out of range');
        continue;
      }
      fs.push({
        name: this.str(fn.nameStrindex),
        file: this.str(fn.filenameStrindex),
        line: Number(toBigInt(line.line) ?? 0n),
        module,
        kind,
        buildId,
      });
    }
    if (fs.length === 0) {
      // An unsymbolized location: name it the way hotspan names unresolved frames.
      const addr = toBigInt(loc.address) ?? 0n;
      const offset = mapping ? addr - (toBigInt(mapping.memoryStart) ?? 0n) + (toBigInt(mapping.fileOffset) ?? 0n) : addr;
      const name = module ? `${module}+0x${offset.toString(16)}` : '[unknown]';
      fs.push({ name, file: '', line: 0, module, kind, buildId });
    }
    this.frameCache.set(li, fs);
    return fs;
  }
}
