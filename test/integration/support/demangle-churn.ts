/** What test/fixtures/js/demangle-churn.ts printed, read once for the unit test and the kernel matrix. */
export interface ChurnOutput {
  /** V8's "[wasm-gc] Freeing N code objects" lines with N > 0. */
  freed: number;
  counts: { names: number; calls: number; changed: number; workerNames: number } | null;
}

export function readChurnOutput(text: string): ChurnOutput {
  const lines = text.split('\n');
  const json = lines.find((l) => l.startsWith('{'));
  return {
    freed: lines.filter((l) => /^\[wasm-gc\] Freeing [1-9]\d* code objects/.test(l)).length,
    counts: json ? (JSON.parse(json) as ChurnOutput['counts']) : null,
  };
}
