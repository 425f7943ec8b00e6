// Draw each plotly figure of the page when it comes into view, one per frame, not all at
// load: a report has dozens of figures, and drawing them all at once would delay opening
// the page. Each figure's spec is the JSON script element next to it (<id>-data). Once a
// figure is drawn its div fires "figure-drawn" (bubbling), for scripts that add behaviour.
(function () {
  "use strict";
  var config = { displaylogo: false, responsive: true };
  var queue = [];
  var busy = false;
  function draw(div) {
    if (div.dataset.drawn) return;
    div.dataset.drawn = "1";
    var spec = JSON.parse(document.getElementById(div.id + "-data").textContent);
    Plotly.newPlot(div, spec.data, spec.layout, config).then(function () {
      div.dispatchEvent(new CustomEvent("figure-drawn", { bubbles: true }));
    });
  }
  function next() {
    var div = queue.shift();
    busy = div !== undefined;
    if (!busy) return;
    draw(div);
    window.requestAnimationFrame(function () { setTimeout(next, 0); });
  }
  function enqueue(div) {
    queue.push(div);
    if (!busy) next();
  }
  function start() {
    var divs = document.querySelectorAll("div[data-figure]");
    if (!("IntersectionObserver" in window)) {
      divs.forEach(enqueue);
      return;
    }
    var observer = new IntersectionObserver(
      function (entries) {
        entries.forEach(function (entry) {
          if (entry.isIntersecting) {
            observer.unobserve(entry.target);
            enqueue(entry.target);
          }
        });
      },
      { rootMargin: "100px" }
    );
    divs.forEach(function (div) { observer.observe(div); });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
