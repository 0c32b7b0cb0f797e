// shadowtap dashboard: small progressive enhancements (the pages work without it).
'use strict';
(function () {
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
