export type * from './types.js';
export { SIGNALS } from './types.js';
