/**
 * The store's thread (see remote.ts): owns the DuckDB instance, so decoding requests into rows,
 * synchronous appends and query result conversion never hold the agent's event loop.
 * Protocol: workerData = StoreWorkerData; posts {type:'ready'} or {type:'failed', error} once, then
 * answers each {id, method, args} with {id, value} or {id, error}. A method is the Store's own or,
 * failing that, one of the loaded `storeProcedures`, called with the store first.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { Store } from './store.js';
import { serializeError, type CallMessage, type ReplyMessage, type StoreWorkerData } from './remote-protocol.js';

type Procedure = (store: Store, ...args: unknown[]) => unknown;

function serve(store: Store, procedures: Record<string, Procedure>, port: MessagePort): void {
  port.on('message', (m: CallMessage) => {
    void (async () => {
      let reply: ReplyMessage;
      try {
        const fn = (store as unknown as Record<string, unknown>)[m.method];
        const proc = Object.hasOwn(procedures, m.method) ? procedures[m.method] : undefined;
        let value: unknown;
        if (typeof fn === 'function' && m.method !== 'constructor') value = await (fn as (...a: unknown[]) => unknown).apply(store, m.args);
        else if (proc) value = await proc(store, ...m.args);
        else throw new Error(`store: no method ${m.method}`);
        reply = { type: 'reply', id: m.id, value };
      } catch (e) {
        reply = { type: 'reply', id: m.id, error: serializeError(e) };
      }
      try {
        port.postMessage(reply);
      } catch (e) {
        // A value that cannot be cloned (a bug in a new query method): say so instead of hanging the caller.
        port.postMessage({ type: 'reply', id: m.id, error: serializeError(e) } satisfies ReplyMessage);
      }
    })();
  });
  port.postMessage({ type: 'ready' } satisfies ReplyMessage);
}

const port = parentPort;
if (!port) throw new Error('store worker: started outside a worker thread');
try {
  const data = workerData as StoreWorkerData;
  // Loaded before the store opens: a bad module fails the open, not the first call.
  const procedures = data.procedures ? ((await import(data.procedures)) as { storeProcedures: Record<string, Procedure> }).storeProcedures : {};
  serve(await Store.open(data.options), procedures, port);
} catch (e) {
  port.postMessage({ type: 'failed', error: serializeError(e) } satisfies ReplyMessage);
  port.close();
}
