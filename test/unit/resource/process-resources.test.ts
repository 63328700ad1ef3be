import { describe, expect, it } from 'vitest';
import { ProcessResources } from '../../../src/resource/index.js';

const host = { 'host.name': 'node-1', 'host.arch': 'amd64' };
const settle = () => new Promise((r) => setTimeout(r, 10));

describe('ProcessResources: service.name precedence for observed processes', () => {
  it('uses the executable name when nothing else names the process', () => {
    const r = new ProcessResources(host, undefined, {});
    const a = r.of({ pid: 10, name: 'checkout-server' });
    expect(a['service.name']).toBe('checkout-server');
    expect(a['host.name']).toBe('node-1');
    expect(a['process.pid']).toBe(10);
  });

  it('never names observed processes after the agent’s own OTEL_SERVICE_NAME', () => {
    const r = new ProcessResources(host, undefined, { OTEL_SERVICE_NAME: 'hotspan', OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod' });
    const a = r.of({ pid: 10, name: 'checkout-server' });
    expect(a['service.name']).toBe('checkout-server');
    expect(a['deployment.environment']).toBe('prod');
  });

  it('Kubernetes labels beat the executable; the process’s own OTEL_SERVICE_NAME beats both', async () => {
    const r = new ProcessResources(
      host,
      async (pid) => ({ 'k8s.pod.name': `pod-${pid}`, 'service.name': 'checkout', 'service.version': '1.4.2', 'container.id': 'abc' }),
      {},
    );
    r.observe(10);
    r.observe(11);
    await settle();
    const k8s = r.of({ pid: 10, name: 'node' });
    expect(k8s['service.name']).toBe('checkout');
    expect(k8s['service.version']).toBe('1.4.2');
    expect(k8s['k8s.pod.name']).toBe('pod-10');
    const own = r.of({ pid: 11, name: 'node', otelServiceName: 'payments' });
    expect(own['service.name']).toBe('payments');
  });

  it('a failed metadata lookup leaves the process attributes and is counted', async () => {
    const r = new ProcessResources(
      host,
      async () => {
        throw new Error('cgroup gone');
      },
      {},
    );
    r.observe(12);
    await settle();
    expect(r.lookupFailures).toBe(1);
    expect(r.of({ pid: 12, name: 'x' })['service.name']).toBe('x');
  });

  it('computes a process’s resource once it is final, and again when its metadata arrives', async () => {
    let release: (v: Record<string, string>) => void = () => {};
    const r = new ProcessResources(host, () => new Promise((res) => (release = res)), {});
    const p = { pid: 20, name: 'node' };
    r.observe(20);
    const before = r.of(p);
    expect(before['service.name']).toBe('node');
    release({ 'k8s.pod.name': 'web-1', 'service.name': 'web' });
    await settle();
    const after = r.of(p);
    expect(after['service.name']).toBe('web');
    expect(r.of(p)).toBe(after); // cached from here on
    r.forget(20);
    expect(r.of(p)).not.toBe(after);
  });
});
