/**
 * Test-side builder of OTLP profiles requests in the receiver's decoded shape (protobufjs toObject,
 * v1.10 layout), written from the spec independently of src/store's decoder: every table starts
 * with its zero value, strings/functions/locations/stacks/attributes/links are interned.
 */
import type {
  AnyValueObject,
  ExportProfilesServiceRequestObject,
  ProfilesDictionaryObject,
  ResourceProfilesObject,
  SampleObject,
} from '../../../src/otlp/index.js';

export interface TFrame {
  name?: string; // absent → unsymbolized location
  file?: string;
  line?: number;
  module?: string;
  kind?: 'kernel' | 'native' | 'v8js';
  buildId?: string;
  address?: bigint;
}
export interface TSample {
  frames: TFrame[]; // leaf first
  values?: number[];
  timestamps?: bigint[];
  tid?: number;
  threadName?: string;
  cpu?: number;
  traceId?: string;
  spanId?: string;
  extraAttrs?: Record<string, string | number>;
}
export interface TProfile {
  resource: Record<string, string | number>;
  timeUnixNs: bigint;
  periodNs: bigint;
  samples: TSample[];
}

function anyValue(v: string | number): AnyValueObject {
  return typeof v === 'number' ? { intValue: String(v) } : { stringValue: v };
}

export function buildProfilesRequest(profiles: TProfile[]): ExportProfilesServiceRequestObject {
  const d: ProfilesDictionaryObject = {
    mappingTable: [{ memoryStart: '0', memoryLimit: '0', fileOffset: '0', filenameStrindex: 0, attributeIndices: [] }],
    locationTable: [{ mappingIndex: 0, address: '0', lines: [], attributeIndices: [] }],
    functionTable: [{ nameStrindex: 0, systemNameStrindex: 0, filenameStrindex: 0, startLine: '0' }],
    linkTable: [{ traceId: Buffer.alloc(0), spanId: Buffer.alloc(0) }],
    stringTable: [''],
    attributeTable: [{ keyStrindex: 0, value: null, unitStrindex: 0 }],
    stackTable: [{ locationIndices: [] }],
  };
  const intern = new Map<string, number>();
  const once = (key: string, add: () => number): number => {
    let i = intern.get(key);
    if (i === undefined) intern.set(key, (i = add()));
    return i;
  };
  const str = (s: string) => once(`s:${s}`, () => d.stringTable.push(s) - 1);
  const attr = (k: string, v: string | number) =>
    once(`a:${k}=${typeof v}:${v}`, () => d.attributeTable.push({ keyStrindex: str(k), value: anyValue(v), unitStrindex: 0 }) - 1);
  const mapping = (module: string, buildId?: string) =>
    once(
      `m:${module}:${buildId}`,
      () =>
        d.mappingTable.push({
          memoryStart: '4096',
          memoryLimit: '1048576',
          fileOffset: '0',
          filenameStrindex: str(`/usr/lib/${module}`),
          attributeIndices: buildId ? [attr('process.executable.build_id.gnu', buildId)] : [],
        }) - 1,
    );
  const fn = (name: string, file: string) =>
    once(
      `f:${name}:${file}`,
      () => d.functionTable.push({ nameStrindex: str(name), systemNameStrindex: str(name), filenameStrindex: str(file), startLine: '0' }) - 1,
    );
  const location = (f: TFrame) =>
    once(
      `l:${JSON.stringify(f, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`,
      () =>
        d.locationTable.push({
          mappingIndex: f.module ? mapping(f.module, f.buildId) : 0,
          address: String(f.address ?? 0n),
          lines: f.name ? [{ functionIndex: fn(f.name, f.file ?? ''), line: String(f.line ?? 0), column: '0' }] : [],
          attributeIndices: f.kind ? [attr('profile.frame.type', f.kind)] : [],
        }) - 1,
    );
  const stack = (frames: TFrame[]) => {
    const locs = frames.map(location);
    return once(`st:${locs.join(',')}`, () => d.stackTable.push({ locationIndices: locs }) - 1);
  };
  const link = (traceId: string, spanId: string) =>
    once(`k:${traceId}:${spanId}`, () => d.linkTable.push({ traceId: Buffer.from(traceId, 'hex'), spanId: Buffer.from(spanId, 'hex') }) - 1);

  const resourceProfiles: ResourceProfilesObject[] = profiles.map((p) => ({
    resource: {
      attributes: Object.entries(p.resource).map(([key, v]) => ({ key, value: anyValue(v) })),
      droppedAttributesCount: 0,
    },
    schemaUrl: '',
    scopeProfiles: [
      {
        scope: { name: 'hotspan', version: '0', attributes: [], droppedAttributesCount: 0 },
        schemaUrl: '',
        profiles: [
          {
            sampleType: { typeStrindex: str('samples'), unitStrindex: str('count') },
            periodType: { typeStrindex: str('cpu'), unitStrindex: str('nanoseconds') },
            period: String(p.periodNs),
            timeUnixNano: String(p.timeUnixNs),
            durationNano: '10000000000',
            profileId: Buffer.alloc(16, 1),
            droppedAttributesCount: 0,
            originalPayloadFormat: '',
            originalPayload: Buffer.alloc(0),
            attributeIndices: [],
            samples: p.samples.map((s): SampleObject => ({
              stackIndex: stack(s.frames),
              attributeIndices: [
                ...(s.tid !== undefined ? [attr('thread.id', s.tid)] : []),
                ...(s.threadName !== undefined ? [attr('thread.name', s.threadName)] : []),
                ...(s.cpu !== undefined ? [attr('cpu.logical_number', s.cpu)] : []),
                ...Object.entries(s.extraAttrs ?? {}).map(([k, v]) => attr(k, v)),
              ],
              linkIndex: s.traceId && s.spanId ? link(s.traceId, s.spanId) : 0,
              values: (s.values ?? []).map(String),
              timestampsUnixNano: (s.timestamps ?? []).map(String),
            })),
          },
        ],
      },
    ],
  }));
  return { resourceProfiles, dictionary: d };
}
