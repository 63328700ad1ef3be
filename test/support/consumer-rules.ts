/**
 * Reference checkers that mirror, rule by rule, what two real consumers do with an OTLP profiles
 * request (object shape of src/otlp/types.ts, i.e. after a trip through the wire). They are
 * deliberately independent of src/otlp/validate-profiles.ts: that validator is ours, these are
 * transcriptions of the consumers' code, each rule citing where it comes from.
 *
 * Sources read (grafana/pyroscope @ 3fe6a457a32004efc46da819cbc114472d07415e, 2026-08-21;
 * open-telemetry/opentelemetry-collector @ 934999fbab274d10cbf18704b4594a6fb2049887, 2026-08-21;
 * open-telemetry/opentelemetry-collector-contrib pkg/pdatatest/pprofiletest/validate.go, the
 * ProfilesDictionary variant (proto >= v1.8 field names: Samples(), Lines())).
 *
 * A non-empty result means the consumer rejects the WHOLE request (Pyroscope: INVALID_ARGUMENT /
 * HTTP 400) or silently drops a profile (reported too: data lost is data lost).
 */
import type { ExportProfilesServiceRequestObject, ProfileObject, ProfilesDictionaryObject, AnyValueObject } from '../../src/otlp/types.js';

const PYRO = 'grafana/pyroscope@3fe6a457 pkg/ingester/otlp';
const CONTRIB = 'collector-contrib pkg/pdatatest/pprofiletest/validate.go';
const CORE = 'opentelemetry-collector@934999fb';

/** Go's `at[T]` in convert.go: index must be in [0, len). */
const inRange = (arr: unknown[] | undefined, i: number | undefined) => {
  const n = i ?? 0;
  return Number.isInteger(n) && n >= 0 && n < (arr?.length ?? 0);
};

/** stringValueFromAnyValue (convert.go helpers): only used for label values; never fails. */
function stringValue(v: AnyValueObject | null | undefined): string {
  if (!v) return '';
  if (v.stringValue !== undefined && v.stringValue !== null) return String(v.stringValue);
  if (v.intValue !== undefined && v.intValue !== null) return String(v.intValue);
  if (v.boolValue !== undefined && v.boolValue !== null) return String(v.boolValue);
  if (v.doubleValue !== undefined && v.doubleValue !== null) return String(v.doubleValue);
  return '';
}

/**
 * Pyroscope's OTLP profiles ingest: ingest_handler.go (*ingestHandler).export, then
 * convert.go ConvertOtelToGoogle → newProfileBuilder → convertSampleBack → … for every profile.
 * Stops at the first error of a profile (Go returns), as the server does for the whole request.
 */
export function pyroscopeIngestErrors(req: ExportProfilesServiceRequestObject): string[] {
  const errs: string[] = [];
  const d = req.dictionary as ProfilesDictionaryObject | null | undefined;
  // ingest_handler.go export(): `if dc == nil` → InvalidArgument "missing profile metadata dictionary".
  if (!d) return [`${PYRO}/ingest_handler.go export: missing profile metadata dictionary`];
  // ingest_handler.go export(): `if rps == nil` → InvalidArgument "missing resource profiles"
  // (an empty repeated field decodes to nil in Go).
  if (!req.resourceProfiles?.length) return [`${PYRO}/ingest_handler.go export: missing resource profiles`];
  req.resourceProfiles.forEach((rp, r) =>
    rp.scopeProfiles.forEach((sp, s) =>
      sp.profiles.forEach((p, i) => {
        const e = pyroscopeConvertError(p, d);
        if (e) errs.push(`resourceProfiles[${r}].scopeProfiles[${s}].profiles[${i}]: ${e}`);
      }),
    ),
  );
  return errs;
}

