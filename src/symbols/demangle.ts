/**
 * C++ (Itanium) and Rust (legacy and v0) demangling through gecko-profiler-demangle,
 * the Firefox profiler's WASM build of cpp_demangle + rustc-demangle.
 *
 * The package's own entry imports `index_bg.wasm` as an ES module, which Node 20
 * cannot do without --experimental-wasm-modules; so the WASM is instantiated here,
 * synchronously, and handed to the package's generated JS glue.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as glue from 'gecko-profiler-demangle/index_bg.js';

interface WasmExports {
  __wbindgen_start(): void;
}

// tsconfig's lib has no DOM, and @types/node 20 does not declare WebAssembly; this is
// the small slice of the (Node built-in) API used here.
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, unknown>) => { exports: Record<string, unknown> };
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

let ready = false;
let loadError: Error | undefined;

function init(): boolean {
  if (ready) return true;
  if (loadError) return false;
  try {
    const wasmPath = createRequire(import.meta.url).resolve('gecko-profiler-demangle/index_bg.wasm');
    const module = new wasmApi.Module(readFileSync(wasmPath));
    const instance = new wasmApi.Instance(module, { './index_bg.js': glue });
    glue.__wbg_set_wasm(instance.exports);
    (instance.exports as unknown as WasmExports).__wbindgen_start();
    ready = true;
  } catch (err) {
    loadError = err as Error;
  }
  return ready;
}

/** Only these prefixes are mangled names; everything else is returned untouched. */
function looksMangled(name: string): boolean {
  return name.startsWith('_Z') || name.startsWith('__Z') || name.startsWith('_R');
}

/** Demangled name, or `name` itself when it is not mangled or demangling fails. */
export function demangle(name: string): string {
  if (!looksMangled(name) || !init()) return name;
  try {
    const out = glue.demangle_any(name);
    // On input no demangler accepts, the package can hand back the name minus its
    // leading underscore (it retries as a Mach-O "__Z" name); that is not a result.
    return out === name.slice(1) ? name : out;
  } catch {
    return name;
  }
}

/** Why the demangler is unavailable, if it failed to load (names then stay mangled). */
export function demanglerLoadError(): Error | undefined {
  init();
  return loadError;
}
