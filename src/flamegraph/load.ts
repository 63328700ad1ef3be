/**
 * Reading CLI inputs: a pprof file (gzipped or not) or folded stack text, told apart by
 * content, not by file name. Selectors (`service=checkout,version=1.4.2`) are run
 * against the local store (src/store), opened only when a selector is given.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fromFolded } from './folded.js';
import { parseSelector, type LabelSelector } from './merge.js';
import type { Profile } from './model.js';
import { fromPprof } from './pprof.js';
import { fromMerged, selectorToQuery } from './store.js';

export type InputSpec = { kind: 'file'; path: string } | { kind: 'selector'; selector: LabelSelector };

export class InputError extends Error {
  readonly code = 'EINPUT';
}

/** A path that exists is a file; otherwise `key=value[,key=value]` is a selector. */
export function parseInput(arg: string): InputSpec {
  if (existsSync(arg)) return { kind: 'file', path: arg };
  if (/^[\w.]+=/.test(arg)) return { kind: 'selector', selector: parseSelector(arg) };
  throw new InputError(
    `input "${arg}" is neither a file nor a selector; fix: give a pprof or folded file path, or key=value pairs such as service=checkout,version=1.4.2`,
  );
}

export interface LoadOptions {
  /** Store directory for selector inputs (the agent's `<data-dir>/store`). */
  storeDir?: string;
  /** Time range for selector inputs, Unix ns (inclusive from, exclusive to). */
  fromUnixNs?: bigint;
  toUnixNs?: bigint;
  /** Wall time the input covers, ns (folded text has none of its own). */
  durationNs?: number;
  /** CPU ns per sample for folded text (1e9 / Hz). */
  periodNs?: number;
}

function looksLikeText(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.length, 4096);
  for (let i = 0; i < n; i++) {
    const b = bytes[i]!;
    if (b === 0 || (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d)) return false;
  }
  return true;
}

/** Parses bytes as pprof (gzip magic or binary) or as folded text. */
export function profileFromBytes(bytes: Uint8Array, opts: LoadOptions = {}): Profile {
  if ((bytes[0] === 0x1f && bytes[1] === 0x8b) || !looksLikeText(bytes)) {
    return fromPprof(bytes, opts.durationNs !== undefined ? { durationNs: opts.durationNs } : {});
  }
  const p = fromFolded(Buffer.from(bytes).toString('utf8'), opts);
  if (p.stacks.length === 0 && (p.malformed ?? 0) > 0) {
    throw new InputError(
      `no folded stacks could be read (${p.malformed} malformed lines); fix: each line must be "frame;frame;frame COUNT", or pass a pprof file`,
    );
  }
  return p;
}

/** Loads one CLI input. */
export async function loadInput(arg: string, opts: LoadOptions = {}): Promise<Profile> {
  const spec = parseInput(arg);
  if (spec.kind === 'selector') return loadSelection(arg, spec.selector, opts);
  let bytes: Buffer;
  try {
    bytes = await readFile(spec.path);
  } catch (e) {
    throw new InputError(`cannot read ${spec.path}: ${(e as Error).message}`);
  }
  if (bytes.length === 0) throw new InputError(`${spec.path} is empty; fix: pass a non-empty pprof or folded file`);
  return profileFromBytes(bytes, opts);
}

/** Runs a selector against the local store; an empty result is an error naming what to check. */
async function loadSelection(arg: string, selector: LabelSelector, opts: LoadOptions): Promise<Profile> {
  if (!opts.storeDir) {
    throw new InputError(`selector "${arg}": no store directory given; fix: pass --data-dir (the agent's data directory)`);
  }
  const range: { fromUnixNs?: bigint; toUnixNs?: bigint } = {};
  if (opts.fromUnixNs !== undefined) range.fromUnixNs = opts.fromUnixNs;
  if (opts.toUnixNs !== undefined) range.toUnixNs = opts.toUnixNs;
  let query;
  try {
    query = selectorToQuery(selector, range);
  } catch (e) {
    throw new InputError((e as Error).message);
  }
  // Loaded on demand: DuckDB is only needed when a selector is used.
  const { Store } = await import('../store/index.js');
  const store = await Store.open({ dataDir: opts.storeDir, retentionIntervalMs: 0 });
  try {
    const merged = await store.mergeProfile(query);
    if (merged.stacks.length === 0) {
      throw new InputError(
        `selector "${arg}" matched no CPU samples in ${opts.storeDir}; fix: check the service/version names and --since/--until, or that the agent ran`,
      );
    }
    return fromMerged(merged);
  } finally {
    await store.close();
  }
}
