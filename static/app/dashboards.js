/* Dashboards: draw each <canvas data-chart="<id>"> from the JSON in <script id="<id>">.
 * Chart.js is served from static/vendor/chartjs (never a CDN); no inline script, so the
 * pages keep working under a strict Content-Security-Policy. The numbers of every chart
 * are in the table beside it: the chart only shows them. */
(function () {
  "use strict";

  var FONT = 'system-ui, -apple-system, "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif';
  var yuan = new Intl.NumberFormat("zh-CN", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  var whole = new Intl.NumberFormat("zh-CN", { maximumFractionDigits: 0 });
  var compact = new Intl.NumberFormat("zh-CN", { notation: "compact", maximumFractionDigits: 1 });

  function formatter(kind, axis) {
    if (kind === "money") {
      return axis ? function (v) { return Math.abs(v) >= 10000 ? compact.format(v) : whole.format(v); }
                  : function (v) { return yuan.format(v) + " 元"; };
    }
    if (kind === "percent") {
      return function (v) { return (axis ? whole.format(v) : v) + "%"; };
    }
    return function (v) { return whole.format(v); };
  }

  function axis(kind, extra) {
    var a = {
      beginAtZero: true,
      ticks: { callback: formatter(kind, true), precision: 0 },
      grid: { color: "#eef1f5" }
    };
    if (kind === "percent") a.suggestedMax = 100;
    return Object.assign(a, extra || {});
  }

  function build(canvas, spec) {
    var horizontal = !!spec.horizontal;
    var valueAxis = horizontal ? "x" : "y";
    var hasY2 = spec.datasets.some(function (d) { return d.y2; });
    var datasets = spec.datasets.map(function (d) {
      var ds = {
        label: d.label,
        data: d.data,
        backgroundColor: d.colors || d.color,
        borderColor: d.type === "line" ? d.color : (d.colors ? "#fff" : d.color),
        borderWidth: d.type === "line" ? 2 : (spec.type === "doughnut" ? 2 : 0),
        maxBarThickness: 36
      };
      if (d.type) ds.type = d.type;
      if (d.type === "line") { ds.tension = 0; ds.pointRadius = 3; ds.fill = false; ds.order = 0; }
      else { ds.order = 1; }
      if (d.y2) ds.yAxisID = "y2";
      return ds;
    });
    var options = {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: {
        legend: { position: "bottom", labels: { boxWidth: 12, font: { family: FONT } } },
        tooltip: {
          callbacks: {
            label: function (ctx) {
              var kind = ctx.dataset.yAxisID === "y2" ? (spec.format2 || spec.format) : spec.format;
              var value = spec.type === "doughnut" ? ctx.parsed : ctx.parsed[valueAxis];
              return ctx.dataset.label + "：" + formatter(kind, false)(value);
            }
          }
        }
      }
    };
    if (spec.type !== "doughnut") {
      options.indexAxis = horizontal ? "y" : "x";
      options.scales = {};
      options.scales[valueAxis] = axis(spec.format, { stacked: !!spec.stacked });
      options.scales[horizontal ? "y" : "x"] = {
        stacked: !!spec.stacked,
        grid: { display: false },
        ticks: { autoSkip: false, font: { family: FONT } }
      };
      if (hasY2) {
        options.scales.y2 = axis(spec.format2 || spec.format, { position: "right", grid: { display: false } });
      }
    } else {
      options.cutout = "62%";
    }
    return new window.Chart(canvas, { type: spec.type, data: { labels: spec.labels, datasets: datasets }, options: options });
  }

  function drawAll() {
    if (!window.Chart) return;
    window.Chart.defaults.font.family = FONT;
    window.Chart.defaults.color = "#33475b";
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var source = document.getElementById(canvas.getAttribute("data-chart"));
      if (!source) return;
      try {
        build(canvas, JSON.parse(source.textContent));
        canvas.setAttribute("data-chart-ready", "true");
      } catch (error) {
        canvas.setAttribute("data-chart-ready", "error");
        if (window.console) window.console.error("chart", canvas.id, error);
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
