// Softphone: a test call from the browser to any agent with its live transcript, and the staff side: mark yourself
// available, get rung (on every page, bottom right) with the caller's context and whisper, answer, hold, hang up.
// WebRTC without trickle ICE: the browser gathers all candidates first and sends one complete offer.
import { api } from "../api.js";
import { button, card, clear, div, field, h, para, select, span, toast } from "../dom.js";
import { fmtClock, fmtDuration, t, tv } from "../i18n.js";
import * as live from "../live.js";

let available = false;
let ringBox = null;
const rings = new Map();
let active = null;
let tone = null;
const availabilityFns = new Set();

function showAvailable(on) {
  available = on;
  for (const fn of availabilityFns) fn(on);
}

/** Waits until the browser has gathered its ICE candidates (or gives up after a few seconds and sends what it has). */
function iceGathered(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState !== "complete") return;
      pc.removeEventListener("icegatheringstatechange", done);
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      pc.removeEventListener("icegatheringstatechange", done);
      resolve();
    }, 5000);
    pc.addEventListener("icegatheringstatechange", done);
  });
}

/** Microphone + a peer connection whose remote audio plays in `audio`; returns {pc, stream, offer sdp}. */
async function openMedia(audio) {
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true } });
  } catch (err) {
    throw new Error(
      err?.name === "NotAllowedError" ? t("soft.micDenied") : t("soft.micMissing", { msg: err?.message ?? err }),
    );
  }
  const pc = new RTCPeerConnection({ iceServers: [] });
  for (const track of stream.getAudioTracks()) pc.addTrack(track, stream);
  pc.addEventListener("track", (e) => {
    audio.srcObject = e.streams[0] ?? new MediaStream([e.track]);
    audio.play().catch(() => undefined);
  });
  await pc.setLocalDescription(await pc.createOffer());
  await iceGathered(pc);
  return { pc, stream, sdp: pc.localDescription.sdp };
}

function closeMedia(m) {
  for (const track of m?.stream?.getTracks() ?? []) track.stop();
  m?.pc?.close();
}

async function setAvailable(on) {
  const r = await api.post("/api/softphone/available", { available: on });
  if (on) unlockTone();
  showAvailable(r?.available ?? on);
}

// --- ring tone: WebAudio, no asset; it may only start after a click (the toggle), which unlocks it -------------

let audioCtx = null;
function unlockTone() {
  try {
    audioCtx ??= new AudioContext();
    audioCtx.resume().catch(() => undefined);
  } catch {
    audioCtx = null;
  }
}

function startTone() {
  if (!audioCtx || tone) return;
  const beep = () => {
    const now = audioCtx.currentTime;
    for (const at of [0, 0.5]) {
      const osc = audioCtx.createOscillator();
      const gain = audioCtx.createGain();
      osc.frequency.value = 440;
      gain.gain.setValueAtTime(0.0001, now + at);
      gain.gain.exponentialRampToValueAtTime(0.15, now + at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + at + 0.4);
      osc.connect(gain).connect(audioCtx.destination);
      osc.start(now + at);
      osc.stop(now + at + 0.45);
    }
  };
  beep();
  tone = setInterval(beep, 3000);
}

function stopTone() {
  if (rings.size) return;
  clearInterval(tone);
  tone = null;
}

// --- incoming calls, on every page ------------------------------------------------------------------------------

/** Called once after login with the page-wide ring area; returns the teardown for logout. */
export function installRinging(container) {
  ringBox = container;
  const offs = [
    live.on("ring", (e) => {
      if (e?.callId) showRing(e);
    }),
    live.on("ring-cancel", (e) => dropRing(e?.callId)),
    live.on("softphone", (e) => {
      if (e?.state === "ended" && active && e.callId === active.callId) endActive(false);
    }),
    // The server may forget who is available when the event stream drops; say it again once it is back.
    live.onStatus((up) => {
      if (up && available) api.post("/api/softphone/available", { available: true }).catch(() => undefined);
    }),
  ];
  // The box remembers who is available and who is being rung across page loads.
  api
    .get("/api/softphone")
    .then((st) => {
      showAvailable(Boolean(st?.available));
      for (const r of st?.rings ?? []) showRing(r);
    })
    .catch(() => undefined);
  return () => {
    for (const off of offs) off();
    if (active) endActive(true);
    for (const id of [...rings.keys()]) dropRing(id);
    if (available) api.post("/api/softphone/available", { available: false }).catch(() => undefined);
    showAvailable(false);
  };
}

