import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { describe, expect, it } from 'vitest';
import { PprofWindowWriter, type CpuSample, type ProfileWindow } from '../../../src/profiling/index.js';

function sample(name: string): CpuSample {
  return {
    timeUnixNs: 1_000_000_000n,
    timeMonoNs: 5n,
    pid: 42,
    tid: 42,
    cpu: 0,
    threadName: 'svc',
    processName: 'svc',
    frames: [{ name, kind: 'native', address: 0x1000n, module: 'svc', resolved: true }],
  };
}

function window(samples: CpuSample[]): ProfileWindow {
  return { startUnixNs: 1_000_000_000n, endUnixNs: 11_000_000_000n, periodNs: 10_101_010n, process: { pid: 42, name: 'svc' }, samples };
}

describe('PprofWindowWriter', () => {
  it('writes a second window with the same start beside the first, never over it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hotspan-ww-'));
    const w = new PprofWindowWriter(dir, 60_000);
    const a = w.write(window([sample('early'), sample('early')]))!;
    const b = w.write(window([sample('late')]))!;
    expect(a).not.toBe(b);
    expect(readdirSync(join(dir, 'svc')).sort()).toEqual(['1000-42.1.pb.gz', '1000-42.pb.gz']);
    const total = [a, b].map((f) => Profile.decode(gunzipSync(readFileSync(f)))).reduce((n, p) => n + p.sample.reduce((m, s) => m + Number(s.value[0]), 0), 0);
    expect(total).toBe(3);
  });
});

describe('safePathComponent', () => {
  it('keeps a workload-chosen service name one plain directory below the windows dir', async () => {
    const { safePathComponent } = await import('../../../src/profiling/index.js');
    for (const bad of ['.', '..', '...', '../../etc', '/abs', 'a/b', '.hidden', '\u001b[31mred', '', 'x'.repeat(5000)]) {
      const s = safePathComponent(bad);
      expect(s).toMatch(/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/);
      expect(s.length).toBeLessThanOrEqual(100);
      expect(join('/w', s).startsWith('/w/')).toBe(true);
      expect(join('/w', s).split('/').length).toBe(3);
    }
    expect(safePathComponent('checkout-api')).toBe('checkout-api');
    expect(safePathComponent('node.js')).toBe('node.js');
  });

  it('writes a window of a service named ".." inside its own directory, where retention prunes it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hotspan-ww-'));
    const w = new PprofWindowWriter(dir, 0);
    const win = window([sample('f')]);
    win.process = { pid: 42, name: 'x', serviceName: '..' };
    const p = w.write(win)!;
    expect(p.startsWith(dir + '/')).toBe(true);
    expect(readdirSync(dir)).toEqual(['_.']);
    expect(w.prune(Date.now() + 1000)).toBe(1);
  });
});

describe('PprofWindowWriter directories', () => {
  it('makes a service directory again when it was removed between two windows', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hotspan-ww-'));
    const w = new PprofWindowWriter(dir, 60_000);
    expect(w.write(window([sample('a')]))).toBeDefined();
    rmSync(join(dir, 'svc'), { recursive: true });
    const again = w.write({ ...window([sample('b')]), startUnixNs: 11_000_000_000n })!;
    expect(again).toBeDefined();
    expect(readdirSync(join(dir, 'svc'))).toEqual(['11000-42.pb.gz']);
    expect(w.failures).toBe(0);
  });
});
