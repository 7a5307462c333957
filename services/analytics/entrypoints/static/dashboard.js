// Switchboard supervisor dashboard: sign-in, page state, and the routing of live messages to
// the parts of the page. Contract: docs/dashboard.md. Plain ES modules, no build step.
//
// The key lives in this tab's sessionStorage only; it goes in Authorization headers and in the
// live socket's first message, never in a URL. GET /v1/live/whoami decides what the key sees:
// a supervisor the live view, an analyst a notice (and no live socket), anything else an error.

import { Alerts } from "./alerts.js";
import { CallView } from "./call_view.js";
import { CallsTable } from "./calls_table.js";
import { Controls } from "./controls.js";
import { Kpis } from "./kpis.js";
import { LiveSocket } from "./live_socket.js";
import { $, setText } from "./page_util.js";

const KEY_STORE = "switchboard.supervisorKey";
const LARGE_TEXT_STORE = "switchboard.largeText";  // a display preference: localStorage
const WHOAMI_TIMEOUT_MS = 10000;                    // then the sign-in says the service is unreachable

// Test and debugging hooks: phases and counts, never the key or what was said on a call.
const state = {
  phase: "signed_out",   // signed_out | checking | no_live | live
  connection: "offline", // offline | connecting | live | reconnecting
  roles: [],
  messages: 0,
  snapshots: 0,
  watching: null,
  chartsAvailable: typeof window.uPlot === "function",
  skewMs: 0,             // server clock minus this browser's, from the snapshot
};
window.dashboardState = state;

let socket = null;
const skew = () => state.skewMs;
const table = new CallsTable({
  body: $("calls-body"), head: $("calls-table").tHead, empty: $("calls-empty"), count: $("calls-count"),
  filter: $("filter"), stateFilter: $("state-filter"), hideEnded: $("hide-ended"),
  onSelect: openCall, onFlush: () => kpis.setActive(table.activeCount()), skew,
});
const view = new CallView({ onClose: closeCall, skew });
const alerts = new Alerts({ onSelect: openCall });
const kpis = new Kpis();
const controls = new Controls({ getKey: () => sessionStorage.getItem(KEY_STORE) });
Object.defineProperties(state, {
  rows: { get: () => table.rows.size, enumerable: true },
  tableFlushes: { get: () => table.flushes, enumerable: true },
  tableFlushMs: { get: () => table.flushMs, enumerable: true },
  alerts: { get: () => alerts.count(), enumerable: true },
  items: { get: () => view.items.size, enumerable: true },
  lastControl: { get: () => controls.lastResult, enumerable: true },
});

// ---- what the page shows ---------------------------------------------------------------------

function showPhase(phase) {
  state.phase = phase;
  $("sign-in").hidden = phase !== "signed_out" && phase !== "checking";
  $("sign-in-button").disabled = phase === "checking";
  $("no-live").hidden = phase !== "no_live";
  $("live").hidden = phase !== "live";
  $("who").hidden = phase === "signed_out" || phase === "checking";
  $("sound-toggle").hidden = phase !== "live";
  $("connection").hidden = phase !== "live";
}

function showSignIn(error) {
  showPhase("signed_out");
  const box = $("sign-in-error");
  setText(box, error || "");
  box.hidden = !error;
  if (error) $("key").focus();
}

function setConnection(status, detail) {
  state.connection = status;
  const pill = $("connection");
  const labels = { live: "live", connecting: "connecting…", offline: "offline" };
  setText(pill, labels[status] || `reconnecting (${detail || "…"})`);
  pill.className = `pill connection-${status}`;
}

// ---- sign-in ---------------------------------------------------------------------------------

async function whoami(key) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), WHOAMI_TIMEOUT_MS);
  try {
    const response = await fetch("/v1/live/whoami", {
      headers: { Authorization: `Bearer ${key}` }, cache: "no-store", signal: abort.signal,
    });
    const body = response.status === 200 ? await response.json().catch(() => null) : null;
    return { status: response.status, body };
  } finally {
    clearTimeout(timer);
  }
}

