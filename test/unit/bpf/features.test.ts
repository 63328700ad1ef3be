import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FEATURES, parseFeatureList, probeFeatures, type KernelProbes } from '../../../src/bpf/features.js';
import { selectNetPrograms } from '../../../src/network/kernel/capture.js';

// A fake tracefs: probes of tracepoints look for events/<cat>/<name> under it.
const tracefs = mkdtempSync(join(tmpdir(), 'hotspan-tracefs-'));
mkdirSync(join(tracefs, 'events'));
afterAll(() => rmSync(tracefs, { recursive: true, force: true }));

/** What Debian's 5.10 kernel answers: no bpf_loop, no sock:sock_*_length, the rest present. */
function kernel510(over: Partial<KernelProbes> = {}): Partial<KernelProbes> {
  return {
    tracepoint: (tp) => !tp.startsWith('sock/sock_'),
    ringbufMap: () => 1,
    perfEventProgs: () => 1,
    bpfLoopHelper: () => 0,
    probeReadUserHelper: () => 1,
    btf: () => true,
    uprobePmu: () => true,
    unwinderLoads: () => ({ ok: true, detail: 'unwinder loads (verified in 1 ms)' }),
    ...over,
  };
}

describe('kernel features', () => {
  it('5.10: bpf-loop and sock-lengths degraded, each with its reason; the rest available', () => {
    const r = probeFeatures({ tracefs, probes: kernel510() });
    expect(r.degraded().map((f) => [f.id, f.detail])).toEqual([
      ['bpf-loop', 'bpf_loop helper not supported by this kernel'],
      ['sock-lengths', 'missing tracepoints sock:sock_send_length, sock:sock_recv_length'],
    ]);
    expect(r.has('payload-capture')).toBe(true);
  });

  it('5.10: exactly the bpf_loop iovec exits and the sock-length programs are left out of net.bpf.o', () => {
    const { load, skip } = selectNetPrograms(probeFeatures({ tracefs, probes: kernel510() }));
    expect(skip.sort()).toEqual(
      ['handle_exit_readv', 'handle_exit_writev', 'handle_exit_recvmsg', 'handle_exit_sendmsg', 'handle_sock_send_length', 'handle_sock_recv_length'].sort(),
    );
    const loaded = load.map((a) => a[0]);
    expect(loaded).toContain('handle_exit_writev_bl');
    expect(loaded).toContain('handle_tcp_retransmit_skb');
    // One program per tracepoint: never both twins.
    expect(new Set(load.map((a) => `${a[1]}:${a[2]}`)).size).toBe(load.length);
  });

  it('a kernel with everything loads the bpf_loop exits and no twin', () => {
    const { skip } = selectNetPrograms(probeFeatures({ tracefs, probes: kernel510({ bpfLoopHelper: () => 1, tracepoint: () => true }) }));
    expect(skip.sort()).toEqual(['handle_exit_readv_bl', 'handle_exit_writev_bl', 'handle_exit_recvmsg_bl', 'handle_exit_sendmsg_bl'].sort());
  });

  it('no ring buffer (before 5.8): CPU sampling and all network capture unavailable, naming the probe', () => {
    const r = probeFeatures({ tracefs, probes: kernel510({ ringbufMap: () => 0 }) });
    const cpu = r.features.find((f) => f.id === 'cpu-sampling')!;
    expect(cpu.available).toBe(false);
    expect(cpu.detail).toBe('BPF ring buffer map not supported by this kernel');
    expect(cpu.minKernel).toBe('5.8');
    expect(r.has('l4-flows')).toBe(false);
    expect(r.has('payload-capture')).toBe(false);
  });

  it('eh-frame-unwind: the verdict of a real load of the walker; without CPU sampling it cannot load', () => {
    const bad = probeFeatures({
      tracefs,
      probes: kernel510({ unwinderLoads: () => ({ ok: false, detail: 'unwinder does not load: verifier rejected unwind_walk' }) }),
    });
    expect(bad.degraded().map((f) => [f.id, f.detail])).toContainEqual(['eh-frame-unwind', 'unwinder does not load: verifier rejected unwind_walk']);
    let probed = false;
    const noRing = probeFeatures({ tracefs, probes: kernel510({ ringbufMap: () => 0, unwinderLoads: () => ((probed = true), { ok: true, detail: '' }) }) });
    expect(noRing.has('eh-frame-unwind')).toBe(false);
    expect(probed).toBe(false);
  });

  it('a probe that cannot run says so instead of claiming the kernel lacks it', () => {
    const r = probeFeatures({ tracefs, probes: kernel510({ bpfLoopHelper: () => -1 }) });
    expect(r.features.find((f) => f.id === 'bpf-loop')!.detail).toBe('could not probe bpf_loop helper (errno 1; run as root)');
  });

  it('HOTSPAN_DISABLE_FEATURES: known names only', () => {
    expect(parseFeatureList(' sock-lengths, bpf-loop ')).toEqual(['sock-lengths', 'bpf-loop']);
    expect(parseFeatureList(undefined)).toEqual([]);
    expect(() => parseFeatureList('sock-length')).toThrow(/unknown feature "sock-length"; known: cpu-sampling/);
    expect(new Set(FEATURES.map((f) => f.id)).size).toBe(FEATURES.length);
  });
});
