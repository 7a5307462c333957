// Alerts: escalations, failed handoffs and calls whose risk crossed the line, newest first.
// A sound is optional (off by default): a short WebAudio beep, its AudioContext made on the
// checkbox click so the browser lets it play.

import { $, el, formatTime, humanize } from "./page_util.js";

// The server sends its 50 most recent alerts in a snapshot; the list keeps as many.
const MAX_ALERTS = 50;
const MIN_BEEP_GAP_MS = 1500;  // a burst of alerts beeps once

export class Alerts {
  constructor({ onSelect }) {
    this.list = $("alert-list");
    this.empty = $("alerts-empty");
    this.sound = $("alert-sound");
    this.onSelect = onSelect;
    this.seen = new Set();
    this.audio = null;
    this.lastBeep = 0;
    this.beeps = 0;
    this.sound.addEventListener("change", () => {
      if (this.sound.checked && !this.audio && window.AudioContext) this.audio = new AudioContext();
      if (this.audio && this.audio.state === "suspended") this.audio.resume();
    });
    this.list.addEventListener("click", (e) => {
      const button = e.target.closest("button[data-call-id]");
      if (button) this.onSelect(button.dataset.callId);
    });
  }

  /** A snapshot's alerts (newest last or first: sorted here). */
  replaceAll(alerts) {
    this.seen.clear();
    this.list.replaceChildren();
    const ordered = [...(alerts || [])].sort((a, b) => (Date.parse(a.at) || 0) - (Date.parse(b.at) || 0));
    for (const alert of ordered.slice(-MAX_ALERTS)) this.add(alert, false);
  }

  add(alert, fresh = true) {
    if (!alert || this.seen.has(alert.id)) return;
    this.seen.add(alert.id);
    this.list.prepend(this.render(alert));
    while (this.list.children.length > MAX_ALERTS) {
      this.seen.delete(this.list.lastElementChild.dataset.alertId);
      this.list.lastElementChild.remove();
    }
    this.empty.hidden = this.list.children.length > 0;
    if (fresh) this.beep();
  }

  render(alert) {
    const item = el("li", `alert kind-${String(alert.kind).replace(/[^a-z_]/g, "")}`);
    item.dataset.alertId = alert.id;
    const head = el("div", "head");
    head.append(
      el("time", "at muted", formatTime(alert.at)),
      el("strong", "", humanize(alert.kind)),
      el("span", "muted", `${alert.line_id} · ${humanize(alert.rule_id || "")}`),
    );
    if (alert.priority !== undefined && alert.priority !== null) {
      head.append(el("span", "pill", `priority ${alert.priority}`));
    }
    const open = el("button", "quiet small", "Open call");
    open.type = "button";
    open.dataset.callId = alert.call_id;
    item.append(head, el("div", "reasons", (alert.reasons || []).join("; ")), open);
    return item;
  }

  beep() {
    if (!this.sound.checked || !this.audio) return;
    const now = performance.now();
    if (now - this.lastBeep < MIN_BEEP_GAP_MS) return;
    this.lastBeep = now;
    this.beeps += 1;
    const ctx = this.audio;
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.0001, ctx.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.2, ctx.currentTime + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + 0.35);
    osc.connect(gain).connect(ctx.destination);
    osc.start();
    osc.stop(ctx.currentTime + 0.4);
  }

  count() {
    return this.list.children.length;
  }
}
