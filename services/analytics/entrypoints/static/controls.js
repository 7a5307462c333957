// Control of the open call: whisper to the agent, take the call over (to a desk agent), end it.
// POST /v1/live/calls/{call_id}/{whisper|takeover|end} with the key in Authorization: Bearer.
// The server answers 202 once the command is on the bus; what the gateway did with it comes
// back as a `control` item in the call's timeline (the audit trail).

import { $, setText } from "./page_util.js";

const REQUEST_TIMEOUT_MS = 10000;  // then the request is aborted and the error shown
const AGENT_ID = /^[A-Za-z0-9_.-]{1,100}$/;
const AGENT_STORE = "switchboard.takeoverAgent";  // the last desk agent id: a convenience only
const REFUSALS = {
  401: "The key was not accepted: sign in again.",
  403: "This key may not control calls (it needs the supervisor role).",
  404: "This call is no longer live.",
  429: "Too many requests with this key: wait a moment.",
  503: "The message bus is unreachable: the command was not sent. Try again.",
};

export class Controls {
  constructor({ getKey }) {
    this.getKey = getKey;
    this.callId = null;
    this.row = null;
    this.busy = false;
    this.status = $("control-status");
    this.buttons = [$("whisper-send"), $("takeover"), $("end-call")];
    this.lastResult = null;  // for tests: {command, status, ok}
    this.bind();
    this.setCall(null, null);
  }

  bind() {
    $("whisper-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const text = $("whisper-text").value.trim();
      if (!text) return;
      this.send("whisper", { text }).then((ok) => { if (ok) $("whisper-text").value = ""; });
    });
    $("takeover").addEventListener("click", () => {
      $("takeover-agent").value = sessionStorage.getItem(AGENT_STORE) || "";
      $("takeover-dialog").showModal();
    });
    $("takeover-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const agentId = $("takeover-agent").value.trim();
      if (!AGENT_ID.test(agentId)) {
        $("takeover-agent").setCustomValidity("Letters, digits, _ . - only (at most 100).");
        $("takeover-agent").reportValidity();
        return;
      }
      sessionStorage.setItem(AGENT_STORE, agentId);
      $("takeover-dialog").close();
      this.send("takeover", { agent_id: agentId });
    });
    $("takeover-agent").addEventListener("input", (e) => e.target.setCustomValidity(""));
    $("end-call").addEventListener("click", () => {
      $("end-say").value = "";
      $("end-dialog").showModal();
    });
    $("end-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const say = $("end-say").value.trim();
      $("end-dialog").close();
      this.send("end", say ? { say } : {});
    });
    document.querySelectorAll("dialog [data-close]").forEach((button) => {
      button.addEventListener("click", () => button.closest("dialog").close());
    });
  }

  /** The call the controls act on; none (or an ended call) disables them. */
  setCall(callId, row) {
    if (callId !== this.callId) this.show("", false);
    this.callId = callId;
    this.row = row;
    const usable = Boolean(callId) && !(row && row.ended) && !this.busy;
    for (const button of this.buttons) button.disabled = !usable;
  }

  show(text, isError) {
    setText(this.status, text);
    this.status.classList.toggle("error", Boolean(isError));
  }

  async send(command, body) {
    const callId = this.callId;
    const key = this.getKey();
    if (!callId || !key || this.busy) return false;
    this.busy = true;
    this.buttons.forEach((b) => { b.disabled = true; });
    this.show(`Sending ${command}…`, false);
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), REQUEST_TIMEOUT_MS);
    let ok = false;
    try {
      const response = await fetch(`/v1/live/calls/${encodeURIComponent(callId)}/${command}`, {
        method: "POST",
        headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
        body: JSON.stringify(body),
        cache: "no-store",
        signal: abort.signal,
      });
      ok = response.status === 202;
      const answer = await response.json().catch(() => ({}));
      this.lastResult = { command, status: response.status, ok };
      if (ok) {
        this.show(`${command} sent (command ${answer.command_id || "?"}); the timeline shows when it is applied.`, false);
      } else {
        this.show(`${command} failed: ${describe(response.status, answer)}`, true);
      }
    } catch (error) {
      this.lastResult = { command, status: 0, ok: false };
      const why = error.name === "AbortError" ? "no answer in 10 s" : "the analytics service is unreachable";
      this.show(`${command} failed: ${why}.`, true);
    } finally {
      clearTimeout(timer);
      this.busy = false;
      this.setCall(this.callId, this.row);
    }
    return ok;
  }
}

function describe(status, answer) {
  const detail = answer && answer.detail;
  if (status === 422 && Array.isArray(detail)) {
    return detail.map((d) => `${(d.loc || []).slice(-1)[0] || "body"}: ${d.msg}`).join("; ");
  }
  const known = REFUSALS[status];
  if (known) return known;
  return typeof detail === "string" ? `${detail} (HTTP ${status})` : `HTTP ${status}`;
}
