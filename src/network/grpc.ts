/**
 * gRPC over HTTP/2: service and method from `:path` (`/package.Service/Method`), status from the
 * `grpc-status` trailer (or from headers for a trailers-only response).
 */

export interface GrpcCall {
  service: string;
  method: string;
}

export function isGrpcContentType(contentType: string | undefined): boolean {
  return contentType !== undefined && /^application\/grpc(?:[+;]|$)/i.test(contentType);
}

/** `/helloworld.Greeter/SayHello` → {service: 'helloworld.Greeter', method: 'SayHello'}. */
export function parseGrpcPath(path: string): GrpcCall | undefined {
  const m = /^\/([^/?#]+)\/([^/?#]+)$/.exec(path);
  if (!m) return undefined;
  return { service: m[1]!, method: m[2]! };
}

/** `grpc-status` value → code 0..16 (other non-negative integers kept as sent), else undefined. */
export function parseGrpcStatus(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,3}$/.test(value.trim())) return undefined;
  return Number(value.trim());
}
