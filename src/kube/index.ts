export { containerFromCgroupPath, containerFromProcCgroup, parseProcCgroup, readContainerRef } from './cgroup.js';
export type { CgroupContainerRef, CgroupLine, ContainerRuntime, PodQosClass } from './cgroup.js';