function pyroscopeConvertError(p: ProfileObject, d: ProfilesDictionaryObject): string | undefined {
  const S = d.stringTable;
  const attrKeyOk = (indices: number[] | undefined) => {
    // getAttributeValueByKeyOrEmpty: at(AttributeTable, idx) then at(StringTable, KeyStrindex).
    for (const ai of indices ?? []) {
      if (!inRange(d.attributeTable, ai)) return false;
      if (!inRange(S, d.attributeTable[ai]!.keyStrindex)) return false;
    }
    return true;
  };
  for (const [si, sample] of p.samples.entries()) {
    const at = `samples[${si}]`;
    // convert.go ConvertOtelToGoogle: serviceNameFromSample error → `return make(map…), nil`:
    // the whole profile is silently dropped (no error to the client, data lost).
    if (!attrKeyOk(sample.attributeIndices)) return `${PYRO}/convert.go ConvertOtelToGoogle: ${at} attribute lookup fails → profile silently dropped`;
    // convert.go newProfileBuilder: `if src.SampleType == nil` → "sample type is missing".
    if (!p.sampleType) return `${PYRO}/convert.go newProfileBuilder: sample type is missing`;
    // convert.go convertValueTypeBack (sample type, then period type): at(StringTable, Type/UnitStrindex).
    for (const [what, vt] of [
      ['sample type', p.sampleType],
      ['period type', p.periodType],
    ] as const) {
      if (!vt) continue; // `if ovt == nil { return nil, nil }`
      if (!inRange(S, vt.typeStrindex) || !inRange(S, vt.unitStrindex)) return `${PYRO}/convert.go convertValueTypeBack: ${what} string out of bounds`;
    }
    // convert.go convertSampleBack: values empty + timestamps → Value = [len(timestamps)].
    let nValues = sample.values?.length ?? 0;
    if (nValues === 0 && (sample.timestampsUnixNano?.length ?? 0) > 0) nValues = 1;
    // convert.go convertSampleBack: `if len(gs.Value) == 0` → "sample value is required".
    if (nValues === 0) return `${PYRO}/convert.go convertSampleBack: ${at} sample value is required`;
    // convert.go profileType(): off_cpu:nanoseconds with no period sums values (sampleConversionTypeSumEvents).
    const hasPeriod = Number(p.period ?? 0) !== 0 && !!p.periodType;
    const typeKey = `${S[p.sampleType.typeStrindex]}:${S[p.sampleType.unitStrindex]}:${hasPeriod ? S[p.periodType!.typeStrindex] : ''}:${hasPeriod ? S[p.periodType!.unitStrindex] : ''}`;
    if (typeKey === 'off_cpu:nanoseconds::') nValues = 1;
    // convert.go convertSampleBack: `if p.dst.Period != 0 && p.dst.PeriodType != nil &&
    // len(gs.Value) != len(p.dst.SampleType)` → "sample values length mismatch N 1" (one sample type in v1.10).
    if (hasPeriod && nValues !== 1) return `${PYRO}/convert.go convertSampleBack: ${at} sample values length mismatch ${nValues} 1`;
    // convert.go convertSampleAttributesToLabelsBack: at(AttributeTable, idx) → "could not access attribute".
    for (const ai of sample.attributeIndices ?? []) {
      if (!inRange(d.attributeTable, ai)) return `${PYRO}/convert.go convertSampleAttributesToLabelsBack: ${at} could not access attribute ${ai}`;
      const a = d.attributeTable[ai]!;
      // `if sv := stringValueFromAnyValue(...); sv != ""` → at(StringTable, KeyStrindex) "could not access attribute key".
      if (stringValue(a.value) !== '' && !inRange(S, a.keyStrindex))
        return `${PYRO}/convert.go convertSampleAttributesToLabelsBack: ${at} could not access attribute key`;
    }
    // convert.go convertSampleAttributesToLabelsBack: `if os.GetLinkIndex() != 0` → at(LinkTable, idx).
    if ((sample.linkIndex ?? 0) !== 0 && !inRange(d.linkTable, sample.linkIndex))
      return `${PYRO}/convert.go convertSampleAttributesToLabelsBack: ${at} could not access link ${sample.linkIndex}`;
    // convert.go convertSampleBack: `stackIndex < 0 || >= len(StackTable)` → "invalid stack index".
    if (!inRange(d.stackTable, sample.stackIndex)) return `${PYRO}/convert.go convertSampleBack: ${at} invalid stack index ${sample.stackIndex}`;
    for (const li of d.stackTable[sample.stackIndex ?? 0]!.locationIndices ?? []) {
      // convert.go convertSampleBack: at(LocationTable, locIdx), at(MappingTable, loc.MappingIndex).
      if (!inRange(d.locationTable, li)) return `${PYRO}/convert.go convertSampleBack: ${at} could not access location ${li}`;
      const loc = d.locationTable[li]!;
      if (!inRange(d.mappingTable, loc.mappingIndex)) return `${PYRO}/convert.go convertSampleBack: ${at} could not access mapping ${loc.mappingIndex}`;
      // convert.go convertMappingBack: at(StringTable, FilenameStrindex) "could not access mapping file name string".
      if (!inRange(S, d.mappingTable[loc.mappingIndex ?? 0]!.filenameStrindex))
        return `${PYRO}/convert.go convertMappingBack: mapping file name string out of bounds`;
      // convert.go convertLocationBack: getAttributeValueByKeyOrEmpty(profile.frame.type) errors are ignored (`_`).
      for (const line of loc.lines ?? []) {
        // convert.go convertLineBack: at(FunctionTable, FunctionIndex) "could not access function".
        if (!inRange(d.functionTable, line.functionIndex)) return `${PYRO}/convert.go convertLineBack: could not access function ${line.functionIndex}`;
        const f = d.functionTable[line.functionIndex ?? 0]!;
        // convert.go convertFunctionBack: name, system name and file name strings via at(StringTable, …).
        if (!inRange(S, f.nameStrindex) || !inRange(S, f.systemNameStrindex) || !inRange(S, f.filenameStrindex))
          return `${PYRO}/convert.go convertFunctionBack: function string out of bounds`;
      }
    }
  }
  return undefined;
}

