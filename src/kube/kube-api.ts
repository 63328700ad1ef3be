import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createInterface } from 'node:readline';

/**
 * A minimal Kubernetes API client: GET JSON, and stream a watch.
 *
 * Why not @kubernetes/client-node: the agent runs on every node and needs three calls
 * (list pods, watch pods, get replicaset). client-node pulls in ~40 transitive packages
 * (openid-client, ws, jsonpath-plus, …) for auth plugins and resources we never touch,
 * and its informer hides the resourceVersion/410/backoff handling that this agent must get
 * right to avoid a relist storm on a large cluster. node:https with the service account CA
 * and token is the whole of in-cluster auth, so we keep that in a hundred lines we can test.
 */

export interface KubeApiConfig {
  /** `https://10.96.0.1:443`; http:// is accepted for tests against a local server. */
  baseUrl: string;
  /**
   * Returns the bearer token for each request. In-cluster tokens are projected and rotated
   * by the kubelet (about hourly), so the file is re-read rather than cached.
   */
  token?: () => string | undefined;
  /** PEM CA bundle that signed the API server's certificate. */
  ca?: Buffer;
}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Thrown for any non-2xx answer; `status` is the HTTP status (410 means relist). */
export class KubeApiError extends Error {
  constructor(
    readonly status: number,
    readonly path: string,
    detail: string,
  ) {
    super(`kubernetes API GET ${path}: HTTP ${status}${detail ? `: ${detail}` : ''}`);
    this.name = 'KubeApiError';
  }
}

/**
 * In-cluster configuration from the pod's service account and the env the kubelet sets.
 * Throws an error that says what is missing and how to fix it.
 */
export function inClusterConfig(env: NodeJS.ProcessEnv = process.env, serviceAccountDir = SERVICE_ACCOUNT_DIR): KubeApiConfig {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new Error(
      'kubernetes: KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT are not set, so this is not a pod; ' +
        'run hotspan as the DaemonSet in deploy/kubernetes, or disable Kubernetes metadata (--no-kube)',
    );
  }
  let ca: Buffer;
  try {
    ca = readFileSync(`${serviceAccountDir}/ca.crt`);
    readFileSync(`${serviceAccountDir}/token`);
  } catch (err) {
    throw new Error(
      `kubernetes: cannot read the service account from ${serviceAccountDir} (${(err as Error).message}); ` +
        'set automountServiceAccountToken: true on the DaemonSet (deploy/kubernetes/daemonset.yaml does)',
      { cause: err },
    );
  }
  // IPv6 service hosts need brackets in a URL.
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return {
    baseUrl: `https://${hostPart}:${port}`,
    ca,
    token: () => {
      try {
        return readFileSync(`${serviceAccountDir}/token`, 'utf8').trim();
      } catch {
        return undefined;
      }
    },
  };
}

function open(cfg: KubeApiConfig, path: string, signal?: AbortSignal): Promise<IncomingMessage> {
  const url = new URL(path, cfg.baseUrl);
  const token = cfg.token?.();
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', headers, ca: cfg.ca, signal }, resolve);
    req.on('error', reject);
    req.end();
  });
}

async function readBody(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function failure(res: IncomingMessage, path: string): Promise<KubeApiError> {
  const body = await readBody(res).catch(() => '');
  let detail = body.slice(0, 300);
  try {
    detail = (JSON.parse(body) as { message?: string }).message ?? detail;
  } catch {
    /* not a Status object; keep the raw text */
  }
  return new KubeApiError(res.statusCode ?? 0, path, detail);
}

/** GET a JSON object; throws KubeApiError on a non-2xx status. */
export async function getJson<T>(cfg: KubeApiConfig, path: string, signal?: AbortSignal): Promise<T> {
  const res = await open(cfg, path, signal);
  if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) >= 300) throw await failure(res, path);
  return JSON.parse(await readBody(res)) as T;
}

/**
 * Opens a watch and yields each JSON line (one event each). Malformed lines are passed to
 * `onMalformed` and skipped. Ends when the server closes the stream (its timeoutSeconds),
 * and throws when the connection drops.
 */
export async function* watchLines(cfg: KubeApiConfig, path: string, signal: AbortSignal, onMalformed: (line: string) => void): AsyncGenerator<unknown> {
  const res = await open(cfg, path, signal);
  if ((res.statusCode ?? 0) !== 200) throw await failure(res, path);
  let aborted = false;
  // An aborted 'close' without a complete body is a dropped connection, not a clean end.
  res.on('aborted', () => (aborted = true));
  const lines = createInterface({ input: res, crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      onMalformed(line);
      continue;
    }
    yield parsed;
  }
  if (aborted || !res.complete) throw new Error(`kubernetes API watch ${path}: connection dropped`);
}
