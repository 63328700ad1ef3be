// W3C Trace Context examples and rules (https://www.w3.org/TR/trace-context/ §3.2) and routes.
import { describe, expect, it } from 'vitest';
import { parseTraceparent, parseTracestate } from '../../../src/network/traceparent.js';
import { recordPath, routeOf } from '../../../src/network/route.js';
import { parseGrpcPath, parseGrpcStatus } from '../../../src/network/grpc.js';

describe('traceparent', () => {
  it('the spec example', () => {
    expect(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).toEqual({
      version: '00',
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      parentId: '00f067aa0ba902b7',
      flags: '01',
      sampled: true,
    });
    expect(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00')!.sampled).toBe(false);
  });
  it.each([
    ['all-zero trace id', '00-00000000000000000000000000000000-00f067aa0ba902b7-01'],
    ['all-zero parent id', '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01'],
    ['version ff', 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
    ['uppercase hex', '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01'],
    ['non-hex', '00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01'],
    ['short', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01'],
    ['version 00 too long', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra'],
    ['wrong separator', '00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
  ])('invalid: %s', (_name, v) => expect(parseTraceparent(v)).toBeUndefined());
  it('future versions: longer values accepted when the fifth field follows a dash', () => {
    expect(parseTraceparent('cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-will-be-like')?.traceId).toBe(
      '4bf92f3577b34da6a3ce929d0e0e4736',
    );
    expect(parseTraceparent('cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01xyz')).toBeUndefined();
  });
  it('tracestate', () => {
    expect(parseTracestate('rojo=00f067aa0ba902b7,congo=t61rcWkgMzE')).toBe('rojo=00f067aa0ba902b7,congo=t61rcWkgMzE');
    expect(parseTracestate('vendor@tenant=v, , x=1')).toBe('vendor@tenant=v,x=1');
    expect(parseTracestate('Bad=1')).toBeUndefined();
    expect(parseTracestate('a=1,a=2')).toBeUndefined();
    expect(parseTracestate(Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(','))).toBeUndefined();
  });
});

describe('route and path', () => {
  it.each([
    ['/users/42', '/users/{id}'],
    ['/items/123e4567-e89b-12d3-a456-426614174000/parts/7', '/items/{id}/parts/{id}'],
    ['/blob/5f2b8a9c0d1e3f4a5b6c7d8e', '/blob/{id}'],
    ['/static/app.js', '/static/app.js'],
    ['/deadbeefdeadbeefdeadbeef', '/deadbeefdeadbeefdeadbeef'], // no digit: a word, not an id
    ['/', '/'],
  ])('%s → %s', (p, route) => expect(routeOf(p)).toBe(route));
  it('query dropped unless configured; absolute-form target reduced to its path', () => {
    expect(recordPath('/a?token=x', false)).toBe('/a');
    expect(recordPath('/a?token=x', true)).toBe('/a?token=x');
    expect(recordPath('http://user:pw@host:8080/p?q=1', false)).toBe('/p');
  });
  it('gRPC path and status', () => {
    expect(parseGrpcPath('/helloworld.Greeter/SayHello')).toEqual({ service: 'helloworld.Greeter', method: 'SayHello' });
    expect(parseGrpcPath('/not-grpc')).toBeUndefined();
    expect(parseGrpcStatus('14')).toBe(14);
    expect(parseGrpcStatus('x')).toBeUndefined();
  });
});
