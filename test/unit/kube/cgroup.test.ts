import { describe, expect, it } from 'vitest';
import { containerFromCgroupPath, containerFromProcCgroup, parseProcCgroup } from '../../../src/kube/index.js';

// Every path below was captured on a real node and published in the issue named beside it;
// the expected ids are the ones the same report shows from `crictl ps` / `podman inspect` / the tree.
interface Sample {
  name: string;
  source: string;
  procCgroup: string;
  containerId?: string;
  runtime?: string;
  podUid?: string;
  qosClass?: string;
}

const samples: Sample[] = [
  {
    name: 'containerd, systemd driver, cgroup v2, burstable pod',
    source: 'github.com/netdata/netdata/issues/4868',
    procCgroup:
      '0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod55c6c714_b240_4dec_9a45_57b61696ab6e.slice/cri-containerd-2032491dcae31e6746f47daa0ac74564f2843a1bd847c5e6c4eb501ca132ac36.scope\n',
    containerId: '2032491dcae31e6746f47daa0ac74564f2843a1bd847c5e6c4eb501ca132ac36',
    runtime: 'containerd',
    podUid: '55c6c714-b240-4dec-9a45-57b61696ab6e',
    qosClass: 'burstable',
  },
  {
    name: 'containerd, static pod (config hash instead of uid)',
    source: 'github.com/netdata/netdata/issues/4868',
    procCgroup:
      '0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod8daa50c3a64c9ff60bb9eab7b44b56fd.slice/cri-containerd-2884d57c0e100d7a9a2f9487ce0bc2986bca3430e988af7a4865aff061f51ac5.scope\n',
    containerId: '2884d57c0e100d7a9a2f9487ce0bc2986bca3430e988af7a4865aff061f51ac5',
    runtime: 'containerd',
    podUid: '8daa50c3a64c9ff60bb9eab7b44b56fd',
    qosClass: 'burstable',
  },
  {
    name: 'CRI-O, systemd driver, cgroup v1 (calico-node)',
    source: 'github.com/opencontainers/runc/issues/4620',
    procCgroup: [
      '13:freezer:/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-poda5c1f8d5_1919_434d_add7_4afaafdaef89.slice/crio-5eed917563583925ffdbd40a64efb2aaffe58638e57add8becaf460fe74f5b1c.scope',
      '12:cpuset:/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-poda5c1f8d5_1919_434d_add7_4afaafdaef89.slice/crio-5eed917563583925ffdbd40a64efb2aaffe58638e57add8becaf460fe74f5b1c.scope',
      '11:files:/',
      '',
    ].join('\n'),
    containerId: '5eed917563583925ffdbd40a64efb2aaffe58638e57add8becaf460fe74f5b1c',
    runtime: 'cri-o',
    podUid: 'a5c1f8d5-1919-434d-add7-4afaafdaef89',
    qosClass: 'burstable',
  },
  {
    name: 'CRI-O conmon monitor: pod known, not a workload container',
    source: 'github.com/opencontainers/runc/issues/4620',
    procCgroup:
      '0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod207aaad1_659f_4db8_88e0_46e0cdcc3004.slice/crio-conmon-32da98c8522068be05a7510a3eddb09cad6ed2f03286180d0e931d0d0b6224a6.scope\n',
    podUid: '207aaad1-659f-4db8-88e0-46e0cdcc3004',
    qosClass: 'burstable',
  },
  {
    name: 'CRI-O inside a minikube node that is itself a Docker container',
    source: 'github.com/kubernetes/minikube/issues/11280',
    procCgroup:
      '0::/docker/d6701ec289c56e4391acb11d07474b3139466857a305490575508a8b7a9fcf22/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod2ca4a155_3599_498d_bb9d_4446693fa3ea.slice/crio-358607a37e7ada357032e7f5729c9ae6a3efdb7962acbcbe47ff6a3c5506cb1c.scope\n',
    containerId: '358607a37e7ada357032e7f5729c9ae6a3efdb7962acbcbe47ff6a3c5506cb1c',
    runtime: 'cri-o',
    podUid: '2ca4a155-3599-498d-bb9d-4446693fa3ea',
    qosClass: 'besteffort',
  },
  {
    name: 'containerd in kind (kubelet.slice root)',
    source: 'github.com/containerd/nri/pull/227',
    procCgroup:
      '0::/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod1e597579_417e_482f_bf65_5fe170c3aebd.slice/cri-containerd-a09bc17f5aa29b0dbdec9ede5f46cf1396d2405917ab02e6f1eb1019f388396e.scope\n',
    containerId: 'a09bc17f5aa29b0dbdec9ede5f46cf1396d2405917ab02e6f1eb1019f388396e',
    runtime: 'containerd',
    podUid: '1e597579-417e-482f-bf65-5fe170c3aebd',
    qosClass: 'besteffort',
  },
  {
    name: 'cgroupfs driver, cgroup v1, burstable pod',
    source: 'medium.com/@betz.mark/understanding-resource-limits-in-kubernetes-memory (via github.com/p4ali/Notes)',
    procCgroup: '6:memory:/kubepods/burstable/podfbc202d3-da21-11e8-ab5e-42010a80014b/0a1b22ec1361a97c3511db37a4bae932d41b22264e5b97611748f8b662312574\n',
    containerId: '0a1b22ec1361a97c3511db37a4bae932d41b22264e5b97611748f8b662312574',
    runtime: 'unknown',
    podUid: 'fbc202d3-da21-11e8-ab5e-42010a80014b',
    qosClass: 'burstable',
  },
  {
    name: 'CRI-O, cgroupfs driver, besteffort pod',
    source: 'github.com/nestybox/sysbox/issues/618',
    procCgroup: '3:cpuset:/kubepods/besteffort/pod1d572999-c9f3-45bd-b378-9df614214da6/crio-87554950a53dd2ed856512d201cec166fa6c5dbab20186489d6a0e8c13c20586\n',
    containerId: '87554950a53dd2ed856512d201cec166fa6c5dbab20186489d6a0e8c13c20586',
    runtime: 'cri-o',
    podUid: '1d572999-c9f3-45bd-b378-9df614214da6',
    qosClass: 'besteffort',
  },
  {
    name: 'Docker, systemd driver, kubelet pod (kube-proxy)',
    source: 'github.com/kontena/pharos-cluster/issues/440',
    procCgroup:
      '4:memory:/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod9692aa0e_748e_11e8_8dfa_76d458035df6.slice/docker-abddff03dfd7710c79a750ce3e730365cbb2c8247a974170c1062683bc3e9152.scope\n',
    containerId: 'abddff03dfd7710c79a750ce3e730365cbb2c8247a974170c1062683bc3e9152',
    runtime: 'docker',
    podUid: '9692aa0e-748e-11e8-8dfa-76d458035df6',
    qosClass: 'besteffort',
  },
  {
    name: 'Docker, systemd driver, plain container (CentOS)',
    source: 'github.com/neuvector/neuvector share/system/cgroup_test.go',
    procCgroup: [
      '10:devices:/system.slice/docker-9ec39b91f3d70e1beff50a308f77067065ea6be0d91a3378375056cd4422cf3d.scope',
      '2:cpuacct,cpu:/system.slice/docker-9ec39b91f3d70e1beff50a308f77067065ea6be0d91a3378375056cd4422cf3d.scope',
      '',
    ].join('\n'),
    containerId: '9ec39b91f3d70e1beff50a308f77067065ea6be0d91a3378375056cd4422cf3d',
    runtime: 'docker',
  },
  {
    name: 'Docker, cgroupfs driver (/docker/<id>)',
    source: 'github.com/kubernetes/minikube/issues/11280 (the node container)',
    procCgroup: '12:memory:/docker/d6701ec289c56e4391acb11d07474b3139466857a305490575508a8b7a9fcf22\n0::/\n',
    containerId: 'd6701ec289c56e4391acb11d07474b3139466857a305490575508a8b7a9fcf22',
    runtime: 'docker',
  },
  {
    name: 'Podman rootful, cgroup v1',
    source: 'github.com/podman-container-tools/podman/issues/10602',
    procCgroup: [
      '12:pids:/machine.slice/libpod-2521e906f0a0c758c3a7dc4fd68c197e32e96abb4b36807d0b0ede6d014a7c24.scope',
      '1:name=systemd:/machine.slice/libpod-2521e906f0a0c758c3a7dc4fd68c197e32e96abb4b36807d0b0ede6d014a7c24.scope/init.scope',
      '',
    ].join('\n'),
    containerId: '2521e906f0a0c758c3a7dc4fd68c197e32e96abb4b36807d0b0ede6d014a7c24',
    runtime: 'podman',
  },
  {
    name: 'Podman, cgroup v2, user service with /container leaf',
    source: 'github.com/podman-container-tools/podman/issues/20423',
    procCgroup:
      '0::/user.slice/user-0.slice/user@0.service/machine.slice/libpod-cf21d19260ace8544fe8b769fc2638bf2c0873dfbfff0b6253f0569b26a1d5eb.scope/container\n',
    containerId: 'cf21d19260ace8544fe8b769fc2638bf2c0873dfbfff0b6253f0569b26a1d5eb',
    runtime: 'podman',
  },
];

