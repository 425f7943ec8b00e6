// Image hover for plotly figures: a point whose customdata starts with an image data URI
// (data:image/...) shows that image beside the cursor while it is hovered; plotly's own
// hover label cannot hold an image. Figures are drawn lazily (lazy-figures.js), which fires
// "figure-drawn" on each figure's div once plotly has drawn it.
(function () {
  "use strict";
  var tip = null;
  function tooltip() {
    if (tip) return tip;
    tip = document.createElement("img");
    tip.className = "image-hover";
    tip.alt = "";
    tip.style.cssText =
      "position:fixed;display:none;z-index:1000;pointer-events:none;width:96px;" +
      "height:96px;border:2px solid #446;background:#fff;box-shadow:0 2px 6px #0004";
    document.body.appendChild(tip);
    return tip;
  }
  function image(point) {
    var data = point && point.customdata;
    var first = Array.isArray(data) ? data[0] : data;
    return typeof first === "string" && first.indexOf("data:image/") === 0 ? first : null;
  }
  function show(event) {
    var source = image(event.points && event.points[0]);
    var img = tooltip();
    if (!source) {
      img.style.display = "none";
      return;
    }
    var mouse = event.event || {};
    var x = (mouse.clientX || 0) + 16;
    var y = (mouse.clientY || 0) - 112;
    if (x + 100 > window.innerWidth) x = (mouse.clientX || 0) - 116;
    if (y < 0) y = (mouse.clientY || 0) + 16;
    img.src = source;
    img.style.left = x + "px";
    img.style.top = y + "px";
    img.style.display = "block";
  }
  function hide() {
    if (tip) tip.style.display = "none";
  }
  document.addEventListener("figure-drawn", function (event) {
    var div = event.target;
    if (!div.on) return;
    div.on("plotly_hover", show);
    div.on("plotly_unhover", hide);
  });
})();