function contextBlock(e) {
  const c = e.context ?? {};
  const slots = Object.entries(c.slots ?? {});
  return [
    c.intent ? h("p", null, h("strong", null, `${t("detail.intent")}: `), c.intent) : null,
    c.summary ? para("summary", c.summary) : null,
    slots.length
      ? h(
          "dl",
          { class: "kv small" },
          slots.map(([k, v]) => [h("dt", null, k), h("dd", null, String(v))]),
        )
      : null,
    e.whisper ? h("blockquote", { class: "whisper", testid: "ring-whisper" }, e.whisper) : null,
  ];
}

function showRing(e) {
  if (!ringBox || rings.has(e.callId)) return;
  const caller = e.context?.caller || e.from || t("common.unknown");
  const answer = button(t("soft.answer"), () => answerRing(e, el, answer), { class: "primary", testid: "ring-answer" });
  const el = h(
    "div",
    {
      class: "ring-card ringing",
      testid: "ring-card",
      "data-call": e.callId,
      role: "alertdialog",
      "aria-label": t("soft.incoming", { caller }),
    },
    h("h3", null, t("soft.incoming", { caller })),
    contextBlock(e),
    div(
      "row end",
      button(
        t("soft.decline"),
        async () => {
          dropRing(e.callId);
          await api.post("/api/softphone/decline", { callId: e.callId }).catch((err) => toast(err.message, "error"));
        },
        { class: "danger", testid: "ring-decline" },
      ),
      answer,
    ),
  );
  rings.set(e.callId, { el, e });
  ringBox.append(el);
  startTone();
  answer.focus({ preventScroll: true });
}

function dropRing(callId) {
  const r = rings.get(callId);
  if (!r) return;
  r.el.remove();
  rings.delete(callId);
  stopTone();
}

async function answerRing(e, el, answerBtn) {
  if (active) return toast(t("soft.busy"), "error");
  answerBtn.disabled = true;
  rings.delete(e.callId);
  stopTone();
  const audio = h("audio", { autoplay: true, testid: "ring-audio" });
  let media;
  try {
    media = await openMedia(audio);
    const r = await api.post("/api/softphone/answer", { callId: e.callId, sdp: media.sdp });
    await media.pc.setRemoteDescription({ type: "answer", sdp: r.sdp });
  } catch (err) {
    closeMedia(media);
    el.remove();
    toast(err.message, "error");
    return;
  }
  active = { callId: e.callId, media, el, held: false, since: Date.now() };
  const timer = h("span", { class: "mono", testid: "ring-timer" }, "0:00");
  active.tick = setInterval(() => {
    timer.textContent = fmtDuration(Date.now() - active.since);
  }, 1000);
  const hold = button(
    t("soft.hold"),
    async () => {
      const next = !active.held;
      try {
        await api.post("/api/softphone/hold", { callId: e.callId, hold: next });
        active.held = next;
        hold.textContent = next ? t("soft.resume") : t("soft.hold");
        hold.setAttribute("aria-pressed", String(next));
        el.classList.toggle("held", next);
      } catch (err) {
        toast(err.message, "error");
      }
    },
    { testid: "ring-hold", "aria-pressed": "false" },
  );
  const mute = button(
    t("soft.mute"),
    () => {
      const track = media.stream.getAudioTracks()[0];
      if (!track) return;
      track.enabled = !track.enabled;
      mute.setAttribute("aria-pressed", String(!track.enabled));
      mute.textContent = track.enabled ? t("soft.mute") : t("soft.unmute");
    },
    { testid: "ring-mute", "aria-pressed": "false" },
  );
  el.classList.remove("ringing");
  el.classList.add("talking");
  el.replaceChildren(
    h("h3", null, t("soft.talking", { caller: e.context?.caller || e.from || "" }), " ", timer),
    h("div", null, contextBlock(e)),
    audio,
    div(
      "row end",
      mute,
      hold,
      button(t("soft.hangup"), () => endActive(true), { class: "danger", testid: "ring-hangup" }),
    ),
  );
  media.pc.addEventListener("connectionstatechange", () => {
    if (active?.media === media && (media.pc.connectionState === "failed" || media.pc.connectionState === "closed"))
      endActive(true);
  });
}

