/**
 * Data shapes of the OTLP domain.
 *
 * Two families live here:
 *  1. Simple internal records (SpanRecord, MetricPoint, LogRecord) that other domains produce and the
 *     exporter turns into OTLP messages. Close to the OTel data model: ids are lowercase hex, times are
 *     bigint Unix epoch nanoseconds, attributes are flat key → scalar.
 *  2. The decoded request objects the embedded receiver hands to an `OtlpSink`. They are protobufjs
 *     `toObject({ longs: String, bytes: Buffer, enums: Number, defaults: true, arrays: true })`
 *     output: camelCase field names, 64-bit integers as decimal strings, bytes as Buffer, every field
 *     present (defaults filled in; an unset sub-message is `null`), repeated fields always arrays.
 *     Of a oneof (AnyValue.value, NumberDataPoint.value, Metric.data) only the member that was set
 *     is present. Only the fields hotspan emits or a
 *     store needs are typed; the objects may carry more.
 *
 * Wire format: opentelemetry-proto v1.10.0 numbering (profiles `v1development` with the
 * ProfilesDictionary + stack_table layout). Older profiles numberings (≤ v1.9) are wire-incompatible.
 */

export type AttributeValue = string | number | boolean;
export type Attributes = Record<string, AttributeValue>;

// ---------------------------------------------------------------------------------------------
// Internal records (inputs to the exporter)
// ---------------------------------------------------------------------------------------------

import type { SpanKind, StatusCode } from './enums.js';

/** One finished span. */
export interface SpanRecord {
  /** 32 lowercase hex chars. */
  traceId: string;
  /** 16 lowercase hex chars. */
  spanId: string;
  /** 16 lowercase hex chars, absent for a root span. */
  parentSpanId?: string;
  name: string;
  kind: SpanKind;
  startUnixNs: bigint;
  endUnixNs: bigint;
  attributes: Attributes;
  statusCode?: StatusCode;
  statusMessage?: string;
  /** Resource of the process the span belongs to (decided by src/resource). */
  resource: Attributes;
}

/** One metric data point. Gauges and monotonic sums cover what the agent reports. */
export interface MetricPoint {
  name: string;
  description?: string;
  unit?: string;
  /** 'sum' is a monotonic cumulative counter; 'gauge' a last value; 'histogram' cumulative explicit buckets. */
  kind: 'gauge' | 'sum' | 'histogram';
  value: number;
  /** Integer points are encoded as asInt, others as asDouble. */
  isInt?: boolean;
  timeUnixNs: bigint;
  /** Start of the cumulative period for sums. */
  startUnixNs?: bigint;
  attributes: Attributes;
  resource: Attributes;
  /** For kind 'histogram': cumulative counts per bucket (bucketCounts.length = explicitBounds.length + 1). */
  histogram?: {
    explicitBounds: readonly number[];
    bucketCounts: readonly number[];
    count: number;
    sum: number;
    min?: number;
    max?: number;
    /** Exemplars: measured requests with their trace and span ids (OTLP Exemplar). */
    exemplars?: readonly MetricExemplar[];
  };
}

/** One exemplar of a histogram point: a measurement of a traced request. */
export interface MetricExemplar {
  value: number;
  timeUnixNs: bigint;
  /** 32 lowercase hex chars. */
  traceId: string;
  /** 16 lowercase hex chars. */
  spanId: string;
}

/** One log record. */
export interface LogRecord {
  timeUnixNs: bigint;
  observedUnixNs?: bigint;
  /** OTel SeverityNumber 1..24 (9 = INFO, 13 = WARN, 17 = ERROR). */
  severityNumber: number;
  severityText?: string;
  body: string;
  attributes: Attributes;
  traceId?: string;
  spanId?: string;
  resource: Attributes;
}

// ---------------------------------------------------------------------------------------------
// Decoded request objects (receiver → sink). protobufjs toObject shape, see header comment.
// ---------------------------------------------------------------------------------------------

