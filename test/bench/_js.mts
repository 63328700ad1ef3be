import { readPprof, totalShares } from '../integration/support/pprof.js';
const { samples } = readPprof(process.argv[2]);
const n = samples.reduce((a, s) => a + s.count, 0);
const t = totalShares(samples);
console.log('n', n, ['burnA', 'burnB', 'burnC'].map((f) => `${f} ${(t.get(f) ?? 0).toFixed(1)}`).join(' '));
const top = samples.sort((a, b) => b.count - a.count).slice(0, 4);
for (const s of top) console.log(s.count, s.stack.slice(0, 12).join(' <- '));
