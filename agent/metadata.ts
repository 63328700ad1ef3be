import { createMetadataResolver, inClusterConfig, OwnerResolver, PodWatcher } from '../src/kube/index.js';
import type { MetadataLookup } from '../src/resource/index.js';

/**
 * Container and Kubernetes metadata for processes. In a pod (service account
 * + NODE_NAME present) pods on this node are watched from the API server;
 * elsewhere only the container runtime's id and the process are used.
 */
export function startMetadata(log: (msg: string) => void): { lookup: MetadataLookup; stop(): void } {
  const nodeName = process.env.NODE_NAME;
  let watcher: PodWatcher | undefined;
  let owners: OwnerResolver | undefined;
  if (process.env.KUBERNETES_SERVICE_HOST && nodeName) {
    try {
      const api = inClusterConfig();
      let lastErrorLogMs = 0;
      watcher = new PodWatcher({
        api,
        nodeName,
        onError: (e) => {
          // The watcher backs off on its own; one line a minute is enough to see it.
          if (Date.now() - lastErrorLogMs > 60_000) {
            lastErrorLogMs = Date.now();
            log(`kubernetes pod watch: ${e.message}`);
          }
        },
      });
      owners = new OwnerResolver(api);
      watcher.start();
    } catch (e) {
      log(`kubernetes metadata unavailable: ${(e as Error).message}`);
    }
  }
  const resolver = createMetadataResolver({ pods: watcher, owners, nodeName });
  return {
    lookup: (pid, known) => resolver.resolveProcessMetadata(pid, known),
    stop: () => void watcher?.stop(),
  };
}
