// Demangling against c++filt (binutils) as ground truth for C++; Rust cases are the
// documented rustc-demangle outputs.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { demangle } from '../../../src/symbols/demangle.js';

describe('demangle', () => {
  it('demangles C++ like c++filt', () => {
    const names = ['_ZN7hotspan7fixture6Burner4spinEi', '_ZNSt6vectorIiSaIiEE9push_backERKi', '_Z3fooPKcz', '_ZN3foo3barEv.cold'];
    const filt = execFileSync('c++filt', names, { encoding: 'utf8' }).trim().split('\n');
    expect(demangle(names[0]!)).toBe('hotspan::fixture::Burner::spin(int)');
    names.forEach((n, i) => expect(demangle(n)).toBe(filt[i]));
  });

  it('demangles Rust legacy (hash dropped) and v0', () => {
    expect(demangle('_ZN4core3fmt5write17h0123456789abcdefE')).toBe('core::fmt::write');
    expect(demangle('_RNvCs1234_7mycrate3foo')).toBe('mycrate::foo');
  });

  it('returns plain and undemanglable names unchanged', () => {
    expect(demangle('main')).toBe('main');
    expect(demangle('burn_b')).toBe('burn_b');
    expect(demangle('_Zgarbage!!')).toBe('_Zgarbage!!');
  });
});
