import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetadataResolver, readContainerRef } from '../../src/kube/index.js';
import { startContainerWorkload, SPIN_FUNCTION, type ContainerWorkload } from './kube-workload.js';
import { requireRoot } from './support/env.js';
import { readPprof, selfShares } from './support/pprof.js';
import { hotspanRecord } from './support/procs.js';

const root = requireRoot('container workload in its own mount and PID namespace');
let workload: ContainerWorkload;
const out = mkdtempSync(join(tmpdir(), 'hotspan-kube-'));

beforeAll(async () => {
  if (root) workload = await startContainerWorkload();
});
afterAll(async () => {
  await workload?.stop();
  rmSync(out, { recursive: true, force: true });
});

describe.runIf(root)('a workload in its own mount and PID namespace', () => {
  it('really is isolated: PID 1 in its namespace, binary only under /proc/PID/root', () => {
    const nspid = /^NSpid:\s+(.*)$/m.exec(readFileSync(`/proc/${workload.pid}/status`, 'utf8'))![1]!.split(/\s+/);
    expect(nspid).toEqual([String(workload.pid), '1']);
    expect(readFileSync(`/proc/${workload.pid}/maps`, 'utf8')).toMatch(/ \/bin\/spin$/m);
    // The host sees neither /bin/spin nor anything under the namespace's root mount point.
    expect(existsSync('/bin/spin')).toBe(false);
    expect(readdirSync(workload.rootMountPoint)).toEqual([]);
    const viaProc = readFileSync(`/proc/${workload.pid}/root/bin/spin`);
    expect(createHash('sha256').update(viaProc).digest('hex')).toBe(workload.binarySha256);
    // binutils' nm, reading through /proc/PID/root, finds the hot function.
    expect(execFileSync('nm', [`/proc/${workload.pid}/root/bin/spin`], { encoding: 'utf8' })).toMatch(new RegExp(` T ${SPIN_FUNCTION}$`, 'm'));
  });

  it('gets its container id from /proc/PID/cgroup and the process name as service', async () => {
    const ref = await readContainerRef(workload.pid);
    expect(ref).toMatchObject({ containerId: workload.containerId, runtime: 'docker' });
    const attrs = await createMetadataResolver().resolveProcessMetadata(workload.pid);
    expect(attrs).toMatchObject({
      'container.id': workload.containerId,
      'container.runtime': 'docker',
      'process.pid': workload.pid,
      'process.executable.name': 'spin',
      'service.name': 'spin',
    });
    expect(attrs['k8s.pod.name']).toBeUndefined();
  });

  it('its samples are named from the binary inside its own root (hotspan record)', async () => {
    const file = join(out, 'container.pb.gz');
    const rec = await hotspanRecord(['--duration', '3s', '--pid', String(workload.pid), '-o', file]);
    expect(rec.exitCode, rec.all).toBe(0);
    const { samples } = readPprof(file);
    const n = samples.reduce((a, s) => a + s.count, 0);
    // 3 s × 99 Hz ≈ 297 on an idle core; on a shared, loaded machine the spinner may get a
    // tenth of that. The claim tested is naming, so only enough samples for the share to mean something.
    expect(n).toBeGreaterThanOrEqual(20);
    const shares = selfShares(samples);
    // The loop never leaves the function, so nearly every sample's leaf is it.
    expect(shares.get(SPIN_FUNCTION) ?? 0, JSON.stringify([...shares])).toBeGreaterThan(90);
  });
});
