// Rust built -C opt-level=2 -C force-frame-pointers=no (std linked in, built by Debian
// without frame pointers): the fixture's chain and std's lang_start frames walked through
// to main, checked with addr2line on the raw PCs.
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildFixtures, FIXTURES_BIN, requireRoot } from './support/env.js';
import { killAll, sleep, startFixture } from './support/procs.js';
import { addr2lineNames, hasChain, sampleWithUnwinding } from './unwind-support.js';

const root = requireRoot('.eh_frame unwinding of a Rust process');
// rust_level5 itself is not in the chain: addr2line names its PCs after what is inlined there
// (core's wrapping_add); rust_level4 calls nothing else that burns CPU.
const CHAIN = ['rust_level4', 'rust_level3', 'rust_level2', 'rust_level1'];

beforeAll(() => {
  if (root) buildFixtures();
});
afterEach(() => killAll());

describe.runIf(root)('unwinding Rust (no frame pointers)', () => {
  it('≥95% of samples in the fixture carry rust_level4 → … → rust_level1 and reach main through std', async () => {
    const bin = join(FIXTURES_BIN, 'unwind_rust');
    const child = startFixture(bin, ['0']);
    await sleep(200);
    const run = await sampleWithUnwinding(child.pid!, 8);
    const names = addr2lineNames(
      run.mapsText,
      run.samples.map((s) => s.userStack),
      bin,
    );
    const inFixture = names.filter((n) => n.some((f) => /rust_level|wrapping_add/.test(f)));
    // The Rust main sits between rust_level1 and the C main: lang_start's closures (mangled names).
    const full = inFixture.filter((n) => hasChain(n, CHAIN) && n.slice(n.indexOf('rust_level1')).includes('main')).length;
    const viaStd = inFixture.filter((n) => n.some((f) => /lang_start/.test(f))).length;
    console.log(`unwind-rust: ${full}/${inFixture.length} full chains to main, ${viaStd} through lang_start`, run.counters);
    const bad = inFixture.find((n) => !(hasChain(n, CHAIN) && n.includes('main')));
    expect(inFixture.length).toBeGreaterThan(30);
    expect(full / inFixture.length, `e.g. ${bad?.join(' ← ')}`).toBeGreaterThanOrEqual(0.95);
    expect(viaStd / inFixture.length).toBeGreaterThanOrEqual(0.95);
  }, 180_000);
});
