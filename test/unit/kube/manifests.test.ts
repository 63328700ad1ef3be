import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { Namespace, ServiceAccount } from 'kubernetes-models/v1';
import { DaemonSet } from 'kubernetes-models/apps/v1';
import { ClusterRole, ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { DEFAULT_HEALTH_PORT } from '../../../src/health/index.js';

const root = new URL('../../../', import.meta.url).pathname;
const kustomizeDir = `${root}deploy/kubernetes`;

// Each rendered kind is checked against the Kubernetes OpenAPI schema by kubernetes-models.
const MODELS: Record<string, new (o: never) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ServiceAccount': ServiceAccount,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding,
  'apps/v1/DaemonSet': DaemonSet,
};

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; [k: string]: unknown };

/**
 * kubectl binaries to render with: $HOTSPAN_KUBECTL (e.g. a second version to compare) and
 * `kubectl` on PATH (Debian's kubernetes-client, installed by deploy/setup.sh --dev).
 */
function kubectls(): string[] {
  const found: string[] = [];
  for (const candidate of [process.env.HOTSPAN_KUBECTL, 'kubectl']) {
    if (!candidate) continue;
    try {
      execFileSync(candidate, ['version', '--client'], { stdio: 'ignore' });
      found.push(candidate);
    } catch {
      /* not installed */
    }
  }
  return found;
}

function render(kubectl: string): Obj[] {
  const out = execFileSync(kubectl, ['kustomize', kustomizeDir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return parseAllDocuments(out).map((d) => d.toJS() as Obj);
}

function walk(v: unknown, visit: (key: string, value: unknown) => void): void {
  if (Array.isArray(v)) v.forEach((x) => walk(x, visit));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) (visit(k, x), walk(x, visit));
}

describe('deploy/kubernetes', () => {
  const bins = kubectls();
  const renders = bins.map((b) => ({ kubectl: b, objects: render(b) }));
  const objects = renders[0]?.objects ?? [];
  const byKind = (kind: string): Obj => objects.find((o) => o.kind === kind)!;

  it('renders offline with kubectl kustomize, identically with every kubectl present', () => {
    expect(bins, 'no kubectl found: install Debian kubernetes-client (bash deploy/setup.sh --dev) or set HOTSPAN_KUBECTL').not.toEqual([]);
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(
      ['ClusterRole/hotspan', 'ClusterRoleBinding/hotspan', 'DaemonSet/hotspan', 'Namespace/hotspan', 'ServiceAccount/hotspan'].sort(),
    );
    const canonical = (objs: Obj[]): string[] => objs.map((o) => JSON.stringify(o, Object.keys(o).sort())).sort();
    for (const r of renders.slice(1)) expect(canonical(r.objects), `${r.kubectl} renders differently`).toEqual(canonical(objects));
    // kustomize applied the namespace and the common label.
    for (const o of objects) expect(o.metadata.labels?.['app.kubernetes.io/part-of']).toBe('hotspan');
    expect(byKind('ServiceAccount').metadata.namespace).toBe('hotspan');
    expect(byKind('DaemonSet').metadata.namespace).toBe('hotspan');
  });

  it('every rendered object validates against the Kubernetes API schema', () => {
    expect(objects.length).toBe(5);
    for (const o of objects) {
      const Model = MODELS[`${o.apiVersion}/${o.kind}`];
      expect(Model, `no schema model for ${o.apiVersion} ${o.kind}`).toBeDefined();
      expect(() => new Model!(o as never).validate(), `${o.kind}/${o.metadata.name}`).not.toThrow();
    }
  });

  it('the schema check catches a broken object (so the check above can fail)', () => {
    const broken = structuredClone(byKind('DaemonSet')) as any;
    broken.spec.template.spec.containers[0].securityContext.capabilities.add = 'BPF';
    expect(() => new DaemonSet(broken).validate()).toThrow();
    const missing = structuredClone(byKind('DaemonSet')) as any;
    delete missing.spec.selector;
    expect(() => new DaemonSet(missing).validate()).toThrow();
  });

  it('DaemonSet: least privilege, hostPID, probes, NODE_NAME, mounts, every node', () => {
    const ds = byKind('DaemonSet') as any;
    walk(ds, (k, v) => expect(k === 'privileged' && v === true, 'privileged: true is not allowed').toBe(false));
    const pod = ds.spec.template.spec;
    expect(pod.hostPID).toBe(true);
    expect(pod.securityContext.seccompProfile.type).toBe('RuntimeDefault');
    expect(pod.tolerations).toContainEqual({ operator: 'Exists' });
    expect(pod.serviceAccountName).toBe(byKind('ServiceAccount').metadata.name);
    expect(ds.spec.updateStrategy.type).toBe('RollingUpdate');

    expect(pod.containers).toHaveLength(1);
    const c = pod.containers[0];
    const sc = c.securityContext;
    expect(sc.capabilities.drop).toEqual(['ALL']);
    expect([...sc.capabilities.add].sort()).toEqual(['BPF', 'CHECKPOINT_RESTORE', 'DAC_READ_SEARCH', 'PERFMON', 'SYS_PTRACE', 'SYS_RESOURCE']);
    expect(sc.readOnlyRootFilesystem).toBe(true);
    expect(sc.allowPrivilegeEscalation).toBe(false);

    const env = Object.fromEntries(c.env.map((e: any) => [e.name, e]));
    expect(env.NODE_NAME.valueFrom.fieldRef.fieldPath).toBe('spec.nodeName');
    expect(env.OTEL_EXPORTER_OTLP_ENDPOINT.value).toMatch(/^https?:\/\/.+:\d+$/);

    // Probes hit the health server's documented port and paths.
    const port = c.ports.find((p: any) => p.name === c.readinessProbe.httpGet.port);
    expect(port.containerPort).toBe(DEFAULT_HEALTH_PORT);
    expect(c.readinessProbe.httpGet.path).toBe('/readyz');
    expect(c.livenessProbe.httpGet.path).toBe('/healthz');
    expect(c.livenessProbe.httpGet.port).toBe(c.readinessProbe.httpGet.port);
    expect(c.resources.requests.cpu).toBeDefined();
    expect(c.resources.requests.memory).toBeDefined();
    expect(c.resources.limits.memory).toBeDefined();

    const volumes = Object.fromEntries(pod.volumes.map((v: any) => [v.name, v]));
    const mounts = Object.fromEntries(c.volumeMounts.map((m: any) => [m.mountPath, m]));
    // Only what is used: tracefs (read only, libbpf reads tracepoint ids), the data dir, /tmp.
    expect(Object.keys(mounts).sort()).toEqual(['/sys/kernel/tracing', '/tmp', env.HOTSPAN_DATA_DIR.value].sort());
    expect(volumes[mounts['/sys/kernel/tracing'].name].hostPath.path).toBe('/sys/kernel/tracing');
    expect(mounts['/sys/kernel/tracing'].readOnly).toBe(true);
    // Every host path is mounted read only; nothing of the host is writable from the pod.
    for (const m of c.volumeMounts) if (volumes[m.name].hostPath) expect(m.readOnly, m.mountPath).toBe(true);
    for (const gone of ['/sys/kernel/debug', '/sys/fs/bpf', '/sys/fs/cgroup']) expect(mounts[gone], gone).toBeUndefined();
    // With a read-only root filesystem the data dir must be a writable volume.
    expect(volumes[mounts[env.HOTSPAN_DATA_DIR.value].name].emptyDir).toBeDefined();
  });

  it('ClusterRole grants only get/list/watch on what src/kube reads: pods and replicasets', () => {
    const role = byKind('ClusterRole') as any;
    const granted = role.rules.flatMap((r: any) => r.resources.map((res: string) => `${r.apiGroups.join(',')}/${res}`)).sort();
    expect(granted).toEqual(['/pods', 'apps/replicasets']);
    for (const r of role.rules) expect([...r.verbs].sort()).toEqual(['get', 'list', 'watch']);
    const binding = byKind('ClusterRoleBinding') as any;
    expect(binding.roleRef.name).toBe(role.metadata.name);
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'hotspan', namespace: 'hotspan' }]);
  });
});

