// The live calls list: one <tr> per call_id, updated in place. Messages only queue changes
// (one pending entry per call, so the queue is bounded by the number of calls); one
// requestAnimationFrame applies them, touching only the cells whose text changed, and moves
// rows only when the sort order really changed. Durations tick once a second.

import { el, elapsedMs, formatDuration, formatMs, humanize, setText } from "./page_util.js";

// The server keeps at most 2,000 live calls; a row beyond this is not shown (counted in `dropped`).
const MAX_ROWS = 2000;
const SPARK_W = 96;
const SPARK_H = 22;
const HIGH_RISK = 0.7;
// Rows move for changed values at most this often: a list re-sorted every 250 ms cannot be read
// (nor cheaply painted). New rows and a click on a column header sort at once.
const RESORT_MS = 2000;

const lastScore = (r) => (r.sentiment && r.sentiment.length ? r.sentiment[r.sentiment.length - 1] : null);
const SORTS = {
  line_id: { value: (r) => r.line_id, dir: 1 },
  channel: { value: (r) => r.channel, dir: 1 },
  duration: { value: (r) => -Date.parse(r.started_at), dir: -1 },
  state: { value: (r) => r.state, dir: 1 },
  sentiment: { value: lastScore, dir: 1 },
  risk: { value: (r) => (r.risk ? r.risk.score : null), dir: -1 },
  last_v2v_ms: { value: (r) => r.last_v2v_ms, dir: -1 },
};
const safeClass = (word) => String(word ?? "").replace(/[^a-z_]/g, "");

export class CallsTable {
  constructor({ body, head, empty, count, filter, stateFilter, hideEnded, onSelect, onFlush, skew }) {
    Object.assign(this, { body, head, empty, count, filter, stateFilter, hideEnded, onSelect, onFlush, skew });
    this.rows = new Map();       // call_id -> {data, tr, cells, sparkKey, sortValue, endedAt}
    this.pending = new Map();    // call_id -> newest CallRow not yet drawn
    this.removals = new Set();
    this.frame = 0;
    this.resortTimer = 0;
    this.lastSort = 0;
    this.sort = { key: "risk", dir: -1 };
    this.selected = null;
    this.dropped = 0;
    this.flushes = 0;
    this.flushMs = 0;            // time spent drawing, for bench/dashboard_page.py
    this.bindEvents();
    this.showSort();
    setInterval(() => this.tick(), 1000);
  }

