import { afterEach, describe, expect, it } from 'vitest';
import { Counter, Registry } from 'prom-client';
import { createServer } from 'node:net';
import { startHealthServer, type HealthServer } from '../../../src/health/index.js';

let server: HealthServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('health server', () => {
  it('answers readiness from the callback, liveness, and serves Prometheus text', async () => {
    let ready = false;
    const registry = new Registry();
    const samples = new Counter({ name: 'hotspan_samples_total', help: 'CPU samples taken', registers: [registry], labelNames: ['cpu'] });
    samples.inc({ cpu: '0' }, 42);
    server = await startHealthServer({ port: 0, host: '127.0.0.1', ready: () => ready, metrics: () => registry.metrics() });
    const base = `http://127.0.0.1:${server.port}`;

    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    ready = true;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);

    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const body = await metrics.text();
    expect(body).toContain('# TYPE hotspan_samples_total counter');
    expect(body).toContain('hotspan_samples_total{cpu="0"} 42');

    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/readyz`, { method: 'POST' })).status).toBe(405);
  });

  it('reports liveness failure and callback errors as HTTP status, not a crash', async () => {
    server = await startHealthServer({
      port: 0,
      host: '127.0.0.1',
      ready: () => {
        throw new Error('exporter state unknown');
      },
      live: () => false,
      metrics: () => '',
    });
    const base = `http://127.0.0.1:${server.port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(503);
    const r = await fetch(`${base}/readyz`);
    expect(r.status).toBe(500);
    expect(await r.text()).toContain('exporter state unknown');
  });

  it('names the port and the fix when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      await expect(startHealthServer({ port, host: '127.0.0.1', ready: () => true, metrics: () => '' })).rejects.toThrow(
        new RegExp(`port ${port} is already in use`),
      );
    } finally {
      blocker.close();
    }
  });
});