/** Decimal string of a 64-bit integer (protobufjs `longs: String`). */
export type Int64String = string;

export interface AnyValueObject {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: Int64String;
  doubleValue?: number;
  arrayValue?: { values: AnyValueObject[] };
  kvlistValue?: { values: KeyValueObject[] };
  bytesValue?: Buffer;
}

export interface KeyValueObject {
  key: string;
  value: AnyValueObject | null;
}

export interface ResourceObject {
  attributes: KeyValueObject[];
  droppedAttributesCount: number;
}

export interface InstrumentationScopeObject {
  name: string;
  version: string;
  attributes: KeyValueObject[];
  droppedAttributesCount: number;
}

// --- traces ---

export interface SpanObject {
  traceId: Buffer;
  spanId: Buffer;
  traceState: string;
  parentSpanId: Buffer;
  flags: number;
  name: string;
  kind: number;
  startTimeUnixNano: Int64String;
  endTimeUnixNano: Int64String;
  attributes: KeyValueObject[];
  droppedAttributesCount: number;
  events: unknown[];
  links: unknown[];
  status: { message: string; code: number } | null;
}

export interface ScopeSpansObject {
  scope: InstrumentationScopeObject | null;
  spans: SpanObject[];
  schemaUrl: string;
}

export interface ResourceSpansObject {
  resource: ResourceObject | null;
  scopeSpans: ScopeSpansObject[];
  schemaUrl: string;
}

export interface ExportTraceServiceRequestObject {
  resourceSpans: ResourceSpansObject[];
}

// --- metrics ---

export interface NumberDataPointObject {
  attributes: KeyValueObject[];
  startTimeUnixNano: Int64String;
  timeUnixNano: Int64String;
  /** protobufjs fills only the member of the `value` oneof that was set. */
  asDouble?: number;
  asInt?: Int64String;
  flags: number;
}

export interface HistogramDataPointObject {
  attributes: KeyValueObject[];
  startTimeUnixNano: Int64String;
  timeUnixNano: Int64String;
  count: Int64String;
  sum: number;
  bucketCounts: Int64String[];
  explicitBounds: number[];
  min?: number;
  max?: number;
  flags: number;
  exemplars?: ExemplarObject[];
}

export interface ExemplarObject {
  filteredAttributes: KeyValueObject[];
  timeUnixNano: Int64String;
  asDouble?: number;
  spanId: Buffer;
  traceId: Buffer;
}

export interface MetricObject {
  name: string;
  description: string;
  unit: string;
  gauge?: { dataPoints: NumberDataPointObject[] };
  /** Explicit-bucket histogram; aggregationTemporality 2 = CUMULATIVE. */
  histogram?: { dataPoints: HistogramDataPointObject[]; aggregationTemporality: number };
  /** aggregationTemporality: 1 DELTA, 2 CUMULATIVE. */
  sum?: { dataPoints: NumberDataPointObject[]; aggregationTemporality: number; isMonotonic: boolean };
}

export interface ScopeMetricsObject {
  scope: InstrumentationScopeObject | null;
  metrics: MetricObject[];
  schemaUrl: string;
}

export interface ResourceMetricsObject {
  resource: ResourceObject | null;
  scopeMetrics: ScopeMetricsObject[];
  schemaUrl: string;
}

export interface ExportMetricsServiceRequestObject {
  resourceMetrics: ResourceMetricsObject[];
}

// --- logs ---

export interface LogRecordObject {
  timeUnixNano: Int64String;
  observedTimeUnixNano: Int64String;
  severityNumber: number;
  severityText: string;
  body: AnyValueObject | null;
  attributes: KeyValueObject[];
  droppedAttributesCount: number;
  flags: number;
  traceId: Buffer;
  spanId: Buffer;
  eventName: string;
}

export interface ScopeLogsObject {
  scope: InstrumentationScopeObject | null;
  logRecords: LogRecordObject[];
  schemaUrl: string;
}

export interface ResourceLogsObject {
  resource: ResourceObject | null;
  scopeLogs: ScopeLogsObject[];
  schemaUrl: string;
}

