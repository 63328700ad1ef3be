// Flame graph (icicle, root on top) of a packed call tree from /api/v1/profile or /api/v1/diff:
// node = [name index, base total, base self, head total, head self, children]. Frames are divs
// whose text is set with textContent only: names come from binaries and the network.
// Click zooms, the search box highlights matches (regex or plain text), hover shows a tooltip.
// The one flame-graph renderer: the web UI loads it as /flame.js, and every standalone HTML
// file (`hotspan flamegraph --format html`) embeds this same file with its own controls.
(function () {
  'use strict';
  var ROW_PX = 18;
  var MIN_PX = 0.6; // narrower frames are not drawn (and neither are their children)

  function el(tag, cls) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    return e;
  }
  function pct(x) {
    return (x * 100).toFixed(2) + '%';
  }
  function hash(s) {
    var h = 0;
    for (var i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0;
    return Math.abs(h);
  }

  function render(host, data, opts) {
    opts = opts || {};
    var names = data.names,
      diffMode = !!opts.diff;
    var label = opts.labels || { base: 'before', head: 'after', change: 'change' };
    var baseN = data.root[1],
      headN = data.root[3];
    function wrap(raw, parent) {
      var n = { name: names[raw[0]], bt: raw[1], bs: raw[2], ht: raw[3], hs: raw[4], parent: parent, kids: null };
      n.kids = raw[5].map(function (k) {
        return wrap(k, n);
      });
      return n;
    }
    var root = wrap(data.root, null);
    function weight(n) {
      if (!diffMode) return headN > 0 ? n.ht / headN : 0;
      return ((baseN > 0 ? n.bt / baseN : 0) + (headN > 0 ? n.ht / headN : 0)) / 2;
    }
    function delta(n) {
      return (headN > 0 ? n.ht / headN : 0) - (baseN > 0 ? n.bt / baseN : 0);
    }
    var maxDelta = 1e-9;
    (function walk(n) {
      var d = Math.abs(delta(n));
      if (n.parent && d > maxDelta) maxDelta = d;
      n.kids.forEach(walk);
    })(root);
    function mix(a, b, t) {
      return Math.round(a + (b - a) * t);
    }
    function colour(n) {
      if (!diffMode) {
        var h = hash(n.name);
        if (n.name.indexOf('[k]') >= 0 || /^(__|asm_|entry_|do_syscall)/.test(n.name)) return 'hsl(' + (190 + (h % 30)) + ',55%,' + (68 + (h % 10)) + '%)';
        return 'hsl(' + (12 + (h % 38)) + ',' + (72 + (h % 18)) + '%,' + (58 + (h % 10)) + '%)';
      }
      var d = delta(n),
        t = Math.min(1, Math.abs(d) / maxDelta);
      var to = d > 0 ? [178, 24, 43] : [33, 102, 172];
      return 'rgb(' + mix(247, to[0], t) + ',' + mix(247, to[1], t) + ',' + mix(247, to[2], t) + ')';
    }
    function describe(n) {
      if (!diffMode) {
        return (
          n.name + '\ntotal ' + n.ht + ' samples (' + pct(headN ? n.ht / headN : 0) + ')\nself ' + n.hs + ' samples (' + pct(headN ? n.hs / headN : 0) + ')'
        );
      }
      var d = delta(n);
      return (
        n.name +
        '\n' +
        label.base +
        ': total ' +
        n.bt +
        ' (' +
        pct(baseN ? n.bt / baseN : 0) +
        '), self ' +
        n.bs +
        '\n' +
        label.head +
        ': total ' +
        n.ht +
        ' (' +
        pct(headN ? n.ht / headN : 0) +
        '), self ' +
        n.hs +
        '\n' +
        label.change +
        ': ' +
        (d >= 0 ? '+' : '') +
        (d * 100).toFixed(2) +
        ' pp of total'
      );
    }

    // The page may bring its own search box, matched-share label and reset button (a standalone
    // HTML file has them in its header); otherwise they are built above the chart.
    var ctl = opts.controls || {};
    var search = ctl.search,
      matched = ctl.matched,
      reset = ctl.reset;
    host.textContent = '';
    if (!search) {
      var tools = el('div', 'flame-tools');
      search = el('input');
      search.type = 'search';
      search.placeholder = 'Search functions (regex)';
      search.setAttribute('aria-label', 'Search functions');
      matched = el('span', 'muted matched');
      reset = el('button');
      reset.type = 'button';
      reset.textContent = 'Reset zoom';
      tools.appendChild(search);
      tools.appendChild(matched);
      tools.appendChild(reset);
      if (diffMode) {
        var lg = el('span', 'legend');
        [
          ['grew', 'grew'],
          ['same', 'same'],
          ['shrank', 'shrank'],
        ].forEach(function (x) {
          var s = el('span', x[0]);
          s.textContent = x[1];
          lg.appendChild(s);
        });
        tools.appendChild(lg);
      }
      host.appendChild(tools);
    }
    var chart = el('div', 'flame');
    if (ctl.chartId) chart.id = ctl.chartId;
    host.appendChild(chart);
    var tip = document.getElementById('tip');
    var zoomed = root,
      matchRe = null;
    function matches(n) {
      return matchRe !== null && n.parent !== null && matchRe.test(n.name);
    }

    function draw() {
      var t0 = performance.now();
      chart.textContent = '';
      var width = chart.clientWidth || 1000,
        depth = 0,
        maxDepth = 0;
      var frag = document.createDocumentFragment();
      var chain = [];
      for (var a = zoomed.parent; a; a = a.parent) chain.unshift(a);
      chain.forEach(function (a) {
        box(a, 0, 1, depth++, true);
      });
      var total = weight(zoomed) || 1;
      (function lay(n, x, d) {
        var w = weight(n) / total;
        if (w * width < MIN_PX) return;
        box(n, x, w, d, false);
        if (d > maxDepth) maxDepth = d;
        var cx = x;
        for (var i = 0; i < n.kids.length; i++) {
          var k = n.kids[i];
          lay(k, cx, d + 1);
          cx += weight(k) / total;
        }
      })(zoomed, 0, depth);
      function box(n, x, w, d, dim) {
        var e = el('div', 'frame' + (matches(n) ? ' match' : '') + (dim ? ' dim' : ''));
        e.style.left = x * 100 + '%';
        e.style.width = w * 100 + '%';
        e.style.top = d * ROW_PX + 'px';
        e.style.background = colour(n);
        if (w * width > 30) e.textContent = n.name;
        e.setAttribute('data-name', n.name);
        e._node = n;
        frag.appendChild(e);
      }
      chart.appendChild(frag);
      chart.style.height = (Math.max(maxDepth, depth) + 1) * ROW_PX + 4 + 'px';
      updateMatched();
      host.setAttribute('data-render-ms', String(Math.round(performance.now() - t0)));
    }
    // One listener for all frames: 10k frames do not need 30k closures.
    chart.addEventListener('click', function (ev) {
      var n = ev.target._node;
      if (n) {
        zoomed = n;
        draw();
      }
    });
    chart.addEventListener('mousemove', function (ev) {
      var n = ev.target._node;
      if (!n) {
        tip.style.display = 'none';
        return;
      }
      tip.textContent = describe(n);
      tip.style.display = 'block';
      tip.style.left = Math.min(ev.clientX + 14, window.innerWidth - 430) + 'px';
      tip.style.top = Math.min(ev.clientY + 16, window.innerHeight - 90) + 'px';
    });
    chart.addEventListener('mouseleave', function () {
      tip.style.display = 'none';
    });
    function updateMatched() {
      if (matchRe === null) {
        matched.textContent = '';
        return;
      }
      var sum = 0;
      // A match below a matching ancestor is already inside that ancestor's total.
      (function walk(n, covered) {
        var m = !covered && matches(n);
        if (m) sum += weight(n);
        n.kids.forEach(function (k) {
          walk(k, covered || m);
        });
      })(root, false);
      matched.textContent = 'Matched: ' + pct(sum);
    }
    function setSearch(q) {
      search.value = q;
      if (q === '') matchRe = null;
      else {
        try {
          matchRe = new RegExp(q, 'i');
        } catch (e) {
          matchRe = new RegExp(q.replace(/[.*+?^$()|[\]\\{}]/g, '\\$&'), 'i');
        }
      }
      draw();
      if (opts.onSearch) opts.onSearch(matchRe);
    }
    search.addEventListener('input', function () {
      setSearch(search.value);
    });
    reset.addEventListener('click', function () {
      zoomed = root;
      draw();
    });
    var resizeTimer = null;
    window.addEventListener('resize', function () {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(function () {
        if (chart.isConnected) draw();
      }, 100);
    });
    draw();
    return { setSearch: setSearch, redraw: draw };
  }

  window.HotspanFlame = { render: render };
})();
