import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { detectHostResource, mergeResource, parseResourceAttributes } from '../../../src/resource/index.js';

const proc = {
  pid: 31,
  name: 'nginx',
  executablePath: '/usr/sbin/nginx',
  command: 'nginx',
  commandArgs: ['nginx', '-g', 'daemon off;'],
  containerId: 'abc123',
  serviceVersion: '1.25',
};

describe('resource detection', () => {
  it('detects host facts matching uname, hostname and /etc/machine-id', async () => {
    const host = await detectHostResource();
    expect(host['host.name']).toBe(execFileSync('hostname').toString().trim());
    const arch = execFileSync('uname', ['-m']).toString().trim();
    expect(host['host.arch']).toBe({ x86_64: 'amd64', aarch64: 'arm64' }[arch] ?? arch);
    expect(host['os.type']).toBe('linux');
    expect(String(host['os.description'])).toContain(execFileSync('uname', ['-r']).toString().trim());
    expect(host['host.id']).toBe(readFileSync('/etc/machine-id', 'utf8').trim());
  });

  it('parses OTEL_RESOURCE_ATTRIBUTES with percent-decoding and reports malformed entries', () => {
    expect(parseResourceAttributes('deployment.environment=prod,team=a%2Cb, ,oops')).toEqual({
      attributes: { 'deployment.environment': 'prod', team: 'a,b' },
      malformed: ['oops'],
    });
  });

  it('takes service.name from OTEL_SERVICE_NAME, then OTEL_RESOURCE_ATTRIBUTES, then ProcessInfo, then the executable', () => {
    const host = { 'host.name': 'h' };
    expect(mergeResource(host, proc, {})['service.name']).toBe('nginx');
    expect(mergeResource(host, { ...proc, serviceName: 'web' }, {})['service.name']).toBe('web');
    expect(mergeResource(host, { ...proc, serviceName: 'web' }, { OTEL_RESOURCE_ATTRIBUTES: 'service.name=edge' })['service.name']).toBe('edge');
    expect(mergeResource(host, proc, { OTEL_RESOURCE_ATTRIBUTES: 'service.name=edge', OTEL_SERVICE_NAME: 'svc' })['service.name']).toBe('svc');
  });

  it('carries process attributes that env cannot override, and env attributes that it adds', () => {
    const r = mergeResource({ 'host.name': 'h', 'host.arch': 'amd64' }, proc, {
      OTEL_RESOURCE_ATTRIBUTES: 'process.pid=1,container.id=zzz,host.name=node-7,k8s.cluster.name=c1',
    });
    expect(r).toEqual({
      'host.name': 'node-7',
      'host.arch': 'amd64',
      'k8s.cluster.name': 'c1',
      'process.pid': 31,
      'process.executable.name': 'nginx',
      'process.executable.path': '/usr/sbin/nginx',
      // argv[0] only: arguments never leave the node by default (privacy).
      'process.command': 'nginx',
      'container.id': 'abc123',
      'service.name': 'nginx',
      'service.version': '1.25',
    });
  });
});
