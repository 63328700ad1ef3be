/** The instrumentation scope every hotspan message carries. */
import type { InstrumentationScopeObject } from './types.js';

export const SCOPE_NAME = 'hotspan';
export const SCOPE_VERSION = '0.1.0';

export function hotspanScope(): InstrumentationScopeObject {
  return { name: SCOPE_NAME, version: SCOPE_VERSION, attributes: [], droppedAttributesCount: 0 };
}
