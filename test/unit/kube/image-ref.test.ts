import { describe, expect, it } from 'vitest';
import { parseImageRef } from '../../../src/kube/index.js';

// References as they appear in pod specs; the split follows the distribution reference grammar.
describe('image reference', () => {
  it.each([
    ['nginx', { name: 'nginx', tag: 'latest' }],
    ['nginx:1.25.3', { name: 'nginx', tag: '1.25.3' }],
    ['docker.io/library/python:3.11-slim', { name: 'docker.io/library/python', tag: '3.11-slim' }],
    ['registry.k8s.io/kube-proxy:v1.29.2', { name: 'registry.k8s.io/kube-proxy', tag: 'v1.29.2' }],
    ['localhost:5000/team/app', { name: 'localhost:5000/team/app', tag: 'latest' }],
    ['localhost:5000/team/app:2.0', { name: 'localhost:5000/team/app', tag: '2.0' }],
    [
      'quay.io/cilium/cilium:v1.15.1@sha256:351d6685dc6f6ffbcd5451043167cfa8842c6decf80d8c8e426a417c73fb56d4',
      { name: 'quay.io/cilium/cilium', tag: 'v1.15.1', digest: 'sha256:351d6685dc6f6ffbcd5451043167cfa8842c6decf80d8c8e426a417c73fb56d4' },
    ],
    ['ghcr.io/acme/api@sha256:0d12', { name: 'ghcr.io/acme/api', digest: 'sha256:0d12' }],
  ])('%s', (image, expected) => {
    expect(parseImageRef(image)).toEqual({ tag: undefined, digest: undefined, ...expected });
  });
});
