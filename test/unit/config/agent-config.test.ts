import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  DEFAULT_DATA_DIR,
  parseDurationMs,
  parseFrequencyHz,
  parseIntegerOption,
  parseTimeUnixNs,
  resolveAgentConfig,
} from '../../../src/config/index.js';

function configFile(yaml: string): string {
  const p = join(mkdtempSync(join(tmpdir(), 'hotspan-cfg-')), 'hotspan.yaml');
  writeFileSync(p, yaml);
  return p;
}

describe('agent config: flags > HOTSPAN_* env > file > defaults', () => {
  it('defaults: 99 Hz, 10 s windows, /var/lib/hotspan, network on, query strings off', () => {
    const c = resolveAgentConfig({}, {});
    expect(c).toMatchObject({ frequencyHz: 99, windowMs: 10_000, dataDir: DEFAULT_DATA_DIR, network: true, keepQueryStrings: false, healthPort: 7070 });
  });

  it('each layer overrides the one below it, field by field', () => {
    const file = configFile('agent:\n  frequency: 49\n  dataDir: /from/file\n  window: 30s\n  network: false\nexporter:\n  endpoint: http://collector:4317\n');
    const fromFile = resolveAgentConfig({}, {}, file);
    expect(fromFile).toMatchObject({ frequencyHz: 49, dataDir: '/from/file', windowMs: 30_000, network: false });
    expect(fromFile.exporterFile).toEqual({ endpoint: 'http://collector:4317' });
    const fromEnv = resolveAgentConfig({}, { HOTSPAN_FREQUENCY: '199', HOTSPAN_NETWORK: 'on' }, file);
    expect(fromEnv).toMatchObject({ frequencyHz: 199, dataDir: '/from/file', network: true });
    const fromFlags = resolveAgentConfig({ frequencyHz: 999, dataDir: '/from/flag' }, { HOTSPAN_FREQUENCY: '199' }, file);
    expect(fromFlags).toMatchObject({ frequencyHz: 999, dataDir: '/from/flag', windowMs: 30_000 });
  });

  it('unwind: auto by default; file, HOTSPAN_UNWIND and --unwind in that order; only auto|off', () => {
    expect(resolveAgentConfig({}, {}).unwind).toBe('auto');
    const file = configFile('agent:\n  unwind: off\n');
    expect(resolveAgentConfig({}, {}, file).unwind).toBe('off');
    expect(resolveAgentConfig({}, {}, configFile('agent:\n  unwind: false\n')).unwind).toBe('off');
    expect(resolveAgentConfig({}, { HOTSPAN_UNWIND: 'AUTO' }, file).unwind).toBe('auto');
    expect(resolveAgentConfig({ unwind: 'off' }, { HOTSPAN_UNWIND: 'auto' }, file).unwind).toBe('off');
    expect(() => resolveAgentConfig({}, { HOTSPAN_UNWIND: 'dwarf' })).toThrow(/unwind must be auto or off \(got "dwarf"\)/);
  });

  it('names the bad setting', () => {
    expect(() => resolveAgentConfig({}, { HOTSPAN_FREQUENCY: '0' })).toThrow(/frequency must be an integer between 1 and 10000/);
    expect(() => resolveAgentConfig({}, { HOTSPAN_WINDOW: 'soon' })).toThrow(/invalid duration "soon"/);
    expect(() => parseIntegerOption('--pid', '12abc', 1, 100)).toThrow(/--pid must be an integer from 1 to 100 \(got "12abc"\)/);
    expect(parseDurationMs('1.5m')).toBe(90_000);
    expect(parseDurationMs('250ms')).toBe(250);
  });
});

describe('one parser and one check per kind of value', () => {
  it('frequency: flag, environment and config file get the same check and message', () => {
    const msg = /^frequency must be an integer between 1 and 10000 Hz \(got /;
    expect(() => parseFrequencyHz('12abc')).toThrow(msg);
    expect(() => parseFrequencyHz('0')).toThrow(msg);
    expect(() => resolveAgentConfig({}, { HOTSPAN_FREQUENCY: '10001' })).toThrow(msg);
    expect(() => resolveAgentConfig({}, {}, configFile('agent:\n  frequency: 2.5\n'))).toThrow(msg);
    expect(() => resolveAgentConfig({ frequencyHz: 0 }, {})).toThrow(msg);
    expect(() => parseFrequencyHz('fast')).toThrow(ConfigError);
    expect(parseFrequencyHz(' 499 ')).toBe(499);
    // A quoted number in YAML used to be ignored silently; now it is read.
    expect(resolveAgentConfig({}, {}, configFile("agent:\n  frequency: '199'\n")).frequencyHz).toBe(199);
  });

  it('--since/--until: an ISO time, or a duration back from now in the duration syntax', () => {
    const now = Date.parse('2026-11-22T10:00:00Z');
    expect(parseTimeUnixNs('2026-11-22T09:00:00Z', now)).toBe(BigInt(now - 3_600_000) * 1_000_000n);
    expect(parseTimeUnixNs('2h', now)).toBe(BigInt(now - 7_200_000) * 1_000_000n);
    expect(parseTimeUnixNs('1.5m', now)).toBe(BigInt(now - 90_000) * 1_000_000n);
    expect(parseTimeUnixNs('500ms', now)).toBe(BigInt(now - 500) * 1_000_000n);
    expect(() => parseTimeUnixNs('2x', now)).toThrow(/expected an ISO time or a duration like 2h, got "2x"/);
  });
});