  bindEvents() {
    const pick = (target) => {
      const tr = target.closest("tr[data-call-id]");
      if (tr) this.onSelect(tr.dataset.callId);
    };
    this.body.addEventListener("click", (e) => pick(e.target));
    this.body.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); pick(e.target); }
    });
    this.head.querySelectorAll("th[data-sort] button").forEach((button) => {
      button.addEventListener("click", () => this.setSort(button.parentElement.dataset.sort));
    });
    const refilter = () => this.refilter();
    this.filter.addEventListener("input", refilter);
    this.stateFilter.addEventListener("change", refilter);
    this.hideEnded.addEventListener("change", refilter);
  }

  /** A snapshot: these are all the calls there are. */
  replaceAll(calls) {
    const keep = new Set(calls.map((c) => c.call_id));
    for (const id of this.rows.keys()) if (!keep.has(id)) this.removals.add(id);
    this.pending.clear();
    this.upsert(calls);
  }

  upsert(calls) {
    for (const call of calls) {
      if (!call || typeof call.call_id !== "string") continue;
      this.removals.delete(call.call_id);
      this.pending.set(call.call_id, call);
    }
    this.schedule();
  }

  remove(ids) {
    for (const id of ids) { this.pending.delete(id); this.removals.add(id); }
    this.schedule();
  }

  /** Calls not yet ended, shown or filtered out. */
  activeCount() {
    let active = 0;
    for (const row of this.rows.values()) if (!row.data.ended) active += 1;
    return active;
  }

  get(callId) {
    const row = this.rows.get(callId);
    return row ? row.data : null;
  }

  schedule() {
    // Background tabs get no animation frames: changes wait in `pending`, one entry per call.
    if (!this.frame) this.frame = requestAnimationFrame(() => this.flush());
  }

  flush() {
    const started = performance.now();
    this.frame = 0;
    this.flushes += 1;
    let added = false;
    let moved = false;
    for (const id of this.removals) {
      const row = this.rows.get(id);
      if (row) { row.tr.remove(); this.rows.delete(id); }
    }
    this.removals.clear();
    for (const [id, data] of this.pending) {
      let row = this.rows.get(id);
      if (!row) {
        if (this.rows.size >= MAX_ROWS) { this.dropped += 1; continue; }
        row = this.createRow(data);
        this.rows.set(id, row);
        added = true;
      }
      moved = this.updateRow(row, data) || moved;
    }
    this.pending.clear();
    if (added) this.reorder(); else if (moved) this.resortSoon();
    this.updateCount();
    if (this.onFlush) this.onFlush();
    this.flushMs += performance.now() - started;
  }

  createRow(data) {
    const tr = el("tr");
    tr.dataset.callId = data.call_id;
    tr.tabIndex = 0;
    const cells = {};
    for (const name of ["line", "channel", "duration", "state", "sentiment", "risk", "v2v"]) {
      cells[name] = el("td", `col-${name}`);
      tr.append(cells[name]);
    }
    cells.stateLabel = el("span", "state");
    cells.agent = el("span", "agent muted");
    cells.state.append(cells.stateLabel, cells.agent);
    cells.spark = el("canvas", "spark");
    cells.spark.width = SPARK_W * (window.devicePixelRatio || 1);
    cells.spark.height = SPARK_H * (window.devicePixelRatio || 1);
    cells.spark.setAttribute("role", "img");
    cells.sentiment.append(cells.spark);
    cells.score = el("span", "risk-score");
    cells.reasons = el("span", "risk-reasons");
    cells.risk.append(cells.score, cells.reasons);
    tr.classList.toggle("selected", data.call_id === this.selected);
    return { data, tr, cells, sparkKey: null, sortValue: undefined, endedAt: null };
  }

  /** Draws ``data`` into the row; true when its sort value changed. */
  updateRow(row, data) {
    const { cells, tr } = row;
    row.data = data;
    setText(cells.line, data.line_id);
    setText(cells.channel, humanize(data.channel));
    setText(cells.stateLabel, humanize(data.state));
    cells.stateLabel.className = `state state-${safeClass(data.state)}`;
    setText(cells.agent, data.agent_id ? ` (${data.agent_id})` : "");
    const risk = data.risk || { score: 0, reasons: [] };
    setText(cells.score, Number(risk.score || 0).toFixed(2));
    setText(cells.reasons, (risk.reasons || []).join(", "));
    tr.classList.toggle("risk-high", risk.score >= HIGH_RISK || data.escalated);
    setText(cells.v2v, formatMs(data.last_v2v_ms));
    if (data.ended && row.endedAt === null) row.endedAt = Date.now();
    tr.classList.toggle("ended", Boolean(data.ended));
    this.drawDuration(row);
    const sparkKey = (data.sentiment || []).join(",");
    if (sparkKey !== row.sparkKey) {
      row.sparkKey = sparkKey;
      drawSparkline(cells.spark, data.sentiment || []);
      const last = lastScore(data);
      cells.spark.setAttribute("aria-label", last === null ? "no sentiment yet" : `sentiment ${last.toFixed(2)}`);
    }
    this.applyFilter(row);
    const sortValue = SORTS[this.sort.key].value(data);
    const changed = sortValue !== row.sortValue;
    row.sortValue = sortValue;
    return changed;
  }

  drawDuration(row) {
    const end = row.endedAt === null ? Date.now() : row.endedAt;
    const ms = elapsedMs(row.data.started_at, this.skew()) - (Date.now() - end);
    setText(row.cells.duration, formatDuration(ms / 1000));
  }

  tick() {
    for (const row of this.rows.values()) if (!row.tr.hidden && row.endedAt === null) this.drawDuration(row);
  }

  setSort(key) {
    if (!SORTS[key]) return;
    this.sort = this.sort.key === key ? { key, dir: -this.sort.dir } : { key, dir: SORTS[key].dir };
    for (const row of this.rows.values()) row.sortValue = SORTS[key].value(row.data);
    this.showSort();
    this.reorder();
  }

  showSort() {
    this.head.querySelectorAll("th[data-sort]").forEach((th) => {
      if (th.dataset.sort === this.sort.key) {
        // Duration sorts by start time: "descending" shows the longest call first.
        th.setAttribute("aria-sort", this.sort.dir > 0 ? "ascending" : "descending");
      } else {
        th.removeAttribute("aria-sort");
      }
    });
  }

  resortSoon() {
    if (this.resortTimer) return;
    const wait = Math.max(0, this.lastSort + RESORT_MS - performance.now());
    this.resortTimer = setTimeout(() => requestAnimationFrame(() => this.reorder()), wait);
  }

  reorder() {
    clearTimeout(this.resortTimer);
    this.resortTimer = 0;
    this.lastSort = performance.now();
    const { dir } = this.sort;
    const ordered = [...this.rows.values()].sort((a, b) => {
      const x = a.sortValue, y = b.sortValue;
      if (x === y) return a.data.call_id < b.data.call_id ? -1 : 1;
      if (x === null || x === undefined || Number.isNaN(x)) return 1;   // no value: last
      if (y === null || y === undefined || Number.isNaN(y)) return -1;
      return (x < y ? -1 : 1) * dir;
    });
    const children = this.body.children;
    ordered.forEach((row, i) => {
      if (children[i] !== row.tr) this.body.insertBefore(row.tr, children[i] || null);
    });
  }

  matches(data) {
    const state = this.stateFilter.value;
    if (state && data.state !== state) return false;
    if (this.hideEnded.checked && data.ended) return false;
    const words = this.filter.value.trim().toLowerCase();
    if (!words) return true;
    const haystack = [data.line_id, data.channel, data.state, data.call_id, data.agent_id,
      ...((data.risk && data.risk.reasons) || [])].join(" ").toLowerCase();
    return words.split(/\s+/).every((w) => haystack.includes(w));
  }

  applyFilter(row) {
    const hidden = !this.matches(row.data);
    if (row.tr.hidden !== hidden) row.tr.hidden = hidden;
  }

  refilter() {
    for (const row of this.rows.values()) this.applyFilter(row);
    this.updateCount();
  }

  updateCount() {
    let shown = 0;
    for (const row of this.rows.values()) if (!row.tr.hidden) shown += 1;
    const total = this.rows.size;
    setText(this.count, shown === total ? String(total) : `${shown} of ${total}`);
    this.empty.hidden = shown > 0;
    setText(this.empty, total ? "No call matches the filter." : "No live calls.");
  }

  select(callId) {
    this.selected = callId;
    for (const row of this.rows.values()) {
      const on = row.data.call_id === callId;
      row.tr.classList.toggle("selected", on);
      row.tr.setAttribute("aria-selected", String(on));
    }
  }
}

/** Sentiment (-1..1) as a line on a tiny canvas; drawn only when the points changed. */
function drawSparkline(canvas, values) {
  const ctx = canvas.getContext("2d");
  const ratio = window.devicePixelRatio || 1;
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, SPARK_W, SPARK_H);
  const y = (v) => (1 - (Math.max(-1, Math.min(1, v)) + 1) / 2) * (SPARK_H - 4) + 2;
  ctx.strokeStyle = "#d0d7de";
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(0, y(0));
  ctx.lineTo(SPARK_W, y(0));
  ctx.stroke();
  if (!values.length) return;
  const step = values.length > 1 ? SPARK_W / (values.length - 1) : 0;
  const last = values[values.length - 1];
  ctx.strokeStyle = last < -0.3 ? "#cf222e" : last > 0.3 ? "#1a7f37" : "#57606a";
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  values.forEach((v, i) => (i ? ctx.lineTo(i * step, y(v)) : ctx.moveTo(0, y(v))));
  if (values.length === 1) ctx.lineTo(SPARK_W, y(last));
  ctx.stroke();
}