/**
 * The Collector's rules: pprofiletest.ValidateProfile (collector-contrib, the validator the
 * Collector's own profile tests use) for every profile, plus the index checks core pdata applies
 * when a batch is merged into another dictionary (pdata/pprofile/*.go switchDictionary), plus the
 * otlpreceiver's drop of sample-less requests (receiver/otlpreceiver/internal/profiles/otlp.go Export).
 */
export function collectorProfileErrors(req: ExportProfilesServiceRequestObject): string[] {
  const errs: string[] = [];
  const d = req.dictionary as ProfilesDictionaryObject | null | undefined;
  if (!d) return [`${CORE} pdata: request without dictionary`];
  const S = d.stringTable ?? [];
  const idx = (len: number, i: number | undefined, what: string) => {
    const n = i ?? 0;
    // validate.go validateIndex: `idx < 0 || int(idx) >= length` → "index %d is out of range [0..%d)".
    if (n < 0 || n >= len) errs.push(`${CONTRIB} validateIndex: ${what} index ${n} is out of range [0..${len})`);
  };
  let samples = 0;
  req.resourceProfiles.forEach((rp, r) =>
    rp.scopeProfiles.forEach((sp, s) =>
      sp.profiles.forEach((p, pi) => {
        const at = `resourceProfiles[${r}].scopeProfiles[${s}].profiles[${pi}]`;
        samples += p.samples.length;
        // validate.go ValidateProfile: `stLen < 1` → "empty string table" (returns at once).
        if (S.length < 1) {
          errs.push(`${CONTRIB} ValidateProfile: ${at} empty string table`);
          return;
        }
        // validate.go ValidateProfile: `StringTable().At(0) != ""` → "string table must start with the empty string".
        if (S[0] !== '') errs.push(`${CONTRIB} ValidateProfile: string table must start with the empty string`);
        // validate.go validateSampleType / validateValueType: type and unit strindex in range.
        idx(S.length, p.sampleType?.typeStrindex, `${at}.sample_type.type_strindex`);
        idx(S.length, p.sampleType?.unitStrindex, `${at}.sample_type.unit_strindex`);
        // validate.go ValidateProfile: validateValueType(stLen, pp.PeriodType()).
        idx(S.length, p.periodType?.typeStrindex, `${at}.period_type.type_strindex`);
        idx(S.length, p.periodType?.unitStrindex, `${at}.period_type.unit_strindex`);
        // validate.go ValidateProfile: validateIndices(AttributeTable, pp.AttributeIndices()).
        (p.attributeIndices ?? []).forEach((ai) => idx(d.attributeTable.length, ai, `${at}.attribute_indices`));
        const start = BigInt(p.timeUnixNano ?? 0);
        const end = start + BigInt(p.durationNano ?? 0);
        p.samples.forEach((sample, si) => {
          const sa = `${at}.sample[${si}]`;
          // validate.go validateSample: attribute indices in range.
          (sample.attributeIndices ?? []).forEach((ai) => idx(d.attributeTable.length, ai, `${sa}.attribute_indices`));
          // validate.go validateSample: `ts < startTime || ts >= endTime` → "out of range [start..end)" (half-open).
          (sample.timestampsUnixNano ?? []).forEach((t, ti) => {
            const ts = BigInt(t);
            if (ts < start || ts >= end) errs.push(`${CONTRIB} validateSample: ${sa}.timestamps_unix_nano[${ti}] ${t} is out of range [${start}..${end})`);
          });
          // validate.go validateSample: `if sample.LinkIndex() > 0` → index in LinkTable.
          if ((sample.linkIndex ?? 0) > 0) idx(d.linkTable.length, sample.linkIndex, `${sa}.link_index`);
          // pdata/pprofile/sample.go switchDictionary: `if ms.StackIndex() > 0` → "invalid stack index".
          if ((sample.stackIndex ?? 0) > 0 && (sample.stackIndex ?? 0) >= d.stackTable.length)
            errs.push(`${CORE} pdata/pprofile/sample.go switchDictionary: ${sa} invalid stack index ${sample.stackIndex}`);
          const stack = d.stackTable[sample.stackIndex ?? 0];
          (stack?.locationIndices ?? []).forEach((li) => {
            // pdata/pprofile/stack.go switchDictionary: "invalid location index".
            if (li < 0 || li >= d.locationTable.length) {
              errs.push(`${CORE} pdata/pprofile/stack.go switchDictionary: invalid location index ${li}`);
              return;
            }
            const loc = d.locationTable[li]!;
            // validate.go validateLocation: `if loc.MappingIndex() > 0` → index, then validateMapping.
            if ((loc.mappingIndex ?? 0) > 0) {
              idx(d.mappingTable.length, loc.mappingIndex, `location[${li}].mapping_index`);
              const m = d.mappingTable[loc.mappingIndex ?? 0];
              if (m) {
                // validate.go validateMapping: filename_strindex and attribute indices in range.
                idx(S.length, m.filenameStrindex, `mapping[${loc.mappingIndex}].filename_strindex`);
                (m.attributeIndices ?? []).forEach((ai) => idx(d.attributeTable.length, ai, `mapping[${loc.mappingIndex}].attribute_indices`));
              }
            }
            // validate.go validateLine: function_index in FunctionTable.
            (loc.lines ?? []).forEach((line) => {
              idx(d.functionTable.length, line.functionIndex, `location[${li}].line.function_index`);
              const f = d.functionTable[line.functionIndex ?? 0];
              // pdata/pprofile/function.go switchDictionary: name / system name / filename strindex.
              if (f) for (const k of [f.nameStrindex, f.systemNameStrindex, f.filenameStrindex]) idx(S.length, k, `function[${line.functionIndex}] strindex`);
            });
            // validate.go validateLocation: attribute indices in range.
            (loc.attributeIndices ?? []).forEach((ai) => idx(d.attributeTable.length, ai, `location[${li}].attribute_indices`));
          });
        });
      }),
    ),
  );
  // validate.go validateKeyValueAndUnits: every attribute's key and unit strindex in range.
  d.attributeTable.forEach((a, i) => {
    idx(S.length, a.keyStrindex, `attribute_table[${i}].key`);
    idx(S.length, a.unitStrindex, `attribute_table[${i}].unit`);
  });
  // receiver/otlpreceiver/internal/profiles/otlp.go Export: `if numSamples == 0 { return … }`:
  // a request with no sample is acknowledged and thrown away.
  if (samples === 0) errs.push(`${CORE} receiver/otlpreceiver/internal/profiles/otlp.go Export: request with 0 samples is dropped`);
  return errs;
}
