// shadowtap dashboard: small progressive enhancements (the pages work without it).
'use strict';
(function () {
  document.documentElement.classList.add('js');
  // Auto-refresh (offered while `shadowtap run` serves): the page reloads every 30 seconds
  // while it is visible and nothing on it is being edited. The choice is kept per browser.
  var auto = document.getElementById('auto-refresh');
  if (auto) {
    var key = 'shadowtap.autoRefresh';
    var stored = null;
    try { stored = window.localStorage.getItem(key); } catch (e) { /* storage disabled */ }
    auto.checked = stored === '1';
    var edited = false;
    document.addEventListener('input', function (e) { if (e.target !== auto) edited = true; });
    auto.addEventListener('change', function () {
      try { window.localStorage.setItem(key, auto.checked ? '1' : '0'); } catch (e) { /* storage disabled */ }
    });
    window.setInterval(function () {
      var busy = edited || (document.activeElement && /^(INPUT|SELECT|TEXTAREA)$/.test(document.activeElement.tagName) && document.activeElement !== auto);
      if (auto.checked && document.visibilityState === 'visible' && !busy) window.location.reload();
    }, 30000);
  }
  // Narrow screens: the Menu button folds the navigation.
  var toggle = document.querySelector('.nav-toggle');
  if (toggle) {
    toggle.addEventListener('click', function () {
      var bar = toggle.closest('.topbar');
      var open = bar.classList.toggle('open');
      toggle.setAttribute('aria-expanded', open ? 'true' : 'false');
    });
  }
  // Tables with a header row read as lists on narrow screens: each cell is labelled with its
  // column's header (the CSS shows the label below 600 px). Tables whose rows do not match the
  // header cell for cell keep scrolling sideways.
  document.querySelectorAll('table.tbl').forEach(function (table) {
    var head = table.tHead && table.tHead.rows[0];
    if (!head || table.classList.contains('kv')) return;
    var labels = [].map.call(head.cells, function (th) { return th.textContent.trim(); });
    var rows = table.tBodies.length ? [].slice.call(table.tBodies[0].rows) : [];
    var fits = rows.every(function (tr) {
      return tr.cells.length === labels.length && [].every.call(tr.cells, function (td) { return td.colSpan === 1; });
    });
    if (!fits) return;
    rows.forEach(function (tr) {
      [].forEach.call(tr.cells, function (td, i) {
        if (labels[i]) td.setAttribute('data-label', labels[i]);
      });
    });
    table.classList.add('stack');
  });
  // Time range: a preset applies at once; "Custom range" shows the from/to fields (hidden,
  // and not sent, while a preset is chosen).
  var preset = document.getElementById('range-preset');
  if (preset) {
    var custom = preset.form.querySelector('.range-custom');
    var show = function (on) {
      custom.hidden = !on;
      custom.querySelectorAll('input').forEach(function (i) { i.disabled = !on; });
    };
    show(preset.value === 'custom');
    preset.addEventListener('change', function () {
      if (preset.value === 'custom') {
        show(true);
        custom.querySelector('input').focus();
      } else {
        show(false);
        preset.form.submit();
      }
    });
  }
  // Filter selects submit their form on change.
  document.querySelectorAll('select.autosubmit').forEach(function (sel) {
    sel.addEventListener('change', function () {
      if (sel.form) {
        var page = sel.form.querySelector('input[name="page"]');
        if (page) page.remove();
        sel.form.submit();
      }
    });
  });
  // Sequence graph: hovering a node highlights its transitions.
  var graph = document.getElementById('seq-graph');
  if (graph) {
    // Zoom: the graph is drawn at its natural size. It starts fitted to the width of its
    // card when that keeps the labels readable (shrunk by a quarter at most), else at its
    // natural size, scrolling; the buttons scale it by steps, fit it, or reset it.
    var natural = parseFloat(graph.getAttribute('width')) || graph.getBoundingClientRect().width;
    var naturalH = parseFloat(graph.getAttribute('height')) || graph.getBoundingClientRect().height;
    var wrap = graph.parentNode;
    var fit = function () { return Math.min(1, (wrap.clientWidth - 2) / natural); };
    var scale = fit() >= 0.75 ? fit() : 1;
    var apply = function () {
      graph.setAttribute('width', String(Math.round(natural * scale)));
      graph.setAttribute('height', String(Math.round(naturalH * scale)));
    };
    apply();
    document.querySelectorAll('.graph-tools button').forEach(function (b) {
      b.addEventListener('click', function () {
        var z = b.getAttribute('data-zoom');
        if (z === 'in') scale = Math.min(3, scale * 1.25);
        else if (z === 'out') scale = Math.max(0.2, scale / 1.25);
        else if (z === 'fit') scale = fit();
        else scale = 1;
        apply();
      });
    });
    var edges = graph.querySelectorAll('path.edge');
    graph.querySelectorAll('g.node').forEach(function (node) {
      var n = node.getAttribute('data-n');
      node.addEventListener('mouseenter', function () {
        graph.classList.add('focus');
        node.classList.add('hl');
        edges.forEach(function (e) {
          if (e.getAttribute('data-f') === n || e.getAttribute('data-t') === n) e.classList.add('hl');
        });
      });
      node.addEventListener('mouseleave', function () {
        graph.classList.remove('focus');
        node.classList.remove('hl');
        edges.forEach(function (e) { e.classList.remove('hl'); });
      });
    });
  }
})();
