// Shared helpers for the symbolizer integration tests. Ground truth comes from
// binutils (readelf, nm, addr2line) and /proc read here directly, never from the
// symbolizer's own parsers.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Frame, Symbolizer } from '../../src/symbols/index.js';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const FIXTURE_BIN = `${REPO_ROOT}test/fixtures/bin`;

export function buildFixtures(): void {
  execFileSync('flock', ['/tmp/hotspan-fixtures.lock', 'make', '-s', '-C', `${REPO_ROOT}test/fixtures`], { stdio: 'inherit' });
}

export function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
}

/**
 * Root-only tests: in CI (CI=true) a non-root run fails; locally it prints why and
 * the caller returns early.
 */
export function haveRoot(what: string): boolean {
  if (process.getuid?.() === 0) return true;
  const reason = `${what} needs root (map_files, real kallsyms addresses); run the tests as root`;
  if (process.env.CI) throw new Error(`CI=true: ${reason}`);
  console.warn(`skipping: ${reason}`);
  return false;
}

export interface Fixture {
  child: ChildProcess;
  pid: number;
  stop(): Promise<void>;
}

/** Starts a fixture and waits until `mappedPath` shows up in its maps (exec done). */
export async function startFixture(cmd: string, args: string[], mappedPath = cmd, cwd?: string): Promise<Fixture> {
  const child = spawn(cmd, args, { stdio: 'ignore', cwd });
  const pid = child.pid!;
  const deadline = Date.now() + 5000;
  for (;;) {
    let maps = '';
    try {
      maps = readFileSync(`/proc/${pid}/maps`, 'utf8');
    } catch {
      // not yet
    }
    if (maps.includes(mappedPath)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${cmd} did not map ${mappedPath} within 5 s`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    pid,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

export interface MapsRow {
  start: bigint;
  end: bigint;
  perms: string;
  fileOffset: bigint;
  path: string;
}

export function mapsOf(pid: number): MapsRow[] {
  return readFileSync(`/proc/${pid}/maps`, 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const [range, perms, offset, , , ...rest] = line.split(/\s+/);
      const [start, end] = range!.split('-');
      return { start: BigInt(`0x${start}`), end: BigInt(`0x${end}`), perms: perms!, fileOffset: BigInt(`0x${offset}`), path: rest.join(' ') };
    });
}

const segmentCache = new Map<string, Array<{ offset: number; vaddr: number; fileSize: number }>>();
const nmCache = new Map<string, string>();

/** PT_LOAD segments from `readelf -lW` (memoised: fixtures do not change during a run). */
export function loadSegments(file: string): Array<{ offset: number; vaddr: number; fileSize: number }> {
  let segs = segmentCache.get(file);
  if (!segs) {
    segs = readelfLoads(file);
    segmentCache.set(file, segs);
  }
  return segs;
}

function readelfLoads(file: string): Array<{ offset: number; vaddr: number; fileSize: number }> {
  return run('readelf', ['-lW', file])
    .split('\n')
    .filter((l) => /^\s+LOAD\s/.test(l))
    .map((l) => {
      const f = l.trim().split(/\s+/);
      return { offset: Number(f[1]), vaddr: Number(f[2]), fileSize: Number(f[4]) };
    });
}

/** Symbol vaddr and size from nm. */
export function nmSymbol(file: string, name: string, dynamic = false): { vaddr: number; size: number } {
  const key = `${dynamic ? '-D ' : ''}${file}`;
  let out = nmCache.get(key);
  if (out === undefined) {
    out = run('nm', ['-S', '--defined-only', ...(dynamic ? ['-D'] : []), file]);
    nmCache.set(key, out);
  }
  for (const line of out.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length === 4 && f[3]!.replace(/@.*$/, '') === name) return { vaddr: parseInt(f[0]!, 16), size: parseInt(f[1]!, 16) };
  }
  throw new Error(`${name} not in nm ${file}`);
}

/** ELF vaddr → file offset via PT_LOAD. */
export function vaddrToFileOffset(file: string, vaddr: number): number {
  const seg = loadSegments(file).find((s) => vaddr >= s.vaddr && vaddr < s.vaddr + s.fileSize);
  if (!seg) throw new Error(`vaddr 0x${vaddr.toString(16)} not in a PT_LOAD of ${file}`);
  return vaddr - seg.vaddr + seg.offset;
}

export function fileOffsetToVaddr(file: string, offset: number): number {
  const seg = loadSegments(file).find((s) => offset >= s.offset && offset < s.offset + s.fileSize);
  if (!seg) throw new Error(`offset 0x${offset.toString(16)} not in a PT_LOAD of ${file}`);
  return offset - seg.offset + seg.vaddr;
}

/** Runtime address of ELF vaddr in process pid, where `mappedPath` is the maps path. */
export function runtimeAddress(pid: number, mappedPath: string, file: string, vaddr: number): bigint {
  const off = BigInt(vaddrToFileOffset(file, vaddr));
  const row = mapsOf(pid).find((m) => m.path === mappedPath && off >= m.fileOffset && off < m.fileOffset + (m.end - m.start));
  if (!row) throw new Error(`no mapping of ${mappedPath} covers offset 0x${off.toString(16)} in pid ${pid}`);
  return row.start + off - row.fileOffset;
}

/**
 * Function names for ELF vaddrs from llvm-symbolizer (DWARF, then symtab), one
 * process for all. --no-inlines: the function that owns the code, not a function
 * inlined into it (we name symbols, and atof inlined into main is still main).
 */
export function llvmSymbolizerFunctions(file: string, vaddrs: number[]): string[] {
  const out = run('llvm-symbolizer', ['--no-inlines', '--functions=linkage', `--obj=${file}`, ...vaddrs.map((v) => `0x${v.toString(16)}`)])
    .trim()
    .split(/\n\n/);
  return vaddrs.map((_, i) => out[i]!.split('\n')[0]!);
}

/**
 * Frames of `addrs` once their files' symbols have landed: the symbolizer loads a file in its
 * worker and renames, in place, the placeholders it handed out meanwhile.
 */
export async function settledFrames(sym: Symbolizer, pid: number, addrs: readonly bigint[]): Promise<Frame[]> {
  const frames = sym.userFrames(pid, addrs);
  await sym.settled();
  return frames;
}
