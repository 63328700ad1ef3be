/**
 * Reading CLI inputs: a pprof file (gzipped or not) or folded stack text, told apart by
 * content, not by file name. Selectors over the local store are recognised and refused
 * with a clear error until the store (src/store) offers a query to run them against.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fromFolded } from './folded.js';
import { parseSelector, type LabelSelector } from './merge.js';
import type { Profile } from './model.js';
import { fromPprof } from './pprof.js';

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
  if (spec.kind === 'selector') {
    throw new InputError(
      `selector "${arg}": selectors need the local store (not yet available); fix: pass pprof or folded files (e.g. from hotspan record)`,
    );
  }
  let bytes: Buffer;
  try {
    bytes = await readFile(spec.path);
  } catch (e) {
    throw new InputError(`cannot read ${spec.path}: ${(e as Error).message}`);
  }
  if (bytes.length === 0) throw new InputError(`${spec.path} is empty; fix: pass a non-empty pprof or folded file`);
  return profileFromBytes(bytes, opts);
}
