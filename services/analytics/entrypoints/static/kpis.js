// KPI tiles for the last hour and a uPlot chart of calls and voice-to-voice p95 per minute.
// uPlot is a classic script loaded before the modules (window.uPlot); when `make vendor` has not
// copied it, the chart area says so and everything else works.

import { $, el, formatMs, formatPercent, setText } from "./page_util.js";

const TILES = [
  ["active_calls", "Active calls", (k) => String(k.active_calls ?? "–")],
  ["calls", "Calls (1 h)", (k) => String(k.calls ?? "–")],
  ["containment", "Containment", (k) => formatPercent(k.containment)],
  ["escalation_rate", "Escalation rate", (k) => formatPercent(k.escalation_rate)],
  ["v2v_p95_ms", "Voice-to-voice p95", (k) => formatMs(k.v2v_p95_ms)],
  ["tool_error_rate", "Tool error rate", (k) => formatPercent(k.tool_error_rate)],
];
const MAX_POINTS = 240;  // the server sends 60 one-minute points; more are cut to the newest

export class Kpis {
  constructor() {
    this.tiles = $("kpi-tiles");
    this.chartArea = $("kpi-chart");
    this.values = {};
    this.chart = null;
    this.lastSeries = null;
    this.resizing = false;  // one ResizeObserver, whichever chart is current
    this.chartsAvailable = typeof window.uPlot === "function";
    for (const [name, label] of TILES) {
      const tile = el("div", `tile tile-${name}`);
      const value = el("dd", "value", "–");
      tile.append(el("dt", "", label), value);
      this.tiles.append(tile);
      this.values[name] = value;
    }
    if (!this.chartsAvailable) {
      this.chartArea.append(el("p", "charts-unavailable", "charts unavailable (run make vendor to install uPlot)"));
    }
  }

  update(kpis) {
    if (!kpis) return;
    for (const [name, , format] of TILES) setText(this.values[name], format(kpis));
    if (this.chartsAvailable) this.drawChart(kpis.series || []);
  }

  /** Live calls counted from the live list between KPI refreshes (those come every 5 s). */
  setActive(count) {
    setText(this.values.active_calls, String(count));
  }

  /** The text size changed (Large text): the axes are drawn on a canvas, so draw anew. */
  restyle() {
    if (!this.chart) return;
    this.chart.destroy();
    this.chart = null;
    this.drawChart(this.lastSeries || []);
  }

  drawChart(series) {
    this.lastSeries = series;
    const points = series.slice(-MAX_POINTS);
    const data = [
      points.map((p) => Math.floor(Date.parse(p.minute) / 1000)),
      points.map((p) => p.calls ?? 0),
      points.map((p) => (p.v2v_p95_ms === undefined ? null : p.v2v_p95_ms)),
    ];
    if (this.chart) { this.chart.setData(data); return; }
    const width = Math.max(240, this.chartArea.clientWidth);
    this.chart = new window.uPlot(chartOptions(width), data, this.chartArea);
    if (this.resizing) return;
    this.resizing = true;
    if (window.ResizeObserver) {
      new ResizeObserver(() => {
        const w = Math.max(240, this.chartArea.clientWidth);
        if (this.chart && Math.abs(w - this.chart.width) > 2) this.chart.setSize({ width: w, height: this.chart.height });
      }).observe(this.chartArea);
    }
  }
}

function chartOptions(width) {
  const px = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
  const font = `${Math.round(px * 0.8)}px system-ui, sans-serif`;
  const axis = { font, labelFont: `bold ${font}`, size: Math.round(px * 3) };
  return {
    width,
    height: Math.round(px * 11),
    legend: { show: true },
    cursor: { drag: { x: false, y: false } },
    scales: {
      x: { time: true },
      calls: { range: (u, min, max) => [0, Math.max(4, max)] },
      ms: { range: (u, min, max) => [0, Math.max(500, max || 0)] },
    },
    series: [
      {},
      { label: "Calls per minute", scale: "calls", stroke: "#1f6feb", width: 2, fill: "rgba(31,111,235,0.08)" },
      { label: "Voice-to-voice p95 (ms)", scale: "ms", stroke: "#bf3989", width: 2, spanGaps: false },
    ],
    axes: [
      { font },
      { ...axis, scale: "calls", label: "calls" },
      { ...axis, scale: "ms", side: 1, label: "ms", grid: { show: false } },
    ],
  };
}
