import { readFile } from 'node:fs/promises';

/**
 * Container identity from a process's cgroup path (/proc/PID/cgroup).
 *
 * Every runtime names the leaf cgroup of a container after the container id, but each
 * spells it differently, and the kubelet puts the pod uid one level up:
 *
 *   containerd, systemd driver  /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid_>.slice/cri-containerd-<id>.scope
 *   CRI-O, systemd driver       …/kubepods-besteffort-pod<uid_>.slice/crio-<id>.scope   (crio-conmon-<id>.scope is the monitor)
 *   Docker, systemd driver      /system.slice/docker-<id>.scope, or …/kubepods-pod<uid_>.slice/docker-<id>.scope
 *   Docker, cgroupfs driver     /docker/<id>
 *   any runtime, cgroupfs       /kubepods/burstable/pod<uid>/<id>   (guaranteed pods have no QoS level)
 *   Podman                      /machine.slice/libpod-<id>.scope
 *   kind / nested nodes         /kubelet.slice/kubelet-kubepods.slice/… or /docker/<node>/kubepods.slice/…
 *
 * The innermost match wins, so a pod inside a kind node (itself a Docker container)
 * is attributed to the pod's container, not to the node's.
 */

export type ContainerRuntime = 'containerd' | 'cri-o' | 'docker' | 'podman' | 'unknown';
export type PodQosClass = 'guaranteed' | 'burstable' | 'besteffort';

export interface CgroupContainerRef {
  /** Full 64-hex container id, lowercase, as `crictl ps` / `docker ps --no-trunc` show it. */
  containerId?: string;
  runtime?: ContainerRuntime;
  /** Pod uid with dashes (`55c6c714-b240-4dec-9a45-57b61696ab6e`); static pods carry a 32-hex config hash instead. */
  podUid?: string;
  qosClass?: PodQosClass;
  /** The cgroup path the answer came from. */
  cgroupPath: string;
}

/** One line of /proc/PID/cgroup: `hierarchy-id:controller-list:path`. */
export interface CgroupLine {
  hierarchyId: number;
  /** Empty for the cgroup v2 unified line (`0::/…`). */
  controllers: string[];
  path: string;
}

const CONTAINER_ID = /^[0-9a-f]{64}$/;
// `crio-conmon-` is excluded by the character class: after `crio-` the id must be hex.
const RUNTIME_SCOPE = /^(cri-containerd|crio|docker|libpod)-([0-9a-f]{64})(?:\.scope)?$/;
const RUNTIME_BY_PREFIX: Record<string, ContainerRuntime> = {
  'cri-containerd': 'containerd',
  crio: 'cri-o',
  docker: 'docker',
  libpod: 'podman',
};
// systemd driver: `kubepods-burstable-pod<uid with _>.slice`; cgroupfs: `pod<uid with ->`.
const POD_SEGMENT = /(?:^|-)pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12}|[0-9a-f]{32})(?:\.slice)?$/;
const QOS_SEGMENT = /(?:^|-)kubepods-(burstable|besteffort)(?:\.slice|-pod)/;

/** Parses /proc/PID/cgroup text. Malformed lines are skipped and counted, never thrown. */
export function parseProcCgroup(text: string): { lines: CgroupLine[]; malformedLines: number } {
  const lines: CgroupLine[] = [];
  let malformedLines = 0;
  for (const raw of text.split('\n')) {
    if (raw.trim() === '') continue;
    // The path may itself contain ':' (rare, but legal), so split on the first two only.
    const first = raw.indexOf(':');
    const second = first < 0 ? -1 : raw.indexOf(':', first + 1);
    const hierarchyId = Number(raw.slice(0, first));
    if (first <= 0 || second < 0 || !Number.isInteger(hierarchyId) || !raw.slice(second + 1).startsWith('/')) {
      malformedLines++;
      continue;
    }
    const controllerList = raw.slice(first + 1, second);
    lines.push({
      hierarchyId,
      controllers: controllerList === '' ? [] : controllerList.split(','),
      path: raw.slice(second + 1),
    });
  }
  return { lines, malformedLines };
}

/** Container id, runtime, pod uid and QoS class named by one cgroup path; undefined when it names none. */
export function containerFromCgroupPath(cgroupPath: string): CgroupContainerRef | undefined {
  const segments = cgroupPath.split('/').filter((s) => s !== '');
  let containerIndex = -1;
  let containerId: string | undefined;
  let runtime: ContainerRuntime | undefined;
  for (let i = segments.length - 1; i >= 0 && containerIndex < 0; i--) {
    const seg = segments[i]!;
    const scoped = RUNTIME_SCOPE.exec(seg);
    if (scoped) {
      containerIndex = i;
      containerId = scoped[2];
      runtime = RUNTIME_BY_PREFIX[scoped[1]!];
    } else if (CONTAINER_ID.test(seg)) {
      containerIndex = i;
      containerId = seg;
      // Plain ids under /docker/ are Docker's cgroupfs driver; under /kubepods/ any CRI runtime.
      runtime = segments[i - 1] === 'docker' ? 'docker' : 'unknown';
    }
  }
  // The pod segment is the container's parent; without a container, the innermost pod segment.
  let podUid: string | undefined;
  let qosClass: PodQosClass | undefined;
  const podSearchEnd = containerIndex >= 0 ? containerIndex - 1 : segments.length - 1;
  for (let i = podSearchEnd; i >= 0; i--) {
    const m = POD_SEGMENT.exec(segments[i]!);
    if (!m) continue;
    podUid = m[1]!.replaceAll('_', '-');
    const qos = QOS_SEGMENT.exec(segments[i]!) ?? (i > 0 ? /^(burstable|besteffort)$/.exec(segments[i - 1]!) : null);
    qosClass = qos ? (qos[1] as PodQosClass) : 'guaranteed';
    break;
  }
  if (containerId === undefined && podUid === undefined) return undefined;
  return { containerId, runtime, podUid, qosClass, cgroupPath };
}

/**
 * The container a process belongs to, from its /proc/PID/cgroup text. The cgroup v2 line
 * is preferred; on v1 every controller line is tried, because which controllers a runtime
 * places (and which the agent can see) varies.
 */
export function containerFromProcCgroup(text: string): CgroupContainerRef | undefined {
  const { lines } = parseProcCgroup(text);
  const ordered = [...lines.filter((l) => l.hierarchyId === 0), ...lines.filter((l) => l.hierarchyId !== 0)];
  let podOnly: CgroupContainerRef | undefined;
  for (const line of ordered) {
    const ref = containerFromCgroupPath(line.path);
    if (ref?.containerId) return ref;
    podOnly ??= ref;
  }
  return podOnly;
}

/** Reads /proc/PID/cgroup; undefined when the process has gone or is not in a container. */
export async function readContainerRef(pid: number, procRoot = '/proc'): Promise<CgroupContainerRef | undefined> {
  let text: string;
  try {
    text = await readFile(`${procRoot}/${pid}/cgroup`, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ESRCH') return undefined;
    throw err;
  }
  return containerFromProcCgroup(text);
}
