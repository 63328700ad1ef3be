/**
 * The script embedded in every HTML flame graph. Plain browser JavaScript kept as a string
 * so the page is one self-contained file (no network, no build step). It reads the JSON in
 * #flame-data: { title, diff, names, root: [nameIdx, baseTotal, baseSelf, headTotal,
 * headSelf, children], baseN, headN } and draws an icicle (root on top) of absolutely
 * positioned divs: click to zoom, search box to highlight, tooltips on hover.
 */
export const CLIENT_SCRIPT = String.raw`
(function () {
  var data = JSON.parse(document.getElementById('flame-data').textContent);
  var names = data.names, diffMode = data.diff;
  var baseN = data.baseN || 0, headN = data.headN || 0;
  var ROW_PX = 18;
  var chart = document.getElementById('chart');
  var tip = document.getElementById('tip');
  var search = document.getElementById('search');
  var matchedEl = document.getElementById('matched');
  function N(n) { return { name: names[n[0]], bt: n[1], bs: n[2], ht: n[3], hs: n[4], kids: n[5] || [], parent: null }; }
  function wrap(raw, parent) {
    var n = N(raw); n.parent = parent;
    n.kids = n.kids.map(function (k) { return wrap(k, n); });
    return n;
  }
  var root = wrap(data.root, null);
  // Width: share of samples. Diff: mean of the two sides' shares, so frames that exist on
  // one side only still get room.
  function weight(n) {
    if (!diffMode) return headN > 0 ? n.ht / headN : 0;
    return ((baseN > 0 ? n.bt / baseN : 0) + (headN > 0 ? n.ht / headN : 0)) / 2;
  }
  function delta(n) { return (headN > 0 ? n.ht / headN : 0) - (baseN > 0 ? n.bt / baseN : 0); }
  var maxDelta = 1e-9;
  (function walk(n) { var d = Math.abs(delta(n)); if (n.parent && d > maxDelta) maxDelta = d; n.kids.forEach(walk); })(root);
  function hash(s) { var h = 0; for (var i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0; return Math.abs(h); }
  function mix(a, b, t) { return Math.round(a + (b - a) * t); }
  function colour(n) {
    if (!diffMode) { var h = hash(n.name); return 'hsl(' + (10 + h % 40) + ',' + (70 + h % 20) + '%,' + (55 + h % 10) + '%)'; }
    // ColorBrewer RdBu end points (colour-blind safe): red grew, blue shrank.
    var d = delta(n), t = Math.min(1, Math.abs(d) / maxDelta);
    var to = d > 0 ? [178, 24, 43] : [33, 102, 172];
    return 'rgb(' + mix(247, to[0], t) + ',' + mix(247, to[1], t) + ',' + mix(247, to[2], t) + ')';
  }
  function pct(x) { return (x * 100).toFixed(2) + '%'; }
  function describe(n) {
    if (!diffMode) {
      return n.name + '\ntotal ' + n.ht + ' samples (' + pct(headN ? n.ht / headN : 0) + ')\nself ' + n.hs + ' samples (' + pct(headN ? n.hs / headN : 0) + ')';
    }
    var d = delta(n);
    return n.name + '\nbase: total ' + n.bt + ' (' + pct(baseN ? n.bt / baseN : 0) + '), self ' + n.bs +
      '\nhead: total ' + n.ht + ' (' + pct(headN ? n.ht / headN : 0) + '), self ' + n.hs +
      '\ndelta: ' + (d >= 0 ? '+' : '') + (d * 100).toFixed(2) + ' pp of total';
  }
  var zoomed = root, matchRe = null;
  function matches(n) { return matchRe !== null && matchRe.test(n.name); }
  function render() {
    chart.textContent = '';
    var width = chart.clientWidth || 1200, depth = 0, frag = document.createDocumentFragment();
    // Ancestors of the zoomed node span the full width.
    var chain = [];
    for (var a = zoomed.parent; a; a = a.parent) chain.unshift(a);
    chain.forEach(function (a) { draw(a, 0, 1, depth++, frag, width); });
    var total = weight(zoomed) || 1;
    (function lay(n, x, d) {
      var w = weight(n) / total;
      if (w * width < 0.5) return;
      draw(n, x, w, d, frag, width);
      var cx = x;
      n.kids.forEach(function (k) { lay(k, cx, d + 1); cx += weight(k) / total; });
    })(zoomed, 0, depth);
    chart.appendChild(frag);
    var maxTop = 0;
    chart.querySelectorAll('.frame').forEach(function (el) { maxTop = Math.max(maxTop, el.offsetTop); });
    chart.style.height = (maxTop + ROW_PX + 4) + 'px';
    updateMatched();
  }
  function draw(n, x, w, d, frag, width) {
    var el = document.createElement('div');
    el.className = 'frame' + (matches(n) ? ' match' : '');
    el.style.left = (x * 100) + '%';
    el.style.width = (w * 100) + '%';
    el.style.top = (d * ROW_PX) + 'px';
    el.style.background = matches(n) ? '' : colour(n);
    el.textContent = w * width > 28 ? n.name : '';
    el.setAttribute('data-name', n.name);
    el.addEventListener('click', function () { zoomed = n; render(); });
    el.addEventListener('mousemove', function (ev) {
      tip.textContent = describe(n); tip.style.display = 'block';
      tip.style.left = Math.min(ev.pageX + 12, window.innerWidth - 320) + 'px'; tip.style.top = (ev.pageY + 14) + 'px';
    });
    el.addEventListener('mouseleave', function () { tip.style.display = 'none'; });
    frag.appendChild(el);
  }
  function updateMatched() {
    if (matchRe === null) { matchedEl.textContent = ''; return; }
    var sum = 0;
    // A match under a matching ancestor is already counted in that ancestor's total.
    (function walk(n, covered) {
      var m = !covered && n.parent !== null && matches(n);
      if (m) sum += weight(n);
      n.kids.forEach(function (k) { walk(k, covered || m); });
    })(root, false);
    matchedEl.textContent = 'Matched: ' + pct(sum);
  }
  search.addEventListener('input', function () {
    var q = search.value;
    if (q === '') matchRe = null;
    else { try { matchRe = new RegExp(q, 'i'); } catch (e) { matchRe = new RegExp(q.replace(/[.*+?^$()|[\]\\{}]/g, '\\$&'), 'i'); } }
    render();
  });
  document.getElementById('reset').addEventListener('click', function () { zoomed = root; render(); });
  window.addEventListener('resize', render);
  render();
})();
`;
