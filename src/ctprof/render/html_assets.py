"""Style sheet and script of the HTML report (no external resource)."""

from __future__ import annotations

# Only inline scripts and styles may run and nothing may be fetched, so the page
# makes no network request even if a recorded string slipped through escaping.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data:; font-src data:"
)

STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; }
h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
th.sortable { cursor: pointer; background: #f3f3f3; }
th.sortable:hover { background: #e6e6e6; }
td.cmd { font-family: monospace; max-width: 50em; overflow-wrap: anywhere; }
.note { background: #fff8e0; border: 1px solid #e8d48a; padding: 0.5em 0.8em; }
.tables { display: flex; flex-wrap: wrap; gap: 2em; align-items: flex-start; }
.chart { width: 100%; max-width: 1200px; height: 320px; }
#picker { font-size: 0.95em; max-width: 60em; }
"""

# The page's behaviour: draw the charts from the embedded JSON, fill the metric
# picker and sort the process table. Labels go through esc() before plotly renders
# them because plotly reads a subset of HTML tags in its text.
SCRIPT = r"""
(function () {
  const data = JSON.parse(document.getElementById("ctprof-data").textContent);
  const n = Array.isArray(data.x) ? data.x.length : 1;
  const x = Array.isArray(data.x) ? data.x : [data.x.c];
  function expand(y) { return Array.isArray(y) ? y : new Array(n).fill(y.c); }
  function esc(s) {
    return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;")
      .replace(/>/g, "&gt;");
  }
  const config = { displaylogo: false, responsive: true };
  function decorations() {
    const shapes = [], annotations = [];
    data.spans.forEach(function (s, i) {
      shapes.push({ type: "rect", xref: "x", yref: "paper", x0: s[1], x1: s[2],
        y0: 0, y1: 1, fillcolor: i % 2 ? "#eeeeee" : "#dddddd", opacity: 0.5,
        line: { width: 0 }, layer: "below" });
      annotations.push({ x: s[1], y: 0, xref: "x", yref: "paper", text: esc(s[0]),
        showarrow: false, xanchor: "left", yanchor: "bottom", font: { size: 10 } });
    });
    data.marks.forEach(function (m) {
      shapes.push({ type: "line", xref: "x", yref: "paper", x0: m[1], x1: m[1],
        y0: 0, y1: 1, line: { color: "#c0392b", dash: "dot", width: 1 } });
      annotations.push({ x: m[1], y: 1, xref: "x", yref: "paper", text: esc(m[0]),
        showarrow: false, xanchor: "left", yanchor: "top", bgcolor: "#ffffffcc",
        font: { size: 10, color: "#c0392b" } });
    });
    return { shapes: shapes, annotations: annotations };
  }
  const deco = decorations();
  function axis(panel) {
    const y = { title: { text: esc(panel.axis) }, rangemode: "tozero" };
    if (panel.unit.indexOf("percent") === 0) { y.ticksuffix = " %"; }
    if (panel.stacked) { y.range = [0, 100]; }
    return y;
  }
  function layout(panel) {
    const l = { title: { text: esc(panel.title), x: 0, font: { size: 14 } },
      margin: { l: 70, r: 20, t: 40, b: 40 }, yaxis: axis(panel),
      legend: { x: 1.02, y: 1 }, barmode: "stack" };
    if (!data.delta) {
      l.xaxis = { title: { text: "seconds since start" } };
      l.shapes = deco.shapes;
      l.annotations = deco.annotations;
    }
    return l;
  }
  function traces(panel) {
    if (data.delta) {
      if (panel.stacked) {
        return panel.bars.map(function (b) {
          return { type: "bar", x: ["whole run"], y: [b[1]], name: esc(b[0]) };
        });
      }
      return [{ type: "bar", x: panel.bars.map(function (b) { return esc(b[0]); }),
        y: panel.bars.map(function (b) { return b[1]; }) }];
    }
    return panel.lines.map(function (line) {
      const t = { type: "scatter", mode: "lines", x: x, y: expand(line.y),
        name: esc(line.label), line: { dash: line.dashed ? "dash" : "solid" } };
      if (panel.stacked) {
        t.stackgroup = "modes";
        t.stackgaps = "interpolate";
        t.line.width = 0.5;
      }
      return t;
    });
  }
  const charts = document.getElementById("charts");
  data.figures.forEach(function (figure) {
    const h = document.createElement("h2");
    h.textContent = figure.title;
    charts.appendChild(h);
    figure.panels.forEach(function (panel) {
      const div = document.createElement("div");
      div.className = "chart";
      charts.appendChild(div);
      Plotly.newPlot(div, traces(panel), layout(panel), config);
    });
  });
  function drawTasks(tasks) {
    const h = document.createElement("h2");
    h.textContent = "Per task";
    charts.appendChild(h);
    const names = tasks.names.map(esc);
    function add(traces, title, axis, percent) {
      const div = document.createElement("div");
      div.className = "chart";
      charts.appendChild(div);
      const y = { title: { text: esc(axis) }, rangemode: "tozero" };
      if (percent) { y.ticksuffix = " %"; y.range = [0, 100]; }
      Plotly.newPlot(div, traces, { title: { text: title, x: 0, font: { size: 14 } },
        barmode: "stack", yaxis: y, margin: { l: 70, r: 20, t: 40, b: 60 },
        legend: { x: 1.02, y: 1 } }, config);
    }
    add(Object.keys(tasks.modes).map(function (mode) {
      return { type: "bar", x: names, y: tasks.modes[mode], name: mode };
    }), "Host CPU time by mode", "percent", true);
    tasks.bars.forEach(function (bar) {
      add([{ type: "bar", x: names, y: bar.values }], bar.title, bar.axis, false);
    });
  }
  if (data.tasks) { drawTasks(data.tasks); }
  const picker = document.getElementById("picker");
  data.series.forEach(function (s, i) {
    const option = document.createElement("option");
    option.value = String(i);
    option.textContent = s.column + " (" + s.unit + ")";
    picker.appendChild(option);
  });
  function showPicked() {
    const s = data.series[Number(picker.value)];
    if (!s) { return; }
    document.getElementById("picked-description").textContent = s.description;
    const panel = { title: s.column, unit: s.unit, axis: s.unit, stacked: false };
    const trace = data.delta
      ? { type: "bar", x: ["end of run"], y: [expand(s.y).slice(-1)[0]] }
      : { type: "scatter", mode: "lines", x: x, y: expand(s.y), name: esc(s.column) };
    Plotly.react("picked", [trace], layout(panel), config);
  }
  picker.addEventListener("change", showPicked);
  showPicked();
  function sortTable(table, column, descending) {
    const body = table.tBodies[0];
    const rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      const x = a.cells[column].dataset.v, y = b.cells[column].dataset.v;
      const nx = Number(x), ny = Number(y);
      const c = (x !== "" && y !== "" && !isNaN(nx) && !isNaN(ny))
        ? nx - ny : String(x).localeCompare(String(y));
      return descending ? -c : c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
    table.dataset.sorted = column + (descending ? " desc" : " asc");
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    table.querySelectorAll("th").forEach(function (th, i) {
      th.classList.add("sortable");
      th.addEventListener("click", function () {
        const desc = table.dataset.sorted !== i + " desc";
        sortTable(table, i, desc);
      });
    });
  });
  // A fragment such as #sort=memory_peak_bytes opens the page sorted by it.
  const match = /sort=([a-z_]+)/.exec(window.location.hash);
  if (match) {
    document.querySelectorAll("table.sortable").forEach(function (table) {
      table.querySelectorAll("th").forEach(function (th, i) {
        if (th.dataset.key === match[1]) { sortTable(table, i, true); }
      });
    });
  }
  document.body.dataset.ready = "yes";
})();
"""
