// Demangling against c++filt (binutils) as ground truth for C++; Rust cases are the
// documented rustc-demangle outputs.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { demangle, isolateModuleBytes } from '../../../src/symbols/demangle.js';

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

describe('isolateModuleBytes', () => {
  const wasm = readFileSync(createRequire(import.meta.url).resolve('gecko-profiler-demangle/index_bg.wasm'));

  it('gives each owner distinct bytes that are still the same valid module', () => {
    const a = isolateModuleBytes(wasm, 'thread-0');
    const b = isolateModuleBytes(wasm, 'thread-0-worker-1');
    expect(Buffer.compare(Buffer.from(a), Buffer.from(b))).not.toBe(0);
    for (const bytes of [a, b]) {
      expect(WebAssembly.validate(bytes)).toBe(true);
      const m = new WebAssembly.Module(bytes);
      expect(WebAssembly.Module.exports(m)).toEqual(WebAssembly.Module.exports(new WebAssembly.Module(wasm)));
    }
    const [section] = WebAssembly.Module.customSections(new WebAssembly.Module(b), 'hotspan.isolate');
    expect(new TextDecoder().decode(section)).toBe('thread-0-worker-1');
  });

  it('encodes section sizes past one LEB128 byte', () => {
    const owner = 'x'.repeat(300); // section body > 127 bytes: a two-byte size
    const [section] = WebAssembly.Module.customSections(new WebAssembly.Module(isolateModuleBytes(wasm, owner)), 'hotspan.isolate');
    expect(new TextDecoder().decode(section)).toBe(owner);
  });
});
