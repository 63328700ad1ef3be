/**
 * The store's thread (see remote.ts): owns the DuckDB instance, so decoding requests into rows,
 * synchronous appends and query result conversion never hold the agent's event loop.
 * Protocol: workerData = StoreOptions; posts {type:'ready'} or {type:'failed', error} once, then
 * answers each {id, method, args} with {id, value} or {id, error}.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { Store } from './store.js';
import { serializeError, type CallMessage, type ReplyMessage } from './remote-protocol.js';
import type { StoreOptions } from './types.js';

function serve(store: Store, port: MessagePort): void {
  port.on('message', (m: CallMessage) => {
    void (async () => {
      let reply: ReplyMessage;
      try {
        const fn = (store as unknown as Record<string, unknown>)[m.method];
        if (typeof fn !== 'function' || m.method === 'constructor') throw new Error(`store: no method ${m.method}`);
        reply = { type: 'reply', id: m.id, value: await (fn as (...a: unknown[]) => unknown).apply(store, m.args) };
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
  serve(await Store.open(workerData as StoreOptions), port);
} catch (e) {
  port.postMessage({ type: 'failed', error: serializeError(e) } satisfies ReplyMessage);
  port.close();
}
