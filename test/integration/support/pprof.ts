import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { Profile } from 'pprof-format';
import { PPROF } from './env.js';

export interface DecodedSample {
  /** Function names leaf first. */
  stack: string[];
  count: number;
  labels: Record<string, string | number>;
}

/** Decodes a gzipped pprof file into plain samples (leaf-first function names, labels). */
export function readPprof(path: string): { profile: Profile; samples: DecodedSample[] } {
  const profile = Profile.decode(gunzipSync(readFileSync(path)));
  const str = (i: number | bigint) => profile.stringTable.strings[Number(i)];
  const fnName = new Map(profile.function.map((f) => [Number(f.id), str(f.name)]));
  const locFns = new Map(profile.location.map((l) => [Number(l.id), l.line.map((ln) => fnName.get(Number(ln.functionId)) ?? '?')]));
  const samples = profile.sample.map((s) => ({
    stack: s.locationId.flatMap((id) => locFns.get(Number(id)) ?? ['?']),
    count: Number(s.value[0]),
    labels: Object.fromEntries(s.label.map((l) => [str(l.key), Number(l.str) ? str(l.str) : Number(l.num)])),
  }));
  return { profile, samples };
}

/** Self (leaf) share in percent of every function among the given samples. */
export function selfShares(samples: DecodedSample[]): Map<string, number> {
  const total = samples.reduce((a, s) => a + s.count, 0);
  const out = new Map<string, number>();
  for (const s of samples) out.set(s.stack[0] ?? '?', (out.get(s.stack[0] ?? '?') ?? 0) + s.count);
  for (const [k, v] of out) out.set(k, (100 * v) / total);
  return out;
}

/** Inclusive share in percent of every function (counted once per sample). */
export function totalShares(samples: DecodedSample[]): Map<string, number> {
  const total = samples.reduce((a, s) => a + s.count, 0);
  const out = new Map<string, number>();
  for (const s of samples) for (const f of new Set(s.stack)) out.set(f, (out.get(f) ?? 0) + s.count);
  for (const [k, v] of out) out.set(k, (100 * v) / total);
  return out;
}

/** Google pprof's own reading: `pprof -top` flat% per function. */
export function pprofTop(path: string): Map<string, number> {
  const text = execFileSync(PPROF, ['-top', '-nodecount=200', path], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^\s*\S+\s+([\d.]+)%\s+[\d.]+%\s+\S+\s+[\d.]+%\s+(.+)$/.exec(line);
    if (m) out.set(m[2].trim(), Number(m[1]));
  }
  return out;
}
