// Draw each plotly figure of the page when it comes near the viewport, not all at load:
// a report has dozens of figures and drawing them all would delay opening the page.
(function () {
  "use strict";
  var config = { displaylogo: false, responsive: true };
  function draw(div) {
    if (div.dataset.drawn) return;
    div.dataset.drawn = "1";
    var spec = JSON.parse(document.getElementById(div.id + "-data").textContent);
    Plotly.newPlot(div, spec.data, spec.layout, config);
  }
  function start() {
    var divs = document.querySelectorAll("div[data-figure]");
    if (!("IntersectionObserver" in window)) {
      divs.forEach(draw);
      return;
    }
    var observer = new IntersectionObserver(
      function (entries) {
        entries.forEach(function (entry) {
          if (entry.isIntersecting) {
            observer.unobserve(entry.target);
            draw(entry.target);
          }
        });
      },
      { rootMargin: "300px" }
    );
    divs.forEach(function (div) { observer.observe(div); });
  }
  window.benchDrawFigure = draw;
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
