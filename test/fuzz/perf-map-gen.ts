/** Perf-map lines and chunks for the fuzzer: valid lines, near-valid ones, and hostile ones. */
import { int, pick } from './rng.js';

const NAMES = ['JS:*fib file:///x.js:3:10', 'LazyCompile:~f /a/b.js:1', 'Builtin:ArgumentsAdaptor', 'Function:^g x.js:9', 'stub', '', ' ', 'JS:', 'JS:~ :1'];

export function perfMapLine(r: () => number): string {
  const hex = (digits: number) => Array.from({ length: digits }, () => '0123456789abcdefABCDEF'[int(r, 22)]).join('');
  switch (int(r, 9)) {
    case 0:
      return `${hex(12)} ${hex(3)} ${pick(r, NAMES)}`;
    case 1:
      return `0x${hex(1 + int(r, 16))} 0x${hex(1 + int(r, 4))} ${pick(r, NAMES)}`;
    case 2:
      return `${hex(17 + int(r, 5000))} ${hex(2)} huge-address`;
    case 3:
      return `${hex(8)} ${hex(2)} ${'n'.repeat(int(r, 20_000))}`;
    case 4:
      return `${hex(8)}  ${pick(r, NAMES)}`;
    case 5:
      return Buffer.from(Array.from({ length: int(r, 200) }, () => int(r, 256))).toString('latin1');
    case 6:
      return `${hex(8)} ${hex(2)} JS:*${'x'.repeat(int(r, 100))} ${'file:///%zz'.repeat(int(r, 3))}:${int(r, 1e9)}:${int(r, 99)}`;
    case 7:
      return `${hex(8)}\t${hex(2)}\t${pick(r, NAMES)}`;
    default:
      return `${'f'.repeat(16)} ${'f'.repeat(16)} wraps`;
  }
}
