/* Draws the dashboard charts with the vendored Chart.js from the JSON next to each
   canvas (json_script). The tables on the page hold the same numbers, so without
   JavaScript (or on an old phone where Chart.js fails) nothing is lost. */
(function () {
  "use strict";
  if (typeof window.Chart === "undefined") return;
  var css = getComputedStyle(document.documentElement);
  var accent = (css.getPropertyValue("--accent") || "#0b5394").trim();
  var warn = (css.getPropertyValue("--warn") || "#8a5a00").trim();
  var muted = (css.getPropertyValue("--muted") || "#4a4a4a").trim();
  var lineColours = [warn, muted];
  var lang = document.documentElement.lang || "vi";
  var numbers = new Intl.NumberFormat(lang);

  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var source = document.getElementById(canvas.getAttribute("data-chart"));
    if (!source) return;
    var data = JSON.parse(source.textContent);
    var lines = 0;
    var datasets = data.datasets.map(function (set) {
      var line = set.type === "line";
      var colour = line ? lineColours[lines++ % lineColours.length] : accent;
      return {
        type: set.type,
        label: set.label,
        data: set.data,
        backgroundColor: colour,
        borderColor: colour,
        borderWidth: line ? 2 : 0,
        borderDash: set.dashed ? [6, 4] : [],
        pointRadius: line ? 2 : 0,
        order: line ? 0 : 1
      };
    });
    var figure = canvas.closest("figure");
    if (figure) figure.hidden = false;
    new window.Chart(canvas, {
      data: { labels: data.labels, datasets: datasets },
      options: {
        animation: false,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        scales: { y: { beginAtZero: true, ticks: { callback: function (v) { return numbers.format(v); } } } },
        plugins: {
          legend: { position: "bottom" },
          tooltip: { callbacks: { label: function (c) { return c.dataset.label + ": " + numbers.format(c.parsed.y); } } }
        }
      }
    });
  });
})();
