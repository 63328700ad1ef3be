/**
 * Checks an OTLP profiles message (ExportProfilesServiceRequest / ProfilesData, object shape of
 * types.ts) against the structural rules of profiles v1development (proto v1.10):
 *  - every dictionary table is non-empty and its entry 0 is the zero value (string_table[0] == "");
 *  - every *_index / *_strindex / *_indices value is within its table;
 *  - a profile has a sample_type (Pyroscope: "sample type is missing");
 *  - a sample has values or timestamps, and when it has both their counts are equal;
 *  - when the profile has a period, a sample carries at most one value (Pyroscope rejects the whole
 *    request with "sample values length mismatch N 1" otherwise: the strictest consumer wins);
 *  - sample timestamps lie inside the half-open [time_unix_nano, time_unix_nano + duration_nano)
 *    (the Collector's pprofiletest rule; a zero duration admits no timestamp);
 *  - links carry a 16-byte trace id and an 8-byte span id; profile ids are 16 bytes, not all zero;
 *  - attribute keys are unique within one sample's / location's / mapping's attribute set.
 * Returns every violation found (empty list = valid), each naming the path of the offending field.
 */
import type { ExportProfilesServiceRequestObject, AnyValueObject } from './types.js';

function isZeroAnyValue(v: AnyValueObject | null | undefined): boolean {
  if (!v) return true;
  return Object.values(v).every((x) => x === undefined);
}

const isZeroBytes = (b: Uint8Array | undefined) => !b || b.length === 0;
const isZeroNum = (s: string | number | undefined) => s === undefined || Number(s) === 0;