async function signIn(key) {
  showPhase("checking");
  setText($("sign-in-error"), "");
  let answer;
  try {
    answer = await whoami(key);
  } catch (error) {
    showSignIn("Could not reach the analytics service; try again.");
    return;
  }
  if (answer.status !== 200 || !answer.body) {
    // 401 for an unknown key; until the live feed is deployed whoami itself is missing (404).
    sessionStorage.removeItem(KEY_STORE);
    const why = answer.status === 429 ? "Too many attempts with this key; wait a minute." : "That key was not accepted.";
    showSignIn(why);
    return;
  }
  state.roles = Array.isArray(answer.body.roles) ? answer.body.roles.map(String) : [];
  if (!answer.body.live) {
    showPhase("no_live");
    return;
  }
  startLive(key);
}

function startLive(key) {
  showPhase("live");
  socket = new LiveSocket({ key, onMessage, onStatus: setConnection, onRefused });
  socket.start();
}

function onRefused(reason) {
  socket = null;
  clearLive();
  if (reason === "forbidden") {
    showPhase("no_live");
  } else {
    sessionStorage.removeItem(KEY_STORE);
    showSignIn("That key was not accepted.");
  }
}

function signOut() {
  if (socket) socket.stop();
  socket = null;
  sessionStorage.removeItem(KEY_STORE);
  clearLive();
  showSignIn("");
}

function clearLive() {
  view.close();
  state.watching = null;
  controls.setCall(null, null);
  table.replaceAll([]);
  alerts.replaceAll([]);
}

// ---- live messages ---------------------------------------------------------------------------

function onMessage(message) {
  state.messages += 1;
  switch (message.type) {
    case "snapshot": {
      state.snapshots += 1;
      const serverNow = Date.parse(message.server_time);
      state.skewMs = Number.isNaN(serverNow) ? 0 : serverNow - Date.now();
      table.replaceAll(message.calls || []);
      alerts.replaceAll(message.alerts || []);
      kpis.update(message.kpis);
      break;
    }
    case "calls":
      table.upsert(message.upserts || []);
      table.remove(message.removed || []);
      for (const row of message.upserts || []) if (row.call_id === view.callId) followRow(row);
      if ((message.removed || []).includes(view.callId)) followRow({ ...view.row, ended: true });
      break;
    case "alert": alerts.add(message.alert); break;
    case "kpis": kpis.update(message.kpis); kpis.setActive(table.activeCount()); break;
    case "call":
      if (message.call && message.call.call_id === view.callId) {
        followRow(message.call);
        view.replaceItems(message.items || []);
      }
      break;
    case "items":
      if (message.call_id === view.callId) view.addItems(message.items || []);
      break;
    default: break;  // a newer server's message: ignored
  }
}

function followRow(row) {
  view.setCall(row);
  controls.setCall(view.callId, row);
}

function openCall(callId) {
  if (!callId || state.phase !== "live") return;
  const row = table.get(callId);
  view.open(callId, row);
  table.select(callId);
  controls.setCall(callId, row);
  state.watching = callId;
  if (socket) socket.watch(callId);
  $("call").scrollIntoView({ block: "nearest", behavior: "smooth" });
}

function closeCall() {
  view.close();
  table.select(null);
  controls.setCall(null, null);
  state.watching = null;
  if (socket) socket.watch(null);
}

// ---- page controls ---------------------------------------------------------------------------

$("sign-in-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const key = $("key").value.trim();
  if (!key) return;
  $("key").value = "";
  sessionStorage.setItem(KEY_STORE, key);
  signIn(key);
});
$("sign-out").addEventListener("click", signOut);

const largeText = $("large-text");
largeText.checked = localStorage.getItem(LARGE_TEXT_STORE) === "1";
document.documentElement.classList.toggle("large", largeText.checked);
largeText.addEventListener("change", () => {
  document.documentElement.classList.toggle("large", largeText.checked);
  localStorage.setItem(LARGE_TEXT_STORE, largeText.checked ? "1" : "0");
  kpis.restyle();
});

document.addEventListener("keydown", (e) => {
  if (document.querySelector("dialog[open]")) return;
  const typing = e.target.closest("input, textarea, select");
  if (e.key === "Escape" && view.callId && !typing) closeCall();
  if (e.key === "/" && !typing && state.phase === "live") { e.preventDefault(); $("filter").focus(); }
});

const stored = sessionStorage.getItem(KEY_STORE);
if (stored) signIn(stored); else showSignIn("");
