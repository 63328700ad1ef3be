/** Messages between the store proxy (remote.ts) and the store's thread (worker.ts). */
import type { StoreOptions } from './types.js';

export interface StoreWorkerData {
  options: StoreOptions;
  /** Module URL whose `storeProcedures` the worker also serves (see openStoreWorker). */
  procedures?: string;
}

export interface CallMessage {
  id: number;
  method: string;
  args: unknown[];
}

export interface SerializedError {
  name: string;
  message: string;
  code?: string;
  stack?: string;
}

export type ReplyMessage =
  { type: 'ready' } | { type: 'failed'; error: SerializedError } | { type: 'reply'; id: number; value?: unknown; error?: SerializedError };

export function serializeError(e: unknown): SerializedError {
  if (!(e instanceof Error)) return { name: 'Error', message: String(e) };
  const code = (e as { code?: unknown }).code;
  return { name: e.name, message: e.message, ...(typeof code === 'string' && { code }), ...(e.stack !== undefined && { stack: e.stack }) };
}
