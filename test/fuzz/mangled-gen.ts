/** Mangled-looking names for the demangler fuzzer, including the exponential back-reference family. */
import { int, pick } from './rng.js';

const PIECES = [
  'N',
  'E',
  'I',
  'E',
  'S_',
  'S0_',
  'S1_',
  'S2_',
  'T_',
  'T0_',
  'St',
  'Sa',
  'Ss',
  'i',
  'v',
  'c',
  'P',
  'R',
  'K',
  'L',
  'Z',
  'D',
  'F',
  'Dp',
  'J',
  'C1',
  'D0',
  '3foo',
  '1A',
  '1B',
  '4pair',
  '6vector',
  'Ut_',
  'Ul',
  'cv',
  'qu',
  'sr',
  'dt',
  'B',
  'Cs',
  'Nv',
  '_',
];

export function mangledName(r: () => number): string {
  const mode = int(r, 10);
  if (mode === 0) return explodingName(5 + int(r, 20));
  const prefix = pick(r, ['_Z', '_Z', '_Z', '__Z', '_R', '_ZN']);
  const n = 1 + int(r, mode === 1 ? 400 : 30);
  let s = prefix;
  for (let i = 0; i < n; i++) s += pick(r, PIECES);
  return s;
}

/** B<A,A> nested `levels` deep through back-references: 189 characters demangle to millions. */
export function explodingName(levels: number): string {
  const sub = (k: number) => (k === 0 ? 'S_' : `S${(k - 1).toString(36).toUpperCase()}_`);
  let s = '_Z1f1A1BIS_S_E';
  for (let k = 1; k <= levels; k++) s += `${sub(1)}I${sub(k + 1)}${sub(k + 1)}E`;
  return s;
}
