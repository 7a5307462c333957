// The live feed: WS /v1/live/ws (docs/dashboard.md). Authenticates in the first message (a
// browser cannot set headers on a WebSocket, and the key never goes in a URL), reconnects by
// itself with a growing, jittered delay, and follows the watched call again after a reconnect.
// Each (re)connection starts with a snapshot, which the page applies as the whole truth.

const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 15000;
const FULL_DELAY_MS = 10000;       // after 1013 (too many dashboards): wait longer
const MAX_FRAME_CHARS = 8 * 1024 * 1024;  // a bigger frame is dropped unparsed (a broken server)

export class LiveSocket {
  /**
   * @param {{key: string, onMessage: (m: object) => void, onStatus: (s: string, detail?: string) => void,
   *          onRefused: (reason: string) => void}} options
   */
  constructor({ key, onMessage, onStatus, onRefused }) {
    this.key = key;
    this.onMessage = onMessage;
    this.onStatus = onStatus;
    this.onRefused = onRefused;
    this.socket = null;
    this.stopped = false;
    this.delay = FIRST_DELAY_MS;
    this.timer = null;
    this.watching = null;
    this.reconnects = 0;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    const socket = this.socket;
    this.socket = null;
    if (socket && socket.readyState <= WebSocket.OPEN) socket.close(1000, "signed_out");
    this.onStatus("offline");
  }

  /** Follow one call's timeline (one at a time); ``null`` stops following. */
  watch(callId) {
    this.watching = callId;
    this.send(callId ? { type: "watch", call_id: callId } : { type: "unwatch" });
  }

  send(message) {
    const socket = this.socket;
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }

  connect() {
    if (this.stopped) return;
    this.onStatus("connecting");
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/v1/live/ws`);
    this.socket = socket;
    socket.onopen = () => socket.send(JSON.stringify({ type: "auth", key: this.key }));
    socket.onmessage = (event) => this.receive(socket, event);
    socket.onclose = (event) => this.closed(socket, event);
  }

  receive(socket, event) {
    if (socket !== this.socket || typeof event.data !== "string") return;
    if (event.data.length > MAX_FRAME_CHARS) return;
    let message;
    try { message = JSON.parse(event.data); } catch (e) { return; }
    if (!message || typeof message.type !== "string") return;
    if (message.type === "snapshot") {
      this.delay = FIRST_DELAY_MS;
      this.onStatus("live");
      // The server forgets what a connection watched: ask again on every fresh snapshot.
      if (this.watching) this.send({ type: "watch", call_id: this.watching });
    }
    this.onMessage(message);
  }

  closed(socket, event) {
    if (socket !== this.socket) return;
    this.socket = null;
    if (this.stopped) return;
    if (event.code === 1008) {
      // unauthorized or forbidden: retrying with the same key cannot help.
      this.stopped = true;
      this.onStatus("offline");
      this.onRefused(event.reason || "unauthorized");
      return;
    }
    const base = event.code === 1013 ? Math.max(this.delay, FULL_DELAY_MS) : this.delay;
    const wait = base / 2 + Math.random() * base / 2;  // jitter: dashboards do not return in step
    this.delay = Math.min(this.delay * 2, MAX_DELAY_MS);
    this.reconnects += 1;
    this.onStatus("reconnecting", `${event.reason || event.code}; again in ${Math.round(wait / 1000)} s`);
    this.timer = setTimeout(() => this.connect(), wait);
  }
}