describe('deploy/otel-collector/config.yaml', () => {
  const text = readFileSync(`${root}deploy/otel-collector/config.yaml`, 'utf8');
  const cfg = parseYaml(text) as any;

  it('routes profiles to Pyroscope and traces to Tempo through defined components', () => {
    const { profiles, traces } = cfg.service.pipelines;
    expect(profiles.exporters).toEqual(['otlp/pyroscope']);
    expect(traces.exporters).toEqual(['otlp/tempo']);
    for (const p of Object.values(cfg.service.pipelines) as any[]) {
      for (const r of p.receivers) expect(cfg.receivers[r], `receiver ${r}`).toBeDefined();
      for (const x of p.processors ?? []) expect(cfg.processors[x], `processor ${x}`).toBeDefined();
      for (const e of p.exporters) expect(cfg.exporters[e], `exporter ${e}`).toBeDefined();
    }
    // The agent's OTLP endpoint port is what the collector listens on.
    expect(cfg.receivers.otlp.protocols.grpc.endpoint).toMatch(/:4317$/);
    expect(text).toContain('--feature-gates=service.profilesSupport');
  });
});

describe('deploy/Dockerfile', () => {
  const text = readFileSync(`${root}deploy/Dockerfile`, 'utf8');
  const stages = text.split(/^FROM /m).slice(1);

  it('builds in one stage and ships only runtime files in the other', () => {
    expect(stages).toHaveLength(2);
    const [build, runtime] = stages as [string, string];
    expect(build).toMatch(/clang/);
    expect(build).toMatch(/libbpf-dev/);
    expect(runtime).toMatch(/^node:20-bookworm-slim/);
    expect(runtime).toMatch(/libbpf1/);
    expect(runtime).toMatch(/libelf1/);
    expect(runtime).not.toMatch(/clang|libbpf-dev|g\+\+/);
    for (const artifact of ['/src/dist', '.bpf.o', 'hotspan.node', '/src/node_modules']) expect(runtime).toContain(artifact);
    expect(runtime).toContain(`EXPOSE ${DEFAULT_HEALTH_PORT}`);
  });
});
