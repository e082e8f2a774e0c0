// Hovering a trial anywhere (a curve, a dot, a legend entry, a table row) highlights it in every chart.
// The charts are complete without this script; it only adds the highlight, then marks the page as scripted.
(function () {
  var body = document.body;
  var marked = [];
  function focus(id) {
    marked.forEach(function (e) { e.classList.remove('focus'); });
    marked = [];
    if (id === null) {
      body.classList.remove('focusing');
      return;
    }
    document.querySelectorAll('[data-trial="' + CSS.escape(id) + '"]').forEach(function (e) {
      e.classList.add('focus');
      marked.push(e);
    });
    body.classList.add('focusing');
  }
  function bind(root) {
    root.querySelectorAll('[data-trial]').forEach(function (e) {
      e.addEventListener('mouseenter', function () { focus(e.getAttribute('data-trial')); });
      e.addEventListener('mouseleave', function () { focus(null); });
    });
  }
  // the live dashboard calls it on each part it swaps in
  window.lora4jHighlight = bind;
  bind(document);
  body.setAttribute('data-rendered', 'true');
})();