export interface ExportLogsServiceRequestObject {
  resourceLogs: ResourceLogsObject[];
}

// --- profiles (v1development, proto v1.10 numbering) ---

export interface ValueTypeObject {
  /** Index into dictionary.stringTable. */
  typeStrindex: number;
  unitStrindex: number;
}

export interface SampleObject {
  /** Index into dictionary.stackTable. */
  stackIndex: number;
  /** Indices into dictionary.attributeTable. */
  attributeIndices: number[];
  /** Index into dictionary.linkTable; 0 = no link. */
  linkIndex: number;
  values: Int64String[];
  timestampsUnixNano: Int64String[];
}

export interface ProfileObject {
  sampleType: ValueTypeObject | null;
  samples: SampleObject[];
  timeUnixNano: Int64String;
  durationNano: Int64String;
  periodType: ValueTypeObject | null;
  period: Int64String;
  profileId: Buffer;
  droppedAttributesCount: number;
  originalPayloadFormat: string;
  originalPayload: Buffer;
  attributeIndices: number[];
}

export interface ScopeProfilesObject {
  scope: InstrumentationScopeObject | null;
  profiles: ProfileObject[];
  schemaUrl: string;
}

export interface ResourceProfilesObject {
  resource: ResourceObject | null;
  scopeProfiles: ScopeProfilesObject[];
  schemaUrl: string;
}

export interface MappingObject {
  memoryStart: Int64String;
  memoryLimit: Int64String;
  fileOffset: Int64String;
  filenameStrindex: number;
  attributeIndices: number[];
}

export interface LineObject {
  functionIndex: number;
  line: Int64String;
  column: Int64String;
}

export interface LocationObject {
  /** Index into dictionary.mappingTable; 0 = no mapping. */
  mappingIndex: number;
  address: Int64String;
  /** Leaf-most inlined function first. */
  lines: LineObject[];
  attributeIndices: number[];
}

export interface FunctionObject {
  nameStrindex: number;
  systemNameStrindex: number;
  filenameStrindex: number;
  startLine: Int64String;
}

export interface LinkObject {
  traceId: Buffer;
  spanId: Buffer;
}

/** Attribute table entry: key by string index, unit by string index (0 = none). */
export interface KeyValueAndUnitObject {
  keyStrindex: number;
  value: AnyValueObject | null;
  unitStrindex: number;
}

export interface StackObject {
  /** Indices into dictionary.locationTable, leaf first. */
  locationIndices: number[];
}

export interface ProfilesDictionaryObject {
  mappingTable: MappingObject[];
  locationTable: LocationObject[];
  functionTable: FunctionObject[];
  linkTable: LinkObject[];
  stringTable: string[];
  attributeTable: KeyValueAndUnitObject[];
  stackTable: StackObject[];
}

export interface ExportProfilesServiceRequestObject {
  resourceProfiles: ResourceProfilesObject[];
  dictionary: ProfilesDictionaryObject | null;
}

// ---------------------------------------------------------------------------------------------
// Receiver → store contract
// ---------------------------------------------------------------------------------------------

/**
 * Where the embedded receiver hands decoded requests. The store implements it. A rejected promise
 * makes the receiver answer the client with UNAVAILABLE (retryable), so a sink should reject only
 * for transient trouble and count-and-skip malformed content itself.
 */
export interface OtlpSink {
  ingestTraces(req: ExportTraceServiceRequestObject): Promise<void>;
  ingestMetrics(req: ExportMetricsServiceRequestObject): Promise<void>;
  ingestLogs(req: ExportLogsServiceRequestObject): Promise<void>;
  ingestProfiles(req: ExportProfilesServiceRequestObject): Promise<void>;
}

/** The four OTLP signals. */
export type Signal = 'traces' | 'metrics' | 'logs' | 'profiles';
export const SIGNALS: readonly Signal[] = ['traces', 'metrics', 'logs', 'profiles'];
