/**
 * The store on its own thread. `openStoreWorker` starts a worker_thread that opens the Store
 * (worker.ts) and returns a proxy with the Store's method surface (StoreApi): every method call is
 * forwarded by name and answered asynchronously, so DuckDB's synchronous appends, row decoding and
 * query result conversion run off the caller's event loop. The proxy is generic — a query method
 * added to Store is callable through it with no code here. Arguments and results cross by
 * structured clone (bigint, Buffer→Uint8Array, plain objects; no functions). Errors keep their
 * name and `code` (StoreError codes such as STORE_LOCKED are rebuilt as StoreError).
 */
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { StoreError, type StoreErrorCode } from './store.js';
import type { CallMessage, ReplyMessage, SerializedError, StoreWorkerData } from './remote-protocol.js';
import type { StoreApi } from './api.js';
import type { StoreOptions } from './types.js';

const STORE_ERROR_CODES: ReadonlySet<string> = new Set<StoreErrorCode>(['STORE_DIR', 'STORE_LOCKED', 'STORE_SCHEMA', 'STORE_OPEN', 'STORE_CLOSED']);

function toError(e: SerializedError): Error {
  let err: Error;
  if (e.name === 'StoreError' && e.code && STORE_ERROR_CODES.has(e.code)) err = new StoreError(e.code as StoreErrorCode, e.message);
  else {
    err = new Error(e.message);
    err.name = e.name;
    if (e.code !== undefined) (err as Error & { code?: string }).code = e.code;
  }
  // The worker's stack says where it failed; this thread's says who asked.
  if (e.stack) err.stack = `${e.stack}\n    --- store worker call from ---\n${(err.stack ?? '').split('\n').slice(1).join('\n')}`;
  return err;
}

/** Compiled (dist/*.js): the sibling worker.js. From TypeScript sources (tsx, vitest): worker.ts, through tsx's loader. */
function startWorker(workerData: StoreWorkerData): Worker {
  const here = import.meta.url;
  if (here.endsWith('.js')) return new Worker(new URL('./worker.js', here), { workerData });
  // Node 20 does not apply --import hooks to a worker's entry module: register tsx's loader first.
  // Its ESM API ('import' condition of tsx/esm/api), by path: require.resolve would pick the CJS build.
  const tsx = pathToFileURL(join(dirname(createRequire(here).resolve('tsx/package.json')), 'dist/esm/api/index.mjs')).href;
  const entry = new URL('./worker.ts', here).href;
  return new Worker(`import(${JSON.stringify(tsx)}).then((t) => { t.register(); return import(${JSON.stringify(entry)}); })`, {
    eval: true,
    workerData,
  });
}

export interface StoreWorkerOptions {
  /**
   * URL of a module exporting `storeProcedures`: functions (store, ...args) the worker runs next to
   * the store when the proxy is called by their name (heavy read-side work the caller's thread
   * should not do). The store itself knows nothing of them.
   */
  procedures?: string;
}

const workers = new WeakSet<object>();

/** Whether `store` is a proxy from openStoreWorker (its calls run in the store's thread). */
export function isStoreWorker(store: object): boolean {
  return workers.has(store);
}

/** Opens the store in a worker thread; rejects like Store.open (same StoreError codes). */
export async function openStoreWorker(opts: StoreOptions, workerOpts: StoreWorkerOptions = {}): Promise<StoreApi> {
  const worker = startWorker({ options: opts, ...(workerOpts.procedures !== undefined && { procedures: workerOpts.procedures }) });
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let nextId = 1;
  let gone: Error | null = null;

  const fail = (err: Error) => {
    gone ??= err;
    for (const p of pending.values()) p.reject(gone);
    pending.clear();
  };

  // Worker.on's own listener type takes any[].
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const opening: Record<'message' | 'error' | 'exit', (...args: any[]) => void> = { message: () => {}, error: () => {}, exit: () => {} };
  await new Promise<void>((resolve, reject) => {
    opening.message = (m: ReplyMessage) => {
      if (m.type === 'ready') resolve();
      else if (m.type === 'failed') reject(toError(m.error));
    };
    opening.error = reject;
    opening.exit = (code: number) => reject(new StoreError('STORE_OPEN', `store: worker exited (code ${code}) while opening ${opts.dataDir}`));
    for (const [event, fn] of Object.entries(opening)) worker.on(event, fn);
  })
    .catch(async (e) => {
      await worker.terminate();
      throw e;
    })
    .finally(() => {
      // Only ours: Worker has listeners of its own.
      for (const [event, fn] of Object.entries(opening)) worker.off(event, fn);
    });

  worker.on('message', (m: ReplyMessage) => {
    if (m.type !== 'reply') return;
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (pending.size === 0) worker.unref();
    if (m.error) p.reject(toError(m.error));
    else p.resolve(m.value);
  });
  worker.on('error', (e) => fail(new StoreError('STORE_CLOSED', `store: worker failed: ${e.message}`, { cause: e })));
  worker.on('exit', (code) => fail(new StoreError('STORE_CLOSED', `store: worker exited (code ${code})`)));
  // Idle, the thread does not keep the process alive (Store's own timers are unref'd); a call in flight does.
  worker.unref();

  const call = (method: string, args: unknown[]): Promise<unknown> => {
    if (gone) return Promise.reject(gone);
    return new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      worker.ref();
      try {
        worker.postMessage({ id, method, args } satisfies CallMessage);
      } catch (e) {
        pending.delete(id);
        if (pending.size === 0) worker.unref();
        reject(e as Error);
      }
    });
  };

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      if (gone) return;
      try {
        await call('close', []);
      } finally {
        gone ??= new StoreError('STORE_CLOSED', 'store: used after close()');
        await worker.terminate();
      }
    })());

  const proxy = new Proxy({} as StoreApi, {
    get(_target, name) {
      // Not a thenable, not inspectable as anything but a store.
      if (typeof name !== 'string' || name === 'then') return undefined;
      if (name === 'close') return close;
      return (...args: unknown[]) => call(name, args);
    },
  });
  workers.add(proxy);
  return proxy;
}