function endActive(tellServer) {
  if (!active) return;
  const a = active;
  active = null;
  clearInterval(a.tick);
  closeMedia(a.media);
  a.el.remove();
  if (tellServer) api.post("/api/softphone/hangup", { callId: a.callId }).catch(() => undefined);
}

// --- the page -----------------------------------------------------------------------------------------------------

export async function render(main, { user }) {
  main.append(h("h1", null, t("nav.softphone")));
  const toggle = h("input", {
    type: "checkbox",
    role: "switch",
    checked: available,
    testid: "softphone-available",
    id: "available",
  });
  const availText = h("span", { testid: "softphone-available-state" });
  const showAvail = (on) => {
    toggle.checked = on;
    availText.textContent = on ? t("soft.availableOn") : t("soft.availableOff");
  };
  showAvail(available);
  availabilityFns.add(showAvail);
  toggle.addEventListener("change", async () => {
    toggle.disabled = true;
    try {
      await setAvailable(toggle.checked);
    } catch (err) {
      toggle.checked = !toggle.checked;
      toast(err.message, "error");
    } finally {
      toggle.disabled = false;
    }
  });
  main.append(
    card(
      t("soft.staff"),
      h(
        "label",
        { class: "switch", for: "available" },
        toggle,
        h("span", null, t("soft.available", { user: user.name })),
      ),
      para("muted", availText, " ", t("soft.availableHint", { target: `browser:${user.name}` })),
    ),
  );

  // Test call.
  const agents = await api
    .get("/api/config/agents")
    .then((r) => (r.value ?? []).map((a) => a.id))
    .catch(() => []);
  const agentSel = agents.length
    ? select(agents, agents[0], { testid: "softphone-agent" })
    : h("input", { testid: "softphone-agent", required: true });
  const state = h("p", { class: "muted", testid: "softphone-state", "aria-live": "polite" }, t("soft.idle"));
  const transcript = h("ol", { class: "transcript live", testid: "softphone-transcript", "aria-live": "polite" });
  const audio = h("audio", { autoplay: true, testid: "softphone-audio" });
  const callBtn = button(t("soft.call"), () => startTest(), { class: "primary", testid: "softphone-call" });
  const hangBtn = button(t("soft.hangup"), () => endTest(true), {
    class: "danger",
    testid: "softphone-hangup",
    disabled: true,
  });
  const muteBtn = button(
    t("soft.mute"),
    () => {
      const track = test?.media?.stream.getAudioTracks()[0];
      if (!track) return;
      track.enabled = !track.enabled;
      muteBtn.textContent = track.enabled ? t("soft.mute") : t("soft.unmute");
      muteBtn.setAttribute("aria-pressed", String(!track.enabled));
    },
    { testid: "softphone-mute", disabled: true, "aria-pressed": "false" },
  );
  main.append(
    div(
      "grid2",
      card(
        t("soft.test"),
        para("hint", t("soft.testHint")),
        field(t("soft.agent"), agentSel),
        div("row", callBtn, muteBtn, hangBtn),
        state,
        audio,
      ),
      card(t("soft.transcript"), transcript),
    ),
  );

  let test = null;
  let after = [];
  const lines = [];
  const drawLines = () => {
    clear(transcript);
    for (const x of lines)
      transcript.append(
        h(
          "li",
          { class: `turn sp-${x.speaker}`, testid: "softphone-line" },
          span("ts", fmtClock(x.atMs < 1e11 ? x.atMs : x.atMs - (test?.since ?? x.atMs))),
          span("speaker", tv("speaker.", x.speaker)),
          span("text", x.text),
        ),
      );
    transcript.lastElementChild?.scrollIntoView({ block: "nearest" });
  };
  const offs = [
    live.on("transcript", (e) => {
      // The box sends the call record's id; the record is learnt from the call events (test.recordId).
      if (!test || !e?.callId || (e.callId !== test.recordId && e.callId !== test.callId)) return;
      test.pushed = true;
      lines.push(e);
      drawLines();
    }),
    // The softphone's call id is not the call record's: the record is the call that starts for this user meanwhile.
    live.on("call", (e) => {
      const c = e?.call;
      if (test && !test.recordId && c?.caller === user.name && c.startedAt >= test.since - 5000) test.recordId = c.id;
    }),
    live.on("softphone", (e) => {
      // The box sends the call record's id; the record is learnt from the call events (test.recordId).
      if (!test || !e?.callId || (e.callId !== test.recordId && e.callId !== test.callId)) return;
      if (e.state === "ended") endTest(false, e.reason);
      else if (e.state === "connected") state.textContent = t("soft.inCall", { agent: test.agent });
    }),
  ];

  async function startTest() {
    const agent = agentSel.value.trim();
    if (!agent) return agentSel.focus();
    callBtn.disabled = true;
    for (const x of after) clearTimeout(x);
    lines.length = 0;
    drawLines();
    state.textContent = t("soft.connecting");
    let media;
    try {
      media = await openMedia(audio);
      const r = await api.post("/api/softphone/test-call", { agent, sdp: media.sdp });
      await media.pc.setRemoteDescription({ type: "answer", sdp: r.sdp });
      test = { callId: r.callId, agent, media, since: Date.now(), pushed: false };
      state.textContent = t("soft.ringingAgent", { agent });
      hangBtn.disabled = false;
      muteBtn.disabled = false;
      media.pc.addEventListener("connectionstatechange", () => {
        if (test?.media === media && (media.pc.connectionState === "failed" || media.pc.connectionState === "closed"))
          endTest(true);
      });
      test.poll = setInterval(() => poll(), 2000);
    } catch (err) {
      closeMedia(media);
      state.textContent = err.message;
      callBtn.disabled = false;
    }
  }
  // Without live transcript events the call's record is read now and then, and once more after the call.
  async function poll(id = test?.recordId) {
    if (!id || test?.pushed) return;
    const d = await api.get(`/api/calls/${encodeURIComponent(id)}`).catch(() => null);
    if (!d?.transcript?.length || test?.pushed) return;
    lines.splice(0, lines.length, ...d.transcript);
    drawLines();
  }
  function endTest(tellServer, reason) {
    if (!test) return;
    const x = test;
    test = null;
    clearInterval(x.poll);
    closeMedia(x.media);
    audio.srcObject = null;
    if (tellServer) api.post("/api/softphone/hangup", { callId: x.callId }).catch(() => undefined);
    state.replaceChildren(reason ? `${t("soft.ended")} (${reason}) ` : `${t("soft.ended")} `);
    if (x.recordId) {
      state.append(
        h("a", { href: `#/chats/${encodeURIComponent(x.recordId)}`, testid: "softphone-chat" }, t("soft.openChat")),
      );
      // The transcript is stored after the call (post-call pipeline): fetch it twice, a moment later.
      after = [setTimeout(() => poll(x.recordId), 1500), setTimeout(() => poll(x.recordId), 5000)];
    }
    callBtn.disabled = false;
    hangBtn.disabled = true;
    muteBtn.disabled = true;
  }
  return () => {
    endTest(true);
    for (const x of after) clearTimeout(x);
    availabilityFns.delete(showAvail);
    for (const off of offs) off();
  };
}
