import { describe, expect, it } from 'vitest';
import { diff, fromFolded, renderDiffHtml, renderDiffTable, renderHtml, renderSvg, renderTopTable } from '../../../src/flamegraph/index.js';

const base = fromFolded('main;a 50\nmain;b 50\n');
const head = fromFolded('main;a 50\nmain;b 50\nmain;c 50\n');

describe('renderings', () => {
  it('top table lists frames by self samples with shares', () => {
    const t = renderTopTable(head, { top: 2 });
    const lines = t.trim().split('\n');
    expect(lines[0]).toBe('150 samples');
    expect(lines).toHaveLength(4);
    expect(lines[2]).toMatch(/^\s*50\s+33\.33%\s+50\s+33\.33%\s+a$/);
  });

  it('diff table names regressions, improvements and the thresholds', () => {
    const t = renderDiffTable(diff(fromFolded('main;a 500\nmain;b 500\n'), fromFolded('main;a 500\nmain;b 500\nmain;c 500\n')));
    expect(t).toMatch(/Regressions \(1\):[\s\S]*\+33\.33pp[\s\S]*new\s+c\n/);
    expect(t).toMatch(/Improvements \(2\):/);
    expect(t).toContain('|z| ≥ 3.29');
  });

  it('SVG has one rect per visible node, widths proportional to samples', () => {
    const svg = renderSvg(head, { widthPx: 900 });
    const rects = [...svg.matchAll(/<rect x="([\d.]+)" y="\d+" width="([\d.]+)"/g)].map((m) => Number(m[2]));
    expect(rects).toEqual([900, 900, 300, 300, 300]);
    expect(svg).toContain('<title>c\ntotal 50 (33.33%), self 50</title>');
  });

  it('differential SVG colours the new frame at full red', () => {
    const svg = renderSvg(head, { base });
    expect(svg).toMatch(/<title>c\n[^<]*delta 33\.33 pp<\/title><rect [^>]*fill="rgb\(178,24,43\)"/);
  });

  it('HTML is self-contained and cannot be broken out of by a frame name', () => {
    const html = renderHtml(fromFolded('main;</script><img src=x onerror=alert(1)> 3\n'));
    expect(html).not.toMatch(/<script src|<link |https?:\/\//);
    expect(html.match(/<\/script>/g)).toHaveLength(2);
    expect(renderDiffHtml(base, head)).toContain('"diff":true');
  });
});
