import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LAYOUTS } from '../../../src/events/decode.js';
import { projectPath } from '../../../src/bpf/paths.js';

// The C compiler's view of bpf/hotspan.h (offsetof/sizeof) must equal the
// TypeScript decoder's tables: one header, one decoder, no drift.
describe('kernel↔user ABI', () => {
  execFileSync('make', ['-s', '-C', projectPath('bpf'), '.output/abi-offsets.json']);
  const fromC = JSON.parse(readFileSync(projectPath('bpf/.output/abi-offsets.json'), 'utf8')) as Record<
    string,
    { size: number; fields: Record<string, number> }
  >;

  it('covers the same structs on both sides', () => {
    expect(Object.keys(LAYOUTS).sort()).toEqual(Object.keys(fromC).sort());
  });

  for (const [name, layout] of Object.entries(fromC)) {
    it(`${name}: TS offsets equal C offsets`, () => {
      expect(LAYOUTS[name]).toEqual(layout);
    });
  }
});