export function validateProfilesData(msg: ExportProfilesServiceRequestObject): string[] {
  const v: string[] = [];
  const d = msg.dictionary;
  if (!d) return ['dictionary: missing (every profiles message carries one)'];
  const tables = {
    mappingTable: d.mappingTable,
    locationTable: d.locationTable,
    functionTable: d.functionTable,
    linkTable: d.linkTable,
    stringTable: d.stringTable,
    attributeTable: d.attributeTable,
    stackTable: d.stackTable,
  };
  for (const [name, t] of Object.entries(tables)) {
    if (!Array.isArray(t) || t.length === 0) v.push(`dictionary.${name}: empty; entry 0 must be the zero value`);
  }
  if (v.length) return v;

  // Index 0 zero values.
  if (d.stringTable[0] !== '') v.push('dictionary.stringTable[0]: must be ""');
  const m0 = d.mappingTable[0]!;
  if (!isZeroNum(m0.memoryStart) || !isZeroNum(m0.memoryLimit) || !isZeroNum(m0.fileOffset) || m0.filenameStrindex || m0.attributeIndices?.length)
    v.push('dictionary.mappingTable[0]: must be the zero Mapping');
  const l0 = d.locationTable[0]!;
  if (l0.mappingIndex || !isZeroNum(l0.address) || l0.lines?.length || l0.attributeIndices?.length)
    v.push('dictionary.locationTable[0]: must be the zero Location');
  const f0 = d.functionTable[0]!;
  if (f0.nameStrindex || f0.systemNameStrindex || f0.filenameStrindex || !isZeroNum(f0.startLine))
    v.push('dictionary.functionTable[0]: must be the zero Function');
  const k0 = d.linkTable[0]!;
  if (!isZeroBytes(k0.traceId) || !isZeroBytes(k0.spanId)) v.push('dictionary.linkTable[0]: must be the empty Link');
  const a0 = d.attributeTable[0]!;
  if (a0.keyStrindex || a0.unitStrindex || !isZeroAnyValue(a0.value)) v.push('dictionary.attributeTable[0]: must be the zero KeyValueAndUnit');
  if (d.stackTable[0]!.locationIndices?.length) v.push('dictionary.stackTable[0]: must be the empty Stack');

  const inRange = (i: number | undefined, table: unknown[], path: string) => {
    if (i === undefined) return;
    if (!Number.isInteger(i) || i < 0 || i >= table.length) v.push(`${path}: index ${i} out of range [0, ${table.length})`);
  };
  const str = (i: number | undefined, path: string) => inRange(i, d.stringTable, path);
  const attrSet = (indices: number[] | undefined, path: string) => {
    const keys = new Set<number>();
    (indices ?? []).forEach((i, j) => {
      inRange(i, d.attributeTable, `${path}[${j}]`);
      const a = d.attributeTable[i];
      if (!a) return;
      if (keys.has(a.keyStrindex)) v.push(`${path}: duplicate attribute key "${d.stringTable[a.keyStrindex]}"`);
      keys.add(a.keyStrindex);
    });
  };

  d.mappingTable.forEach((m, i) => {
    str(m.filenameStrindex, `dictionary.mappingTable[${i}].filenameStrindex`);
    attrSet(m.attributeIndices, `dictionary.mappingTable[${i}].attributeIndices`);
  });
  d.locationTable.forEach((l, i) => {
    inRange(l.mappingIndex, d.mappingTable, `dictionary.locationTable[${i}].mappingIndex`);
    l.lines?.forEach((line, j) => inRange(line.functionIndex, d.functionTable, `dictionary.locationTable[${i}].lines[${j}].functionIndex`));
    attrSet(l.attributeIndices, `dictionary.locationTable[${i}].attributeIndices`);
  });
  d.functionTable.forEach((f, i) => {
    str(f.nameStrindex, `dictionary.functionTable[${i}].nameStrindex`);
    str(f.systemNameStrindex, `dictionary.functionTable[${i}].systemNameStrindex`);
    str(f.filenameStrindex, `dictionary.functionTable[${i}].filenameStrindex`);
  });
  d.linkTable.forEach((k, i) => {
    if (i === 0) return;
    if (k.traceId?.length !== 16) v.push(`dictionary.linkTable[${i}].traceId: must be 16 bytes, is ${k.traceId?.length ?? 0}`);
    if (k.spanId?.length !== 8) v.push(`dictionary.linkTable[${i}].spanId: must be 8 bytes, is ${k.spanId?.length ?? 0}`);
  });
  d.attributeTable.forEach((a, i) => {
    str(a.keyStrindex, `dictionary.attributeTable[${i}].keyStrindex`);
    str(a.unitStrindex, `dictionary.attributeTable[${i}].unitStrindex`);
    if (i > 0 && a.keyStrindex === 0) v.push(`dictionary.attributeTable[${i}].keyStrindex: empty attribute key`);
  });
  d.stackTable.forEach((s, i) => s.locationIndices?.forEach((li, j) => inRange(li, d.locationTable, `dictionary.stackTable[${i}].locationIndices[${j}]`)));

  msg.resourceProfiles.forEach((rp, r) =>
    rp.scopeProfiles.forEach((sp, s) =>
      sp.profiles.forEach((p, pi) => {
        const path = `resourceProfiles[${r}].scopeProfiles[${s}].profiles[${pi}]`;
        if (!p.sampleType) v.push(`${path}.sampleType: missing`);
        str(p.sampleType?.typeStrindex, `${path}.sampleType.typeStrindex`);
        str(p.sampleType?.unitStrindex, `${path}.sampleType.unitStrindex`);
        str(p.periodType?.typeStrindex, `${path}.periodType.typeStrindex`);
        str(p.periodType?.unitStrindex, `${path}.periodType.unitStrindex`);
        attrSet(p.attributeIndices, `${path}.attributeIndices`);
        if (p.profileId && p.profileId.length > 0) {
          if (p.profileId.length !== 16) v.push(`${path}.profileId: must be 16 bytes, is ${p.profileId.length}`);
          else if (p.profileId.every((b) => b === 0)) v.push(`${path}.profileId: all zero is invalid`);
        }
        const start = BigInt(p.timeUnixNano ?? 0);
        const end = start + BigInt(p.durationNano ?? 0);
        const hasPeriod = !isZeroNum(p.period) && !!p.periodType;
        p.samples.forEach((sample, si) => {
          const sp = `${path}.samples[${si}]`;
          inRange(sample.stackIndex, d.stackTable, `${sp}.stackIndex`);
          inRange(sample.linkIndex, d.linkTable, `${sp}.linkIndex`);
          attrSet(sample.attributeIndices, `${sp}.attributeIndices`);
          const nv = sample.values?.length ?? 0;
          const nt = sample.timestampsUnixNano?.length ?? 0;
          if (nv === 0 && nt === 0) v.push(`${sp}: has neither values nor timestamps`);
          if (nv > 0 && nt > 0 && nv !== nt) v.push(`${sp}: ${nv} values but ${nt} timestamps (must be equal)`);
          if (hasPeriod && nv > 1) v.push(`${sp}: ${nv} values in a profile with a period (at most 1; send timestamps only)`);
          sample.timestampsUnixNano?.forEach((t, ti) => {
            const ts = BigInt(t);
            if (ts < start || ts >= end) v.push(`${sp}.timestampsUnixNano[${ti}]: ${t} outside the profile's time range [${start}, ${end})`);
          });
        });
      }),
    ),
  );
  return v;
}
