// hotspan's node UI: a hash-routed single page over /api/v1. Every string from the API is put in
// the page with textContent or as an attribute value via the DOM (h() below), never as markup.
(function () {
  'use strict';
  var main = document.getElementById('main');
  var rangeSel = document.getElementById('range');

  // Span names are `{method}` (semconv); the route, the framework's or the one hotspan inferred,
  // goes beside it for people, as `hotspan spans` prints it.
  function spanTitle(s) {
    return s.httpRoute && s.name.indexOf(' ') < 0 && s.name.indexOf('/') < 0 ? s.name + ' ' + s.httpRoute : s.name;
  }

  // ---- DOM helpers: children that are strings become text nodes ----
  function h(tag, attrs) {
    var e = document.createElement(tag);
    if (attrs)
      for (var k in attrs) {
        var v = attrs[k];
        if (v === undefined || v === null || v === false) continue;
        if (k === 'class') e.className = v;
        else if (k === 'on') for (var ev in v) e.addEventListener(ev, v[ev]);
        else e.setAttribute(k, String(v));
      }
    for (var i = 2; i < arguments.length; i++) add(e, arguments[i]);
    return e;
  }
  function add(e, c) {
    if (c === undefined || c === null || c === false) return;
    if (Array.isArray(c)) {
      c.forEach(function (x) {
        add(e, x);
      });
      return;
    }
    e.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  function show() {
    main.textContent = '';
    for (var i = 0; i < arguments.length; i++) add(main, arguments[i]);
  }

  // ---- formatting ----
  function ms(ns) {
    return (Number(ns) / 1e6).toFixed(1) + ' ms';
  }
  function fmtMs(x) {
    return x === null || x === undefined ? '–' : x.toFixed(1) + ' ms';
  }
  function pct(x) {
    return (x * 100).toFixed(1) + '%';
  }
  function pp(x) {
    return (x >= 0 ? '+' : '') + (x * 100).toFixed(2) + ' pp';
  }
  function time(ns) {
    var d = new Date(Number(BigInt(ns) / 1000000n));
    return d.toLocaleTimeString() + '.' + String(d.getMilliseconds()).padStart(3, '0');
  }
  function dateTime(ns) {
    return new Date(Number(BigInt(ns) / 1000000n)).toLocaleString();
  }
  function bytes(n) {
    var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'],
      i = 0;
    while (n >= 1024 && i < u.length - 1) {
      n /= 1024;
      i++;
    }
    return n.toFixed(i ? 1 : 0) + ' ' + u[i];
  }
  function link(href, text) {
    return h('a', { href: href }, text);
  }
  function q(params) {
    var s = new URLSearchParams();
    for (var k in params) if (params[k] !== undefined && params[k] !== '') s.set(k, params[k]);
    var t = s.toString();
    return t ? '?' + t : '';
  }

  // ---- API ----
  function token() {
    try {
      return sessionStorage.getItem('hotspan.token') || '';
    } catch (e) {
      return '';
    }
  }
  function api(path, params, raw) {
    var headers = {};
    if (token()) headers.authorization = 'Bearer ' + token();
    return fetch('/api/v1/' + path + q(params || {}), { headers: headers }).then(function (r) {
      if (r.status === 401) throw { auth: true, message: 'This agent wants a token (HOTSPAN_UI_TOKEN).' };
      if (!r.ok)
        return r.json().then(
          function (j) {
            throw { message: j.error ? j.error.message : r.statusText };
          },
          function () {
            throw { message: r.status + ' ' + r.statusText };
          },
        );
      return raw ? r.blob() : r.json();
    });
  }
  function fail(e) {
    var box = h('div', { class: 'err' }, e && e.message ? e.message : String(e));
    if (e && e.auth) {
      var input = h('input', { type: 'password', placeholder: 'token', 'aria-label': 'token' });
      box = h(
        'div',
        null,
        box,
        h(
          'p',
          null,
          input,
          ' ',
          h(
            'button',
            {
              type: 'button',
              on: {
                click: function () {
                  sessionStorage.setItem('hotspan.token', input.value);
                  route();
                },
              },
            },
            'Use token',
          ),
        ),
      );
    }
    show(box);
  }
  function loading(what) {
    show(h('p', { class: 'muted' }, 'Loading ' + what + '…'));
  }

  // ---- sortable table: columns [{label, get, num, fmt, cls, sort}] ----
  function table(cols, rows, opts) {
    opts = opts || {};
    var sortIdx = opts.sortIdx === undefined ? -1 : opts.sortIdx;
    var tbody = h('tbody');
    var ths = cols.map(function (c, i) {
      return h(
        'th',
        {
          class: (c.num ? 'num ' : '') + (c.sort === false ? '' : 'sortable') + (i === sortIdx ? ' sorted' : ''),
          scope: 'col',
          on: {
            click: function () {
              if (c.sort === false) return;
              sortIdx = i;
              ths.forEach(function (t, j) {
                t.classList.toggle('sorted', j === i);
              });
              fill();
            },
          },
        },
        c.label,
      );
    });
    function fill() {
      var rs = rows.slice();
      if (sortIdx >= 0) {
        var c = cols[sortIdx];
        rs.sort(function (a, b) {
          var x = c.get(a),
            y = c.get(b);
          return c.num ? y - x : String(x).localeCompare(String(y));
        });
      }
      tbody.textContent = '';
      rs.slice(0, opts.max || 500).forEach(function (r) {
        var tr = h(
          'tr',
          { class: opts.onRow ? 'clickable' : '' },
          cols.map(function (c) {
            var v = c.fmt ? c.fmt(r) : c.get(r);
            return h('td', { class: (c.num ? 'num ' : '') + (c.cls || '') }, v);
          }),
        );
        if (opts.onRow)
          tr.addEventListener('click', function (ev) {
            if (ev.target.tagName !== 'A') opts.onRow(r);
          });
        if (opts.rowAttrs) {
          var a = opts.rowAttrs(r);
          for (var k in a) tr.setAttribute(k, a[k]);
        }
        tbody.appendChild(tr);
      });
      if (rs.length === 0) tbody.appendChild(h('tr', null, h('td', { colspan: cols.length, class: 'muted' }, opts.empty || 'Nothing in this range.')));
    }
    fill();
    var t = h('table', { class: opts.cls || '' }, h('thead', null, h('tr', null, ths)), tbody);
    t._refill = fill;
    t._tbody = tbody;
    return t;
  }

  // ---- flame graph + top functions, side by side ----
  function flameWithTop(view, opts) {
    opts = opts || {};
    var flameHost = h('div', { class: 'flame-host' });
    var n = opts.diff ? null : view.totalSamples;
    var topRows = view.top || [];
    var topTable = table(
      [
        {
          label: 'Function',
          get: function (r) {
            return r.name;
          },
          cls: 'name',
        },
        {
          label: 'Self',
          get: function (r) {
            return r.selfSamples;
          },
          num: true,
        },
        {
          label: 'Self %',
          get: function (r) {
            return n ? r.selfSamples / n : 0;
          },
          num: true,
          fmt: function (r) {
            return pct(n ? r.selfSamples / n : 0);
          },
        },
        {
          label: 'Total',
          get: function (r) {
            return r.totalSamples;
          },
          num: true,
        },
        {
          label: 'Total %',
          get: function (r) {
            return n ? r.totalSamples / n : 0;
          },
          num: true,
          fmt: function (r) {
            return pct(n ? r.totalSamples / n : 0);
          },
        },
      ],
      topRows,
      {
        sortIdx: 1,
        cls: 'top-functions',
        max: 300,
        onRow: function (r) {
          ctl.setSearch('^' + r.name.replace(/[.*+?^$()|[\]\\{}]/g, '\\$&') + '$');
        },
      },
    );
    var layout = h(
      'div',
      { class: opts.diff ? '' : 'flame-layout' },
      h('div', { class: 'card' }, flameHost),
      opts.diff ? null : h('div', { class: 'card' }, h('h2', { style: null }, 'Top functions'), h('div', { class: 'top-table' }, topTable)),
    );
    var ctl = null;
    // Rendered once the host is in the page (it needs a width).
    layout._mount = function () {
      ctl = window.HotspanFlame.render(flameHost, view, {
        diff: !!opts.diff,
        onSearch: function (re) {
          Array.prototype.forEach.call(topTable._tbody.children, function (tr) {
            var name = tr.firstChild && tr.firstChild.textContent;
            tr.classList.toggle('hit', !!re && re.test(name));
          });
        },
      });
    };
    return layout;
  }
  function mount(x) {
    if (x && x._mount) x._mount();
  }

  // ---- pages ----
  function since() {
    return rangeSel.value;
  }

  function servicesPage() {
    loading('services');
    api('services', { from: since() }).then(function (r) {
      var t = table(
        [
          {
            label: 'Service',
            get: function (s) {
              return s.service;
            },
            cls: 'name',
            fmt: function (s) {
              return link('#/profile' + q({ service: s.service }), s.service || '(unnamed)');
            },
          },
          {
            label: 'CPU (cores)',
            get: function (s) {
              return s.cpuCores;
            },
            num: true,
            fmt: function (s) {
              return s.cpuCores.toFixed(3);
            },
          },
          {
            label: 'Requests/s',
            get: function (s) {
              return s.requestsPerSec;
            },
            num: true,
            fmt: function (s) {
              return s.requests ? s.requestsPerSec.toFixed(2) : '–';
            },
          },
          {
            label: 'Errors',
            get: function (s) {
              return s.errorRate;
            },
            num: true,
            fmt: function (s) {
              return s.requests ? pct(s.errorRate) : '–';
            },
          },
          {
            label: 'p50',
            get: function (s) {
              return s.p50Ms || 0;
            },
            num: true,
            fmt: function (s) {
              return fmtMs(s.p50Ms);
            },
          },
          {
            label: 'p95',
            get: function (s) {
              return s.p95Ms || 0;
            },
            num: true,
            fmt: function (s) {
              return fmtMs(s.p95Ms);
            },
          },
          {
            label: 'p99',
            get: function (s) {
              return s.p99Ms || 0;
            },
            num: true,
            fmt: function (s) {
              return fmtMs(s.p99Ms);
            },
          },
          {
            label: 'Spans',
            get: function (s) {
              return s.requests;
            },
            num: true,
            fmt: function (s) {
              return s.requests ? link('#/spans' + q({ service: s.service }), String(s.requests)) : '–';
            },
          },
        ],
        r.services,
        { sortIdx: 1, cls: 'services' },
      );
      show(
        h('h1', null, 'Services on this node'),
        h(
          'p',
          { class: 'sub' },
          'CPU from the profiler (all processes), requests from captured HTTP/gRPC server spans, ' + since() + '. Click a service for its flame graph.',
        ),
        h('div', { class: 'card' }, t),
      );
    }, fail);
  }

  function spansPage(params) {
    var service = h('input', { value: params.get('service') || '', placeholder: 'any', 'aria-label': 'service' });
    var routeIn = h('input', { value: params.get('route') || '', placeholder: 'any (e.g. /checkout)', 'aria-label': 'route' });
    var status = h(
      'select',
      { 'aria-label': 'status' },
      ['any', 'error', 'ok'].map(function (s) {
        return h('option', { value: s, selected: params.get('status') === s ? 'selected' : null }, s);
      }),
    );
    var limit = h('input', { type: 'number', min: 1, max: 10000, value: params.get('limit') || '50', 'aria-label': 'limit' });
    function apply() {
      location.hash = '#/spans' + q({ service: service.value, route: routeIn.value, status: status.value === 'any' ? '' : status.value, limit: limit.value });
    }
    var filters = h(
      'form',
      {
        class: 'filters',
        on: {
          submit: function (e) {
            e.preventDefault();
            apply();
          },
        },
      },
      h('label', null, 'Service', service),
      h('label', null, 'Route / name', routeIn),
      h('label', null, 'Status', status),
      h('label', null, 'Show', limit),
      h('button', { type: 'submit' }, 'Apply'),
    );
    show(h('h1', null, 'Slowest requests'), filters, h('p', { class: 'muted' }, 'Loading…'));
    api('spans', {
      since: since(),
      service: params.get('service') || undefined,
      route: params.get('route') || undefined,
      status: params.get('status') || undefined,
      limit: params.get('limit') || '50',
    }).then(function (r) {
      var t = table(
        [
          {
            label: 'Duration',
            get: function (s) {
              return Number(s.durationNs);
            },
            num: true,
            fmt: function (s) {
              return ms(s.durationNs);
            },
          },
          {
            label: 'CPU',
            get: function (s) {
              return s.cpuTimeS || 0;
            },
            num: true,
            fmt: function (s) {
              return s.cpuTimeS === null ? '–' : (s.cpuTimeS * 1000).toFixed(1) + ' ms';
            },
          },
          {
            label: 'CPU %',
            get: function (s) {
              return s.cpuTimeS ? (s.cpuTimeS * 1e9) / Number(s.durationNs) : 0;
            },
            num: true,
            fmt: function (s) {
              return s.cpuTimeS === null || Number(s.durationNs) === 0 ? '–' : pct((s.cpuTimeS * 1e9) / Number(s.durationNs));
            },
          },
          {
            label: 'Request',
            get: function (s) {
              return spanTitle(s);
            },
            cls: 'name',
            fmt: function (s) {
              return link('#/span/' + encodeURIComponent(s.spanId), spanTitle(s));
            },
          },
          {
            label: 'Status',
            get: function (s) {
              return s.httpStatusCode || s.statusCode;
            },
            num: true,
            fmt: function (s) {
              return statusPill(s);
            },
          },
          {
            label: 'Service',
            get: function (s) {
              return s.service;
            },
            cls: 'name',
          },
          {
            label: 'Started',
            get: function (s) {
              return Number(BigInt(s.startUnixNs) / 1000000n);
            },
            num: true,
            fmt: function (s) {
              return time(s.startUnixNs);
            },
          },
          {
            label: 'Hottest function',
            get: function (s) {
              return String(s.attributes['hotspan.cpu.hottest_function'] || '');
            },
            cls: 'name',
          },
        ],
        r.spans,
        {
          sortIdx: 0,
          cls: 'spans',
          onRow: function (s) {
            location.hash = '#/span/' + encodeURIComponent(s.spanId);
          },
          empty: 'No server spans in this range.',
        },
      );
      main.lastChild.replaceWith(h('div', { class: 'card' }, t));
    }, fail);
  }

  function statusPill(s) {
    var bad = s.statusCode === 2 || (s.httpStatusCode || 0) >= 500;
    return h(
      'span',
      { class: 'pill ' + (bad ? 'bad' : 'good') },
      s.httpStatusCode !== null && s.httpStatusCode !== undefined ? String(s.httpStatusCode) : ['unset', 'ok', 'error'][s.statusCode] || String(s.statusCode),
    );
  }

  function spanPage(id) {
    loading('span ' + id);
    Promise.all([api('spans/' + encodeURIComponent(id)), api('profile', { span_id: id })]).then(function (res) {
      var s = res[0].span,
        trace = res[0].trace,
        prof = res[1];
      var attrs = Object.keys(s.attributes)
        .sort()
        .map(function (k) {
          return { k: k, v: s.attributes[k] };
        });
      var fields = [
        ['name', s.name],
        ['service', s.service + (s.serviceVersion ? ' ' + s.serviceVersion : '')],
        ['duration', ms(s.durationNs)],
        ['CPU sampled', s.cpuTimeS === null ? '–' : (s.cpuTimeS * 1000).toFixed(1) + ' ms'],
        ['started', dateTime(s.startUnixNs)],
        ['trace id', s.traceId],
        ['span id', s.spanId],
        ['parent span id', s.parentSpanId || '(root)'],
        ['pid', s.pid],
      ];
      var kv = h(
        'table',
        { class: 'kv' },
        h(
          'tbody',
          null,
          fields.map(function (f) {
            return h('tr', null, h('td', null, f[0]), h('td', null, f[1] === null ? '–' : String(f[1])));
          }),
          attrs.map(function (a) {
            return h('tr', null, h('td', null, a.k), h('td', null, typeof a.v === 'string' ? a.v : JSON.stringify(a.v)));
          }),
        ),
      );
      var traceTable = table(
        [
          {
            label: 'Span',
            get: function (t) {
              return t.name;
            },
            cls: 'name',
            fmt: function (t) {
              return t.spanId === s.spanId ? h('b', null, t.name) : link('#/span/' + encodeURIComponent(t.spanId), t.name);
            },
          },
          {
            label: 'Kind',
            get: function (t) {
              return t.kind;
            },
            num: true,
            fmt: function (t) {
              return ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'][t.kind] || String(t.kind);
            },
          },
          {
            label: 'Service',
            get: function (t) {
              return t.service;
            },
            cls: 'name',
          },
          {
            label: 'Start',
            get: function (t) {
              return Number(BigInt(t.startUnixNs) / 1000000n);
            },
            num: true,
            fmt: function (t) {
              return time(t.startUnixNs);
            },
          },
          {
            label: 'Duration',
            get: function (t) {
              return Number(t.durationNs);
            },
            num: true,
            fmt: function (t) {
              return ms(t.durationNs);
            },
          },
          {
            label: 'CPU',
            get: function (t) {
              return t.cpuTimeS || 0;
            },
            num: true,
            fmt: function (t) {
              return t.cpuTimeS === null ? '–' : (t.cpuTimeS * 1000).toFixed(1) + ' ms';
            },
          },
        ],
        trace,
        { cls: 'trace', sortIdx: -1 },
      );
      var dl = h(
        'button',
        {
          type: 'button',
          on: {
            click: function () {
              api('profile', { span_id: s.spanId, format: 'pprof' }, true).then(function (blob) {
                var a = h('a', { href: URL.createObjectURL(blob), download: 'span-' + s.spanId + '.pb.gz' });
                document.body.appendChild(a);
                a.click();
                a.remove();
              }, fail);
            },
          },
        },
        'Download pprof',
      );
      var flame =
        prof.totalSamples > 0
          ? flameWithTop(prof)
          : h('p', { class: 'muted' }, 'No CPU samples were taken while this request ran (shorter than one sampling period, or it waited without running).');
      show(
        h('h1', null, spanTitle(s)),
        h('p', { class: 'sub' }, s.service + ' · ' + ms(s.durationNs) + ' · ' + prof.totalSamples + ' CPU samples'),
        h('h2', null, 'CPU of this request ', dl),
        flame,
        h(
          'div',
          { class: 'grid2' },
          h('div', null, h('h2', null, 'Attributes'), h('div', { class: 'card' }, kv)),
          h('div', null, h('h2', null, 'Spans of this trace on this node'), h('div', { class: 'card' }, traceTable)),
        ),
      );
      mount(flame);
    }, fail);
  }

  function profilePage(params) {
    var sel = {
      service: params.get('service') || undefined,
      pid: params.get('pid') || undefined,
      version: params.get('version') || undefined,
      trace_id: params.get('trace_id') || undefined,
    };
    var service = h('input', { value: sel.service || '', placeholder: 'all services', 'aria-label': 'service' });
    var filters = h(
      'form',
      {
        class: 'filters',
        on: {
          submit: function (e) {
            e.preventDefault();
            location.hash = '#/profile' + q({ service: service.value });
          },
        },
      },
      h('label', null, 'Service', service),
      h('button', { type: 'submit' }, 'Show'),
    );
    var title = sel.trace_id ? 'Trace ' + sel.trace_id : sel.service ? sel.service : 'Every process on this node';
    show(h('h1', null, 'CPU flame graph: ', title), filters, h('p', { class: 'muted' }, 'Loading…'));
    var p = { service: sel.service, pid: sel.pid, version: sel.version, trace_id: sel.trace_id };
    if (!sel.trace_id) p.from = since();
    api('profile', p).then(function (prof) {
      var body = prof.totalSamples > 0 ? flameWithTop(prof) : h('p', { class: 'muted' }, 'No CPU samples in this range.');
      main.lastChild.replaceWith(h('div', null, h('p', { class: 'sub' }, prof.totalSamples + ' samples, ' + (prof.cpuNs / 1e9).toFixed(2) + ' CPU s'), body));
      mount(body);
    }, fail);
  }

  function diffTables(d) {
    function rows(list) {
      return table(
        [
          {
            label: 'Function',
            get: function (f) {
              return f.name;
            },
            cls: 'name',
          },
          {
            label: 'Change',
            get: function (f) {
              return f.change;
            },
          },
          {
            label: 'Self before',
            get: function (f) {
              return f.base.selfShare;
            },
            num: true,
            fmt: function (f) {
              return pct(f.base.selfShare);
            },
          },
          {
            label: 'Self after',
            get: function (f) {
              return f.head.selfShare;
            },
            num: true,
            fmt: function (f) {
              return pct(f.head.selfShare);
            },
          },
          {
            label: 'Δ self',
            get: function (f) {
              return f.deltaSelfShare;
            },
            num: true,
            fmt: function (f) {
              return pp(f.deltaSelfShare);
            },
          },
          {
            label: 'Δ total',
            get: function (f) {
              return f.deltaTotalShare;
            },
            num: true,
            fmt: function (f) {
              return pp(f.deltaTotalShare);
            },
          },
          {
            label: 'z (self)',
            get: function (f) {
              return Math.abs(f.zSelf);
            },
            num: true,
            fmt: function (f) {
              return isFinite(f.zSelf) ? f.zSelf.toFixed(1) : '∞';
            },
          },
        ],
        list,
        { cls: 'diff', empty: 'None significant.' },
      );
    }
    return h(
      'div',
      { class: 'grid2' },
      h('div', null, h('h2', null, 'Top regressions'), h('div', { class: 'card regressions' }, rows(d.regressions))),
      h('div', null, h('h2', null, 'Top improvements'), h('div', { class: 'card improvements' }, rows(d.improvements))),
    );
  }

  function deploysPage() {
    loading('deploys');
    api('deploys').then(function (r) {
      var t = table(
        [
          {
            label: 'When',
            get: function (d) {
              return Number(BigInt(d.deployedAtUnixNs) / 1000000n);
            },
            num: true,
            fmt: function (d) {
              return dateTime(d.deployedAtUnixNs);
            },
          },
          {
            label: 'Service',
            get: function (d) {
              return d.service;
            },
            cls: 'name',
            fmt: function (d) {
              return link('#/deploy/' + encodeURIComponent(d.id), d.service);
            },
          },
          {
            label: 'From → to',
            get: function (d) {
              return d.fromVersion;
            },
            cls: 'name',
            fmt: function (d) {
              return d.fromVersion + ' → ' + d.toVersion;
            },
          },
          {
            label: 'Regressions',
            get: function (d) {
              return d.regressions.length;
            },
            num: true,
          },
          {
            label: 'Top regression',
            get: function (d) {
              return d.regressions[0] ? d.regressions[0].name : '';
            },
            cls: 'name',
            fmt: function (d) {
              return d.regressions[0] ? d.regressions[0].name + ' (' + pp(d.regressions[0].deltaSelfShare) + ')' : '–';
            },
          },
        ],
        r.deploys,
        {
          sortIdx: 0,
          cls: 'deploys',
          onRow: function (d) {
            location.hash = '#/deploy/' + encodeURIComponent(d.id);
          },
          empty: 'No deploy seen since this agent started (a new build id or service.version of a running service is a deploy).',
        },
      );
      show(
        h('h1', null, 'Deploys'),
        h('p', { class: 'sub' }, 'Each row compares the new version against the old one: share of CPU per function, with a significance test.'),
        h('div', { class: 'card' }, t),
      );
    }, fail);
  }

  function deployPage(id) {
    loading('deploy');
    api('deploys/' + encodeURIComponent(id)).then(function (d) {
      var flame = flameWithTop({ names: d.names, root: d.root }, { diff: true });
      show(
        h('h1', null, 'Deploy of ' + d.service),
        h(
          'p',
          { class: 'sub' },
          d.fromVersion + ' → ' + d.toVersion + ' at ' + dateTime(d.deployedAtUnixNs) + ' · before ' + d.baseSamples + ' samples, after ' + d.headSamples,
        ),
        diffTables(d),
        h('h2', null, 'Differential flame graph (width: average share; red grew, blue shrank)'),
        flame,
      );
      mount(flame);
    }, fail);
  }

  function flowsPage() {
    loading('flows');
    api('flows', { since: since() }).then(function (r) {
      function peer(x) {
        return x.role === 'server' ? ':' + x.serverPort + ' (serving)' : (x.serverAddress || '?') + ':' + x.serverPort;
      }
      var talkers = table(
        [
          {
            label: 'Process',
            get: function (x) {
              return x.process;
            },
            cls: 'name',
          },
          {
            label: 'Peer',
            get: function (x) {
              return peer(x);
            },
            cls: 'name',
          },
          {
            label: 'Direction',
            get: function (x) {
              return x.direction;
            },
          },
          {
            label: 'Bytes',
            get: function (x) {
              return x.value;
            },
            num: true,
            fmt: function (x) {
              return bytes(x.value);
            },
          },
        ],
        r.talkers,
        { sortIdx: 3, cls: 'talkers', max: 50 },
      );
      var failed = table(
        [
          {
            label: 'Process',
            get: function (x) {
              return x.process;
            },
            cls: 'name',
          },
          {
            label: 'Peer',
            get: function (x) {
              return peer(x);
            },
            cls: 'name',
          },
          {
            label: 'Outcome',
            get: function (x) {
              return x.outcome;
            },
          },
          {
            label: 'Connections',
            get: function (x) {
              return x.value;
            },
            num: true,
          },
        ],
        r.failedConnects,
        { sortIdx: 3, cls: 'failed', max: 50, empty: 'No refused, reset or timed-out connections.' },
      );
      var retr = table(
        [
          {
            label: 'Process',
            get: function (x) {
              return x.process;
            },
            cls: 'name',
          },
          {
            label: 'Peer',
            get: function (x) {
              return peer(x);
            },
            cls: 'name',
          },
          {
            label: 'Retransmitted segments',
            get: function (x) {
              return x.value;
            },
            num: true,
          },
        ],
        r.retransmits,
        { sortIdx: 2, cls: 'retransmits', max: 50, empty: 'No retransmits.' },
      );
      show(
        h('h1', null, 'TCP flows on this node'),
        h('p', { class: 'sub' }, 'Finished connections, ' + since() + ', from the kernel (sock:inet_sock_set_state).'),
        h('h2', null, 'Top talkers'),
        h('div', { class: 'card' }, talkers),
        h(
          'div',
          { class: 'grid2' },
          h('div', null, h('h2', null, 'Refused and failed connects'), h('div', { class: 'card' }, failed)),
          h('div', null, h('h2', null, 'Retransmits'), h('div', { class: 'card' }, retr)),
        ),
      );
    }, fail);
  }

  // ---- router ----
  function route() {
    var hash = location.hash || '#/services';
    var m = /^#\/([a-z]+)(?:\/([^?]*))?(?:\?(.*))?$/.exec(hash) || [];
    var page = m[1] || 'services',
      arg = m[2] ? decodeURIComponent(m[2]) : '',
      params = new URLSearchParams(m[3] || '');
    Array.prototype.forEach.call(document.querySelectorAll('header nav a'), function (a) {
      var p = a.getAttribute('data-page');
      a.classList.toggle('active', p === page || (p === 'spans' && page === 'span') || (p === 'deploys' && page === 'deploy'));
    });
    document.getElementById('tip').style.display = 'none';
    if (page === 'spans') spansPage(params);
    else if (page === 'span') spanPage(arg);
    else if (page === 'profile') profilePage(params);
    else if (page === 'deploys') deploysPage();
    else if (page === 'deploy') deployPage(arg);
    else if (page === 'flows') flowsPage();
    else servicesPage();
  }
  try {
    var saved = sessionStorage.getItem('hotspan.range');
    if (saved) rangeSel.value = saved;
  } catch (e) {
    /* private mode */
  }
  rangeSel.addEventListener('change', function () {
    try {
      sessionStorage.setItem('hotspan.range', rangeSel.value);
    } catch (e) {
      /* ignore */
    }
    route();
  });
  document.getElementById('refresh').addEventListener('click', route);
  window.addEventListener('hashchange', route);
  route();
})();
