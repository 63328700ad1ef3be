/**
 * Resource merging: host facts (systeminformation, detected once per agent), process facts
 * (ProcessInfo), OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME.
 *
 * Precedence for service.name: OTEL_SERVICE_NAME > service.name in OTEL_RESOURCE_ATTRIBUTES >
 * ProcessInfo.serviceName (e.g. from Kubernetes labels) > executable name.
 * OTEL_RESOURCE_ATTRIBUTES may override host.* and add any key, but never process.* or
 * container.id: those describe the observed process, not the agent's environment.
 */
import si from 'systeminformation';
import type { ProcessInfo } from '../profiling/index.js';
import { processResourceAttributes, type Attributes } from '../otlp/index.js';

/** Node's process.arch → OTel host.arch values. */
const ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', ia32: 'x86', arm: 'arm32', ppc64: 'ppc64', s390x: 's390x' };

let hostCache: Promise<Attributes> | undefined;

/** host.* and os.* attributes of this machine, detected once. */
export function detectHostResource(): Promise<Attributes> {
  hostCache ??= (async () => {
    const [os, uuid] = await Promise.all([si.osInfo(), si.uuid()]);
    const a: Attributes = {
      'host.name': os.hostname,
      'host.arch': ARCH[os.arch] ?? os.arch,
      'os.type': os.platform,
      'os.description': [os.distro, os.release, os.kernel && `(kernel ${os.kernel})`].filter(Boolean).join(' '),
    };
    if (uuid.os) a['host.id'] = uuid.os;
    return a;
  })();
  return hostCache;
}

export interface ParsedResourceAttributes {
  attributes: Attributes;
  /** Entries that were not key=value, reported so a typo is visible rather than silently lost. */
  malformed: string[];
}

/** Parses OTEL_RESOURCE_ATTRIBUTES: `k1=v1,k2=v2`, keys and values percent-decoded, values strings. */
export function parseResourceAttributes(value: string | undefined): ParsedResourceAttributes {
  const out: ParsedResourceAttributes = { attributes: {}, malformed: [] };
  if (!value) return out;
  for (const part of value.split(',')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) {
      out.malformed.push(part);
      continue;
    }
    try {
      out.attributes[decodeURIComponent(part.slice(0, eq).trim())] = decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      out.malformed.push(part);
    }
  }
  return out;
}

/** Combines host, env and process attributes with the precedence described above. Pure. */
export function mergeResource(host: Attributes, proc: ProcessInfo, env: Record<string, string | undefined>): Attributes {
  const fromEnv = parseResourceAttributes(env['OTEL_RESOURCE_ATTRIBUTES']).attributes;
  const processAttrs = processResourceAttributes(proc);
  const out: Attributes = { ...host };
  for (const [k, v] of Object.entries(fromEnv)) {
    if (k.startsWith('process.') || k === 'container.id') continue;
    out[k] = v;
  }
  for (const [k, v] of Object.entries(processAttrs)) if (k !== 'service.name') out[k] = v;
  const serviceName = env['OTEL_SERVICE_NAME']?.trim() || fromEnv['service.name'] || proc.serviceName || proc.name;
  out['service.name'] = serviceName;
  return out;
}

/** Resource attributes of a process as hotspan exports them. */
export async function detectResource(proc: ProcessInfo, env: Record<string, string | undefined> = process.env): Promise<Attributes> {
  return mergeResource(await detectHostResource(), proc, env);
}
