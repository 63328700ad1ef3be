// `hotspan ui`: where this node's web UI is. The agent writes its URL to <data-dir>/agent.json;
// on Kubernetes the UI stays on the pod's loopback and is reached with kubectl port-forward.
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { DEFAULT_DATA_DIR } from '../../src/config/index.js';
import { findAgent } from '../../src/api/client.js';
import { readAgentFile } from '../../src/api/agent-file.js';
import { ExitCode } from '../exit-codes.js';

const SA_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

function kubernetes(): { namespace: string; pod: string } | undefined {
  if (!process.env.KUBERNETES_SERVICE_HOST) return undefined;
  let namespace = 'hotspan';
  try {
    namespace = readFileSync(SA_NAMESPACE, 'utf8').trim() || namespace;
  } catch {
    // outside a pod (a kubeconfig shell): the manifests' namespace
  }
  return { namespace, pod: process.env.HOSTNAME || '<hotspan-pod>' };
}

export function register(program: Command): void {
  program
    .command('ui')
    .description("print the URL of this node's web UI and JSON API (and the kubectl port-forward line on Kubernetes)")
    .option('--data-dir <dir>', `the agent's data directory (default ${DEFAULT_DATA_DIR})`)
    .action(async (opts: { dataDir?: string }) => {
      const dataDir = opts.dataDir ?? DEFAULT_DATA_DIR;
      const file = readAgentFile(dataDir);
      const agent = await findAgent(dataDir).catch(() => undefined);
      const url = agent?.url ?? file?.url ?? `http://127.0.0.1:${process.env.HOTSPAN_UI_PORT || 7071}/`;
      const port = new URL(url).port || '7071';
      process.stdout.write(`${url}\n`);
      const k8s = kubernetes();
      if (k8s) {
        process.stdout.write(`kubectl -n ${k8s.namespace} port-forward pod/${k8s.pod} ${port}:${port}   # then open http://127.0.0.1:${port}/\n`);
      }
      if (!agent) {
        process.stderr.write(
          file
            ? `hotspan ui: the agent that wrote ${dataDir}/agent.json (pid ${file.pid}) does not answer; is it still running?\n`
            : `hotspan ui: no running agent found for ${dataDir} (start one with \`hotspan agent\`; --ui-port 0 disables the UI)\n`,
        );
        process.exitCode = ExitCode.Failure;
      }
    });
}
