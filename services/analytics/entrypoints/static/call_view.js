// One call: the redacted transcript (caller and agent, interruptions marked), tool calls,
// escalations with their evidence, latency per turn and the control timeline (the audit trail).
// Items are keyed by their stable `id`: a later item with the same id replaces the drawn one in
// place. New items are queued and drawn in one animation frame.

import { $, el, elapsedMs, formatDuration, formatMs, formatTime, humanize, setText } from "./page_util.js";

// The server keeps 300 items per call; past this many the oldest drawn ones are dropped.
const MAX_ITEMS = 600;
// Routine states show in the header only; these also go on the timeline.
const TIMELINE_STATES = new Set(["on_hold", "with_human", "disconnected", "ended"]);
const safeClass = (word) => String(word ?? "").replace(/[^a-z_]/g, "");

export class CallView {
  constructor({ onClose, skew }) {
    this.section = $("call");
    this.skew = skew;
    this.callId = null;
    this.row = null;
    this.items = new Map();   // item id -> {data, node (null when not drawn)}
    this.pending = [];
    this.frame = 0;
    this.lists = {
      transcript: $("transcript"), tools: $("tools"), escalations: $("escalations"),
      latency: $("latency"), timeline: $("timeline"),
    };
    $("call-close").addEventListener("click", onClose);
    setInterval(() => this.drawDuration(), 1000);
  }

  open(callId, row) {
    this.callId = callId;
    this.clear();
    setText($("call-id"), callId);
    this.section.hidden = false;
    if (row) this.setCall(row);
  }

  close() {
    this.callId = null;
    this.row = null;
    this.clear();
    this.section.hidden = true;
  }

  clear() {
    this.items.clear();
    this.pending = [];
    Object.values(this.lists).forEach((list) => list.replaceChildren());
  }

  /** The watched call's row (from `call`, or a `calls` upsert of it). */
  setCall(row) {
    if (!row || row.call_id !== this.callId) return;
    this.row = row;
    setText($("call-line"), row.line_id);
    setText($("call-channel"), humanize(row.channel));
    const state = $("call-state");
    setText(state, humanize(row.state));
    state.className = `state state-${safeClass(row.state)}`;
    const agent = $("call-agent");
    agent.hidden = !row.agent_id;
    setText(agent, row.agent_id ? `with ${row.agent_id}` : "");
    this.drawDuration();
  }

  drawDuration() {
    if (!this.row || this.row.ended) return;
    setText($("call-duration"), formatDuration(elapsedMs(this.row.started_at, this.skew()) / 1000));
  }

  /** The `call` message: the whole timeline so far. */
  replaceItems(items) {
    this.clear();
    this.addItems(items);
  }

  addItems(items) {
    for (const item of items || []) if (item && typeof item.id === "string") this.pending.push(item);
    if (!this.frame) this.frame = requestAnimationFrame(() => this.flush());
  }

  flush() {
    this.frame = 0;
    const transcript = this.lists.transcript;
    const atBottom = transcript.scrollTop + transcript.clientHeight >= transcript.scrollHeight - 24;
    for (const item of this.pending) this.draw(item);
    this.pending = [];
    while (this.items.size > MAX_ITEMS) {
      const [oldest, entry] = this.items.entries().next().value;
      if (entry.node) entry.node.remove();
      this.items.delete(oldest);
    }
    if (atBottom) transcript.scrollTop = transcript.scrollHeight;
  }

  draw(item) {
    const drawn = render(item);
    const known = this.items.get(item.id);
    if (known && known.node && drawn) {
      drawn.node._at = known.node._at;
      known.node.replaceWith(drawn.node);
    } else if (known && known.node) {
      known.node.remove();
    } else if (drawn) {
      insertByTime(this.lists[drawn.list], drawn.node, Date.parse(item.at) || 0);
    }
    this.items.set(item.id, { data: item, node: drawn ? drawn.node : null });
  }
}

/** Keeps a list in time order; items nearly always arrive last, so the walk is short. */
function insertByTime(list, node, at) {
  node._at = at;
  let before = null;
  for (let child = list.lastElementChild; child && child._at > at; child = child.previousElementSibling) {
    before = child;
  }
  list.insertBefore(node, before);
}

