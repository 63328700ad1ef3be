/**
 * The store's public surface as callers see it, whether the Store runs in this thread or behind
 * the worker proxy (remote.ts): every public method of Store, asynchronous.
 */
import type { Store } from './store.js';

type AsyncMethods<T> = {
  [K in keyof T as T[K] extends (...args: never[]) => unknown ? K : never]: T[K] extends (...args: infer A) => infer R
    ? (...args: A) => Promise<Awaited<R>>
    : never;
};

export type StoreApi = AsyncMethods<Store>;
