// Switchboard agent desk: sign in, take offered calls, talk to the caller over the bridge.
// Wire contracts: docs/handoff.md sections 3 (bridge) and 4 (desk). Plain JavaScript, no build.
"use strict";
(() => {
  const RATE = 24000;                        // bridge audio: PCM16 little-endian mono, 24 kHz
  const FRAME_SAMPLES = (RATE * 60) / 1000;  // 60 ms per binary frame (2880 bytes)
  const MAX_SOCKET_BACKLOG = 256 * 1024;     // beyond this unsent, microphone frames are dropped
  const MAX_PLAYBACK_AHEAD_S = 1.0;          // received audio queued further ahead is dropped
  const MAX_LOG_ENTRIES = 100;
  const KEY_STORE = "switchboard.deskKey";
  const $ = (id) => document.getElementById(id);

  // Test and debugging hooks: counts only, never audio or words.
  const deskState = {
    connected: false, signedIn: false, agentId: null, available: false,
    offerId: null, callId: null, bridge: "idle",
    audioBytesSent: 0, audioBytesReceived: 0, framesSent: 0, framesReceived: 0,
    framesDropped: 0, receivedRms: 0, receivedRmsMax: 0, sentRms: 0, sentRmsMax: 0,
    sampleRate: null,
  };
  window.deskState = deskState;

  let desk = null;
  let signingOut = false;
  let reconnectDelay = 1000;
  let offer = null;        // {offer_id, expiresAt, waitedAt, waited_s}
  let offerTimer = null;
  let bridge = null;
  let audio = null;        // {ctx, playhead, sources}
  let mic = null;          // {stream, nodes}

  // ---- page helpers ----------------------------------------------------------------------

  function log(text, cls) {
    const item = document.createElement("li");
    item.textContent = `${new Date().toLocaleTimeString()}  ${text}`;
    if (cls) item.className = cls;
    const list = $("log");
    list.prepend(item);
    while (list.children.length > MAX_LOG_ENTRIES) list.lastChild.remove();
  }

  function setStatus(text) { $("status").textContent = text; }

  function show(id, visible) { $(id).hidden = !visible; }

  function send(socket, message) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }

  // ---- the desk connection ---------------------------------------------------------------

  function connect() {
    const key = sessionStorage.getItem(KEY_STORE);
    if (!key) { showSignIn("Signed out."); return; }
    signingOut = false;
    setStatus("Connecting…");
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/v1/desk/ws`);
    desk = socket;
    socket.onopen = () => socket.send(JSON.stringify({ type: "auth", key }));
    socket.onmessage = (m) => {
      let message;
      try { message = JSON.parse(m.data); } catch (e) { return; }
      onDeskMessage(message);
    };
    socket.onclose = (e) => {
      if (desk !== socket) return;
      desk = null;
      deskState.connected = deskState.signedIn = deskState.available = false;
      hideOffer();
      if (e.code === 1008 && e.reason === "unauthorized") {
        sessionStorage.removeItem(KEY_STORE);
        showSignIn("That desk key was refused.");
        log("sign-in refused", "error");
      } else if (signingOut || e.reason === "signed_in_elsewhere") {
        if (!signingOut) log("signed in from another tab or device", "error");
        showSignIn("Signed out.");
      } else {
        setStatus(`Disconnected (${e.reason || e.code}); reconnecting…`);
        $("available").checked = false;
        setTimeout(connect, reconnectDelay);
        reconnectDelay = Math.min(reconnectDelay * 2, 15000);
      }
    };
  }

  function onDeskMessage(message) {
    switch (message.type) {
      case "hello":
        reconnectDelay = 1000;
        Object.assign(deskState, { connected: true, signedIn: true, agentId: message.agent_id });
        $("agent-name").textContent = message.name;
        $("agent-queues").textContent = "Queues: " + message.queues.join(", ");
        $("available").checked = false;
        show("who", true);
        show("sign-in", false);
        setStatus("Signed in. Tick Available to receive calls.");
        log(`signed in as ${message.name}`);
        break;
      case "status":
        deskState.available = message.available;
        $("available").checked = message.available;
        setStatus(message.available ? "Available: waiting for calls." : "Not available.");
        break;
      case "offer": showOffer(message); break;
      case "offer.withdrawn":
        if (offer && offer.offer_id === message.offer_id) {
          hideOffer();
          log(`offer withdrawn (${message.reason.replace(/_/g, " ")})`);
        }
        break;
      case "assigned":
        hideOffer();
        startBridge(message.call_id, message.bridge_url);
        break;
      case "call.ended":
        if (deskState.callId === message.call_id) finishCall(`call ended (${message.reason || "ended"})`);
        break;
      case "error":
        if (message.code === "offer_gone") hideOffer();
        log(`${message.code}: ${message.message}`, "error");
        break;
    }
  }

  function showSignIn(text) {
    show("sign-in", true);
    show("who", false);
    setStatus(text);
  }

  // ---- offers ----------------------------------------------------------------------------

  function showOffer(message) {
    offer = {
      offer_id: message.offer_id,
      expiresAt: performance.now() + message.expires_in_s * 1000,
      shownAt: performance.now(),
      waited_s: message.waited_s,
    };
    deskState.offerId = message.offer_id;
    $("offer-queue").textContent = message.queue;
    $("offer-priority").textContent = String(message.priority);
    $("offer-summary").textContent = message.summary || "No summary.";
    const reasons = $("offer-reasons");
    reasons.replaceChildren(...(message.reasons || []).map((r) => {
      const item = document.createElement("li");
      item.textContent = r;
      return item;
    }));
    const transcript = $("offer-transcript");
    transcript.replaceChildren(...(message.transcript || []).map((turn) => {
      const row = document.createElement("div");
      row.className = "turn";
      const role = document.createElement("span");
      role.className = "role";
      role.textContent = turn.role === "user" ? "caller" : turn.role;
      row.append(role, document.createTextNode(turn.text));
      return row;
    }));
    $("accept").disabled = $("decline").disabled = false;
    show("offer", true);
    tickOffer();
    clearInterval(offerTimer);
    offerTimer = setInterval(tickOffer, 250);
    log(`call offered from ${message.queue}`);
  }

  function tickOffer() {
    if (!offer) return;
    const now = performance.now();
    $("offer-countdown").textContent = String(Math.max(0, Math.ceil((offer.expiresAt - now) / 1000)));
    $("offer-waited").textContent = String(Math.round(offer.waited_s + (now - offer.shownAt) / 1000));
  }

  function hideOffer() {
    offer = null;
    deskState.offerId = null;
    clearInterval(offerTimer);
    show("offer", false);
  }

  // ---- the bridge: audio both ways -------------------------------------------------------

  function ensureAudio() {
    // Created on a click (Accept), so the browser lets it play.
    if (!audio) {
      const ctx = new AudioContext();
      audio = { ctx, playhead: 0, sources: new Set() };
      deskState.sampleRate = ctx.sampleRate;
    }
    if (audio.ctx.state === "suspended") audio.ctx.resume();
    return audio;
  }

  function startBridge(callId, bridgeUrl) {
    deskState.callId = callId;
    deskState.bridge = "connecting";
    $("call-id").textContent = callId;
    $("call-state").textContent = "connecting";
    show("call", true);
    setStatus("Connecting you to the caller…");
    const url = bridgeUrl.replace(/^http(s?):\/\//, "ws$1://");
    const socket = new WebSocket(url);
    socket.binaryType = "arraybuffer";
    bridge = socket;
    socket.onmessage = (m) => {
      if (typeof m.data !== "string") { play(m.data); return; }
      let message;
      try { message = JSON.parse(m.data); } catch (e) { return; }
      if (message.type === "bridge.ready") {
        deskState.bridge = "open";
        $("call-state").textContent = "connected";
        setStatus("You are talking to the caller.");
        log("connected to the caller");
        startMicrophone().catch((err) => log(`microphone: ${err.message || err}`, "error"));
      } else if (message.type === "bridge.ended") {
        finishCall(`the caller hung up (${message.reason || "ended"})`);
      }
    };
    socket.onclose = (e) => {
      if (bridge === socket && deskState.callId) finishCall(`bridge closed (${e.reason || e.code})`);
    };
  }

  function play(buffer) {
    const { ctx } = ensureAudio();
    const pcm = new Int16Array(buffer, 0, buffer.byteLength >> 1);
    deskState.framesReceived++;
    deskState.audioBytesReceived += buffer.byteLength;
    if (!pcm.length) return;
    let energy = 0;
    const samples = ctx.createBuffer(1, pcm.length, RATE);  // Web Audio resamples to the device
    const out = samples.getChannelData(0);
    for (let i = 0; i < pcm.length; i++) {
      out[i] = pcm[i] / 32768;
      energy += out[i] * out[i];
    }
    const rms = Math.sqrt(energy / pcm.length);
    deskState.receivedRms = rms;
    deskState.receivedRmsMax = Math.max(deskState.receivedRmsMax, rms);
    $("meter-in").value = rms;
    const start = Math.max(audio.playhead, ctx.currentTime + 0.06);
    if (start - ctx.currentTime > MAX_PLAYBACK_AHEAD_S) { deskState.framesDropped++; return; }
    const source = ctx.createBufferSource();
    source.buffer = samples;
    source.connect(ctx.destination);
    source.start(start);
    audio.playhead = start + samples.duration;
    audio.sources.add(source);
    source.onended = () => audio.sources.delete(source);
  }

  function resampler(fromRate) {
    // Linear interpolation from the context's rate to 24 kHz, continuous across blocks.
    const step = fromRate / RATE;
    let position = 0;   // next output sample, in input samples; -1 is the previous block's last
    let previous = 0;
    return (input) => {
      const out = [];
      while (position < input.length - 1) {
        const i = Math.floor(position);
        const frac = position - i;
        const a = i < 0 ? previous : input[i];
        out.push(a + (input[i + 1] - a) * frac);
        position += step;
      }
      position -= input.length;
      if (input.length) previous = input[input.length - 1];
      return out;
    };
  }

  async function startMicrophone() {
    const { ctx } = ensureAudio();
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 },
    });
    if (!deskState.callId) { stream.getTracks().forEach((t) => t.stop()); return; }
    const source = ctx.createMediaStreamSource(stream);
    const silent = ctx.createGain();
    silent.gain.value = 0;
    silent.connect(ctx.destination);
    const toRate = resampler(ctx.sampleRate);
    let frame = new Int16Array(FRAME_SAMPLES);
    let filled = 0;
    let energy = 0;
    const onBlock = (block) => {
      for (const sample of toRate(block)) {
        const clipped = Math.max(-1, Math.min(1, sample));
        energy += clipped * clipped;
        frame[filled++] = Math.round(clipped * 32767);
        if (filled === FRAME_SAMPLES) {
          deskState.sentRms = Math.sqrt(energy / FRAME_SAMPLES);
          deskState.sentRmsMax = Math.max(deskState.sentRmsMax, deskState.sentRms);
          $("meter-out").value = deskState.sentRms;
          sendFrame(frame);
          frame = new Int16Array(FRAME_SAMPLES);
          filled = 0;
          energy = 0;
        }
      }
    };
    let node;
    if (ctx.audioWorklet && window.AudioWorkletNode) {
      const code = `class Capture extends AudioWorkletProcessor {
        process(inputs) { const ch = inputs[0][0]; if (ch) this.port.postMessage(ch.slice(0)); return true; }
      }
      registerProcessor("desk-capture", Capture);`;
      const moduleUrl = URL.createObjectURL(new Blob([code], { type: "text/javascript" }));
      await ctx.audioWorklet.addModule(moduleUrl);
      node = new AudioWorkletNode(ctx, "desk-capture");
      node.port.onmessage = (e) => onBlock(e.data);
    } else {
      node = ctx.createScriptProcessor(2048, 1, 1);
      node.onaudioprocess = (e) => onBlock(e.inputBuffer.getChannelData(0));
    }
    source.connect(node);
    node.connect(silent);
    mic = { stream, nodes: [source, node, silent] };
  }

  function sendFrame(frame) {
    if (!bridge || bridge.readyState !== WebSocket.OPEN) return;
    if (bridge.bufferedAmount > MAX_SOCKET_BACKLOG) { deskState.framesDropped++; return; }
    bridge.send(frame.buffer);
    deskState.framesSent++;
    deskState.audioBytesSent += frame.byteLength;
  }

  function stopMicrophone() {
    if (!mic) return;
    mic.stream.getTracks().forEach((t) => t.stop());
    mic.nodes.forEach((n) => { try { n.disconnect(); } catch (e) { /* already */ } });
    mic = null;
  }

  function endCall() {
    const callId = deskState.callId;
    if (!callId) return;
    send(bridge, { type: "bridge.end" });
    send(desk, { type: "end", call_id: callId });
    finishCall("you ended the call");
  }

  function finishCall(reason) {
    if (!deskState.callId) return;
    stopMicrophone();
    if (audio) {
      audio.sources.forEach((s) => { try { s.stop(); } catch (e) { /* ended */ } });
      audio.sources.clear();
      audio.playhead = 0;
    }
    const socket = bridge;
    bridge = null;
    if (socket && socket.readyState <= WebSocket.OPEN) socket.close(1000, "agent_done");
    deskState.callId = null;
    deskState.bridge = "ended";
    show("call", false);
    setStatus(deskState.available ? "Available: waiting for calls." : "Not available.");
    log(reason);
  }

  // ---- controls ----------------------------------------------------------------------------

  $("sign-in-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const key = $("key").value.trim();
    if (!key) return;
    sessionStorage.setItem(KEY_STORE, key);
    $("key").value = "";
    if (desk) desk.close(1000, "signing_in_again");
    connect();
  });
  $("sign-out").addEventListener("click", () => {
    signingOut = true;
    sessionStorage.removeItem(KEY_STORE);
    if (desk) desk.close(1000, "signed_out"); else showSignIn("Signed out.");
  });
  $("available").addEventListener("change", (e) => {
    send(desk, { type: "status", available: e.target.checked });
  });
  $("accept").addEventListener("click", () => {
    if (!offer) return;
    ensureAudio();
    $("accept").disabled = $("decline").disabled = true;
    send(desk, { type: "accept", offer_id: offer.offer_id });
  });
  $("decline").addEventListener("click", () => {
    if (!offer) return;
    send(desk, { type: "decline", offer_id: offer.offer_id });
    hideOffer();
    log("offer declined");
  });
  $("end-call").addEventListener("click", endCall);

  connect();
})();
