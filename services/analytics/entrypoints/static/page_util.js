// Small helpers shared by the dashboard's modules. Text from the server goes in only through
// textContent (never innerHTML): a transcript or a reason can hold anything a caller said.

export const $ = (id) => document.getElementById(id);

/** An element with an optional class and text (textContent, so never parsed as HTML). */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

/** Sets textContent only when it changed: a write forces layout work even with equal text. */
export function setText(node, text) {
  const value = text === undefined || text === null ? "" : String(text);
  if (node.textContent !== value) node.textContent = value;
}

export function formatDuration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n) => String(n).padStart(2, "0");
  return h ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

export function formatMs(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "–";
  return ms >= 10000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

export function formatPercent(ratio) {
  if (ratio === null || ratio === undefined) return "–";
  return `${(ratio * 100).toFixed(ratio < 0.1 && ratio > 0 ? 1 : 0)}%`;
}

export function formatTime(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? "" : date.toLocaleTimeString();
}

export function humanize(word) {
  return String(word ?? "").replace(/_/g, " ");
}

/** Milliseconds since an ISO time, on the server's clock (``skew`` = server minus browser). */
export function elapsedMs(iso, skew) {
  const start = Date.parse(iso);
  return Number.isNaN(start) ? 0 : Date.now() + skew - start;
}
