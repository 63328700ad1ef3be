import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { htlHashOfFile, htlHashOfMapping } from '../../../src/otlp/index.js';

/** The same hash computed by coreutils: head -c 4096, tail -c 4096, size as 8 big-endian bytes, sha256, first 16 bytes. */
function shellHtlHash(file: string): string {
  const script =
    'f="$1"; n=$(stat -c %s "$f"); { head -c 4096 "$f"; tail -c 4096 "$f"; ' +
    'python3 -c "import sys; sys.stdout.buffer.write(int(sys.argv[1]).to_bytes(8, \'big\'))" "$n"; } | sha256sum | cut -c1-32';
  return execFileSync('bash', ['-c', script, 'sh', file]).toString().trim();
}

describe('htlhash', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hotspan-htl-'));
  const files: Record<string, Buffer> = {
    small: Buffer.from('tiny file'),
    exact: Buffer.alloc(4096, 7),
    mid: Buffer.from(Array.from({ length: 6000 }, (_, i) => i % 251)),
    big: Buffer.from(Array.from({ length: 100_000 }, (_, i) => (i * 7) % 256)),
  };
  for (const [name, data] of Object.entries(files)) writeFileSync(path.join(dir, name), data);

  it.each(Object.keys(files))('matches coreutils for the %s file', (name) => {
    expect(htlHashOfFile(path.join(dir, name))).toBe(shellHtlHash(path.join(dir, name)));
  });

  it('hashes a real executable through /proc/PID/root and is undefined for missing files', () => {
    const node = process.execPath;
    expect(htlHashOfMapping({ path: node, start: 0n, end: 0n, fileOffset: 0n }, process.pid)).toBe(shellHtlHash(node));
    expect(htlHashOfFile(path.join(dir, 'missing'))).toBeUndefined();
    expect(htlHashOfMapping({ path: '[vdso]', start: 0n, end: 0n, fileOffset: 0n }, process.pid)).toBeUndefined();
  });

  it('reads a mapping once: its first answer holds while the mapping object lives (what the process maps does not change)', () => {
    const file = path.join(dir, 'mapped');
    writeFileSync(file, files.mid!);
    const mapping = { path: file, start: 0n, end: 0n, fileOffset: 0n };
    const first = htlHashOfMapping(mapping, process.pid);
    expect(first).toBe(shellHtlHash(file));
    // Replaced on disk: the mapping (same object) keeps its hash; a new read of the maps (a new object) sees the new file.
    writeFileSync(file, files.big!);
    expect(htlHashOfMapping(mapping, process.pid)).toBe(first);
    expect(htlHashOfMapping({ ...mapping }, process.pid)).toBe(shellHtlHash(file));
    // A file that could not be read is not opened again for the same mapping.
    const gone = { path: path.join(dir, 'not-there'), start: 0n, end: 0n, fileOffset: 0n };
    expect(htlHashOfMapping(gone, process.pid)).toBeUndefined();
    writeFileSync(gone.path, files.small!);
    expect(htlHashOfMapping(gone, process.pid)).toBeUndefined();
    expect(htlHashOfMapping({ ...gone }, process.pid)).toBe(shellHtlHash(gone.path));
    rmSync(dir, { recursive: true, force: true });
  });
});
