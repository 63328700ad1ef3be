import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root, found from this file whether it runs from src/ (tsx, vitest) or dist/src/. */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'bpf'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('hotspan: cannot find the package root from ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

const root = findRoot();

/** Absolute path of a file shipped with the package (bpf objects, the addon, protos). */
export function projectPath(rel: string): string {
  return join(root, rel);
}

/** Path of a compiled BPF object, e.g. bpfObjectPath('profile'). */
export function bpfObjectPath(name: string): string {
  return join(root, 'bpf', '.output', `${name}.bpf.o`);
}
