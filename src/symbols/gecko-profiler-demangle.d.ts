// Types for the package's generated wasm-bindgen glue, which ships without a .d.ts
// (only the top-level entry, unusable on Node 20, is typed). See demangle.ts.
declare module 'gecko-profiler-demangle/index_bg.js' {
  export function __wbg_set_wasm(exports: Record<string, unknown>): void;
  export function demangle_any(name: string): string;
}
