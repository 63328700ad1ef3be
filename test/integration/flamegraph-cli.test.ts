/** The `flamegraph` and `diff` commands on files, run in-process through commander. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { register as registerDiff } from '../../agent/commands/diff.js';
import { register as registerFlamegraph } from '../../agent/commands/flamegraph.js';
import { fromFolded, fromPprof, toFolded, toPprof } from '../../src/flamegraph/index.js';

const BASE = 'main;handle_request;price_items 300\nmain;handle_request;apply_discounts 300\n';
const HEAD = `${BASE}main;handle_request;check_fraud 300\n`;
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hotspan-flamecli-'));
  writeFileSync(join(dir, 'base.folded'), BASE);
  writeFileSync(join(dir, 'head.pb.gz'), toPprof(fromFolded(HEAD)));
  writeFileSync(join(dir, 'bad.folded'), 'not a stack\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(args: string[]): Promise<{ out: string; err: string; code: number | undefined }> {
  const program = new Command('hotspan').exitOverride();
  registerDiff(program);
  registerFlamegraph(program);
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  const before = process.exitCode;
  try {
    await program.parseAsync(['node', 'hotspan', ...args]);
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
  const code = process.exitCode === before ? undefined : (process.exitCode as number | undefined);
  process.exitCode = before;
  return { out, err, code };
}

describe('hotspan flamegraph / diff on files', () => {
  it('renders HTML, SVG and folded from pprof, and a top table without -o', async () => {
    const pb = join(dir, 'head.pb.gz');
    for (const ext of ['html', 'svg', 'folded']) {
      const r = await run(['flamegraph', pb, '-o', join(dir, `out.${ext}`)]);
      expect(r.code, r.err).toBeUndefined();
    }
    expect(readFileSync(join(dir, 'out.html'), 'utf8')).toContain('id="flame-data"');
    expect(readFileSync(join(dir, 'out.svg'), 'utf8')).toMatch(/^<svg /);
    expect(readFileSync(join(dir, 'out.folded'), 'utf8')).toBe(toFolded(fromFolded(HEAD)));
    const t = await run(['flamegraph', pb, '--top', '3']);
    expect(t.out).toMatch(/^900 samples\n/);
    expect(t.out).toMatch(/300\s+33\.33%\s+300\s+33\.33%\s+check_fraud/);
  });

  it('diffs a folded base against a pprof head and writes a differential flame graph', async () => {
    const r = await run(['diff', join(dir, 'base.folded'), join(dir, 'head.pb.gz'), '-o', join(dir, 'diff.html'), '--top', '5']);
    expect(r.code, r.err).toBeUndefined();
    expect(r.out).toMatch(/Regressions \(1\):[\s\S]*new\s+check_fraud/);
    expect(readFileSync(join(dir, 'diff.html'), 'utf8')).toContain('"diff":true');
    // The head file really is pprof, read back to the same stacks.
    expect(toFolded(fromPprof(readFileSync(join(dir, 'head.pb.gz'))))).toBe(toFolded(fromFolded(HEAD)));
  });

  // 65 is sysexits' EX_DATAERR, the code every command now gives unusable input (README "Exit
  // codes"); these two were the only ones with an undocumented 2 before.
  it('fails with exit code 65 (bad input) and a fix for unreadable input', async () => {
    const r = await run(['flamegraph', join(dir, 'bad.folded'), '-o', join(dir, 'x.html')]);
    expect(r.code).toBe(65);
    expect(r.err).toMatch(/no folded stacks could be read \(1 malformed lines\); fix:/);
    const m = await run(['diff', join(dir, 'nope.pb.gz'), join(dir, 'head.pb.gz')]);
    expect(m.code).toBe(65);
    expect(m.err).toMatch(/neither a file nor a selector; fix:/);
  });
});
