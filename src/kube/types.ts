/**
 * The subset of Kubernetes API objects the agent reads. Only what metadata needs is typed;
 * everything is optional because the API server omits empty fields.
 */

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
}

export interface OwnerReference {
  apiVersion?: string;
  kind: string;
  name: string;
  uid?: string;
  controller?: boolean;
}

export interface ContainerSpec {
  name: string;
  image?: string;
}

export interface ContainerStatus {
  name: string;
  image?: string;
  imageID?: string;
  /** `<runtime>://<64-hex id>`, e.g. `containerd://2032…`; absent until the container starts. */
  containerID?: string;
}

export interface Pod {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec?: {
    nodeName?: string;
    containers?: ContainerSpec[];
    initContainers?: ContainerSpec[];
    ephemeralContainers?: ContainerSpec[];
  };
  status?: {
    phase?: string;
    containerStatuses?: ContainerStatus[];
    initContainerStatuses?: ContainerStatus[];
    ephemeralContainerStatuses?: ContainerStatus[];
  };
}

export interface ReplicaSet {
  metadata: ObjectMeta;
}

/** The list response of any collection (`PodList`, …). */
export interface ObjectList<T> {
  kind?: string;
  metadata: { resourceVersion?: string; continue?: string };
  items: T[];
}

/** `metav1.Status`, sent for errors, including inside a watch stream as an ERROR event. */
export interface ApiStatus {
  kind: 'Status';
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
}

/** One line of a watch stream (`?watch=1`). */
export type WatchEvent<T> =
  | { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: T }
  | { type: 'BOOKMARK'; object: { metadata: { resourceVersion: string } } }
  | { type: 'ERROR'; object: ApiStatus };
