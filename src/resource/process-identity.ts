import type { Attributes } from '../otlp/index.js';
import type { ProcessInfo } from '../profiling/index.js';
import { mergeResource } from './merge.js';

export interface ProcessResourcesOptions {
  /**
   * Opt-in: also export each process's whole command line as process.command_line. Off by
   * default: arguments often hold passwords and tokens. Never applies to the agent itself
   * (`selfPid`), whose arguments carry its own --otlp-headers.
   */
  exportCommandArgs?: boolean;
  /** The agent's own pid (default process.pid). */
  selfPid?: number;
}

/**
 * Resolves a process's container/Kubernetes attributes (src/kube's resolver fits). `known` is what
 * the process table already read, so the lookup need not read /proc/PID/exe again.
 */
export type MetadataLookup = (pid: number, known?: { executableName?: string }) => Promise<Record<string, string | number | boolean | undefined>>;

/**
 * The OTLP resource of every process the agent sees: host attributes (once),
 * the process's own (/proc), and its container/pod/service metadata, which is
 * resolved asynchronously at the process's first sighting and cached. Windows
 * close seconds later, so the metadata is there by the time anything is exported;
 * when it is not (lookup failed), the process attributes alone are used.
 */
export class ProcessResources {
  private readonly metadata = new Map<number, Attributes>();
  private readonly pending = new Set<number>();
  /** of() per pid, computed once: it runs for every exported span and window. */
  private readonly computed = new Map<number, Attributes>();
  /** identify() per pid, for the ProcessInfo it was made from. */
  private readonly identities = new Map<number, { from: ProcessInfo; identity: Readonly<ProcessInfo> }>();
  lookupFailures = 0;

  constructor(
    private readonly host: Attributes,
    private readonly lookup: MetadataLookup | undefined,
    private readonly env: Record<string, string | undefined> = process.env,
    private readonly opts: ProcessResourcesOptions = {},
  ) {}

  /**
   * Starts resolving a process's metadata (idempotent; cheap when already started, it runs per
   * sample). `infoOf` gives what the process table read of it, asked only when the lookup starts.
   */
  observe(pid: number, infoOf?: (pid: number) => ProcessInfo | undefined): void {
    if (!this.lookup || this.metadata.has(pid) || this.pending.has(pid)) return;
    this.pending.add(pid);
    const info = infoOf?.(pid);
    this.lookup(pid, info && { executableName: info.name })
      .then((attrs) => {
        const clean: Attributes = {};
        for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== '') clean[k] = v;
        this.metadata.set(pid, clean);
        this.computed.delete(pid);
        this.identities.delete(pid);
      })
      .catch(() => {
        this.lookupFailures++;
        this.metadata.set(pid, {});
      })
      .finally(() => this.pending.delete(pid));
  }

  /**
   * The process as exported: a frozen copy of `p` with its service name, version and container
   * filled in from its own OTEL_SERVICE_NAME and its resolved metadata. `p` itself (the profiler's
   * process table holds it) is never written to; windows and every sink share the copy.
   */
  identify(p: ProcessInfo): Readonly<ProcessInfo> {
    const hit = this.identities.get(p.pid);
    if (hit && hit.from === p) return hit.identity;
    const out: ProcessInfo = { ...p };
    if (p.otelServiceName) out.serviceName ??= p.otelServiceName;
    const m = this.metadata.get(p.pid);
    if (m) {
      const str = (k: string) => (typeof m[k] === 'string' ? (m[k] as string) : undefined);
      out.containerId ??= str('container.id');
      // Kubernetes labels name a process better than its executable (its own OTEL_SERVICE_NAME better still).
      if (str('k8s.pod.name')) out.serviceName ??= str('service.name');
      out.serviceVersion ??= str('service.version');
    }
    for (const k of Object.keys(out) as Array<keyof ProcessInfo>) if (out[k] === undefined) delete out[k];
    const identity = Object.freeze(out);
    // Like of(): until its metadata arrives a process's identity may still change.
    if (!this.lookup || m) this.identities.set(p.pid, { from: p, identity });
    return identity;
  }

  /**
   * The resource attributes of a process. service.name: the process's own
   * OTEL_SERVICE_NAME, else Kubernetes labels/workload, else OTEL_RESOURCE_ATTRIBUTES,
   * else the executable name. The agent's own OTEL_SERVICE_NAME names the agent's
   * self-telemetry, never the processes it observes; its OTEL_RESOURCE_ATTRIBUTES
   * (e.g. a cluster name) apply to everything.
   */
  of(p: ProcessInfo): Attributes {
    const hit = this.computed.get(p.pid);
    if (hit) return hit;
    const out = this.compute(p);
    // Until its metadata arrives a process's resource may still change: cache only final answers.
    if (!this.lookup || this.metadata.has(p.pid)) this.computed.set(p.pid, out);
    return out;
  }

  private compute(p: ProcessInfo): Attributes {
    const resourceAttributes = [this.env.OTEL_RESOURCE_ATTRIBUTES, p.otelResourceAttributes].filter(Boolean).join(',');
    const base = mergeResource(this.host, this.identify(p), { OTEL_RESOURCE_ATTRIBUTES: resourceAttributes || undefined });
    const m = this.metadata.get(p.pid) ?? {};
    const out: Attributes = { ...base, ...m };
    if (p.otelServiceName) out['service.name'] = p.otelServiceName;
    else if (!m['k8s.pod.name']) out['service.name'] = base['service.name'];
    const line = commandLineAttribute(p, this.opts);
    if (line !== undefined) out['process.command_line'] = line;
    return out;
  }

  forget(pid: number): void {
    this.metadata.delete(pid);
    this.computed.delete(pid);
    this.identities.delete(pid);
  }
}

/**
 * process.command_line when the operator opted in, else undefined. A string (semconv's
 * process.command_line), since exported attributes here are scalars.
 */
export function commandLineAttribute(p: ProcessInfo, opts: ProcessResourcesOptions): string | undefined {
  if (!opts.exportCommandArgs || !p.commandArgs?.length) return undefined;
  if (p.pid === (opts.selfPid ?? process.pid)) return undefined;
  return p.commandArgs.join(' ');
}