describe('container id from /proc/PID/cgroup', () => {
  for (const s of samples) {
    it(`${s.name} (${s.source})`, () => {
      const ref = containerFromProcCgroup(s.procCgroup);
      expect(ref).toBeDefined();
      expect(ref!.containerId).toBe(s.containerId);
      expect(ref!.runtime).toBe(s.runtime);
      expect(ref!.podUid).toBe(s.podUid);
      expect(ref!.qosClass).toBe(s.qosClass);
    });
  }

  it('names no container for host processes', () => {
    // This machine's own /proc/self/cgroup (a sandbox, not a container runtime), a systemd
    // user session, and a process inside its own cgroup namespace.
    expect(containerFromProcCgroup('4:memory:/process_api/66e3a153942846b563ea2dd4269cfb05\n1:cpu:/\n0::/\n')).toBeUndefined();
    expect(containerFromProcCgroup('0::/user.slice/user-1000.slice/session-2.scope\n')).toBeUndefined();
    expect(containerFromProcCgroup('0::/system.slice/containerd.service\n')).toBeUndefined();
    expect(containerFromCgroupPath('/')).toBeUndefined();
  });

  it('guaranteed pods have no QoS level in the path', () => {
    const ref = containerFromCgroupPath(
      '/kubepods.slice/kubepods-pod9692aa0e_748e_11e8_8dfa_76d458035df6.slice/cri-containerd-a09bc17f5aa29b0dbdec9ede5f46cf1396d2405917ab02e6f1eb1019f388396e.scope',
    );
    expect(ref?.qosClass).toBe('guaranteed');
    expect(ref?.podUid).toBe('9692aa0e-748e-11e8-8dfa-76d458035df6');
  });

  it('counts and skips malformed lines instead of throwing', () => {
    const { lines, malformedLines } = parseProcCgroup('garbage\n12:memory\nx:cpu:/a\n0::/ok\n');
    expect(malformedLines).toBe(3);
    expect(lines).toEqual([{ hierarchyId: 0, controllers: [], path: '/ok' }]);
  });
});
