/**
 * Flame graphs and profile diffs. Pure TypeScript, no kernel needed. See README.md for the
 * model, the significance thresholds and how to wire DeployWatcher into the agent.
 */
export type { Labels, LabelKey, Profile, Stack } from './model.js';
export { aggregate, totals } from './model.js';
export { fromFolded, toFolded, type FoldedOptions } from './folded.js';
export { fromPprof, toPprof, PprofFormatError, type PprofReadOptions } from './pprof.js';
export { fromWindows, serviceOf, versionOf } from './windows.js';
export { merge, filter, parseSelector, type LabelSelector } from './merge.js';
export {
  diff,
  type DiffOptions,
  type ProfileDiff,
  type FrameDiff,
  type FrameSide,
  type StackDiff,
  type RateDiff,
  type Change,
  type SideSummary,
} from './diff.js';
export { DEFAULT_ALPHA, DEFAULT_MIN_SHARE_DELTA, DEFAULT_MIN_RATE_DELTA, twoProportionZ, poissonRateZ, zForAlpha } from './stats.js';
export { topFunctions, topFunctionTable, type TopFunction } from './top.js';
export { buildTree, buildDiffTree, pack, type TreeNode, type TreeOptions, type PackedNode } from './tree.js';
export { renderHtml, renderDiffHtml, type HtmlOptions } from './render-html.js';
export { uiDir } from './html-client.js';
export { renderSvg, type SvgOptions } from './render-svg.js';
export { renderTopTable, renderDiffTable, type TopTableOptions } from './render-text.js';
export { fromMerged, selectorToQuery } from './store.js';
export { loadInput, parseInput, profileFromBytes, InputError, type InputSpec, type LoadOptions } from './load.js';
export { DeployWatcher, type DeployDiffReport, type DeployWatcherOptions } from './deploy-watcher.js';