function render(item) {
  switch (item.kind) {
    case "user": return { list: "transcript", node: turn("caller", "Caller", item) };
    case "agent": return { list: "transcript", node: agentTurn(item) };
    case "interruption": {
      const played = item.played_ms == null ? "" : ` after ${(item.played_ms / 1000).toFixed(1)} s`;
      return { list: "transcript", node: marker("interruption", `Caller interrupted the agent${played}`, item) };
    }
    case "dtmf": return { list: "transcript", node: marker("dtmf", `Keypad: ${item.digit}`, item) };
    case "tool": return { list: "tools", node: tool(item) };
    case "escalation": return { list: "escalations", node: escalation(item) };
    case "turn": return { list: "latency", node: latency(item) };
    case "control": return { list: "timeline", node: control(item) };
    case "handoff": {
      const text = item.outcome === "completed"
        ? `Handoff completed${item.agent_id ? ` to ${item.agent_id}` : ""}`
        : `Handoff failed${item.reason ? `: ${humanize(item.reason)}` : ""}`;
      return { list: "timeline", node: timelineEntry(item, text, item.outcome === "completed") };
    }
    case "state":
      if (!TIMELINE_STATES.has(item.state)) return null;
      return { list: "timeline", node: timelineEntry(item, `State: ${humanize(item.state)}`, null) };
    default: return null;
  }
}

function turn(cls, role, item) {
  const node = el("li", `turn ${cls}`);
  node.append(el("span", "role", role), el("time", "at muted", formatTime(item.at)), el("span", "text", item.text));
  return node;
}

function agentTurn(item) {
  const node = turn("agent", "Agent", item);
  if (item.interrupted) {
    node.classList.add("interrupted");
    node.append(el("span", "badge", "interrupted"));
  }
  return node;
}

function marker(cls, text, item) {
  const node = el("li", `marker ${cls}`);
  node.append(el("time", "at muted", formatTime(item.at)), el("span", "text", text));
  return node;
}

function tool(item) {
  const node = el("li", "item tool");
  const status = el("span", `pill status-${safeClass(item.status)}`, item.status);
  const duration = item.duration_ms == null ? "" : formatMs(item.duration_ms);
  node.append(el("time", "at muted", formatTime(item.at)), el("code", "name", item.name), status,
    el("span", "muted", duration));
  return node;
}

function escalation(item) {
  const node = el("li", "item escalation");
  const head = el("div", "head");
  head.append(el("time", "at muted", formatTime(item.at)), el("strong", "", humanize(item.rule_id)),
    el("span", "pill", `priority ${item.priority}`));
  node.append(head, el("div", "reasons", (item.reasons || []).join("; ")));
  const evidence = item.evidence || [];
  if (evidence.length) {
    const table = el("table", "evidence");
    const header = el("tr");
    for (const name of ["Signal", "Detail", "Value", "Threshold"]) header.append(el("th", "", name));
    table.append(header);
    for (const e of evidence) {
      const row = el("tr");
      for (const value of [humanize(e.signal), e.detail, e.value, e.threshold]) row.append(el("td", "", value ?? ""));
      table.append(row);
    }
    node.append(table);
  }
  return node;
}

function latency(item) {
  const row = el("tr");
  const stages = Object.entries(item.stages_ms || {}).map(([k, v]) => `${humanize(k)} ${formatMs(v)}`).join(" · ");
  row.append(el("td", "", item.turn), el("td", "", formatMs(item.v2v_ms)), el("td", "muted", stages));
  return row;
}

function control(item) {
  const text = `${humanize(item.command)} by ${item.issued_by || "unknown"}`;
  const node = timelineEntry(item, text, item.ok);
  if (item.detail) node.append(el("div", "muted detail", item.detail));
  return node;
}

function timelineEntry(item, text, ok) {
  const node = el("li", "item timeline-entry");
  node.append(el("time", "at muted", formatTime(item.at)), el("span", "text", text));
  if (ok === true) node.append(el("span", "pill ok", "applied"));
  if (ok === false) node.append(el("span", "pill failed", "not applied"));
  return node;
}
