// The browser softphone with a real Chromium (fake microphone playing an espeak-ng WAV) against a real media engine
// and real CallSessions: a test call's speech reaches the engine and the call recording, the engine's tone reaches
// the browser, and a staff browser rung as "browser:alice" gets the ring with its card, answers, is bridged to the
// caller both ways, goes on hold (nothing reaches it) and hangs up (the leg ends by the remote side).
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { BrowserContext, Page } from "playwright-core";
import { bridgeCalls, type CallDeps, CallSession } from "../daemon/calls/call-session.ts";
import { configSchema } from "../daemon/config/schema.ts";
import { MediaEngine } from "../daemon/media/engine.ts";
import { silentLog } from "../daemon/ops/log.ts";
import type { LegEndCause } from "../daemon/sip/types.ts";
import { CallRecords } from "../daemon/store/calls.ts";
import { closeDb, openDb } from "../daemon/store/db.ts";
import { softphoneRoutes } from "../daemon/web/api/softphone.ts";
import { HttpError, type RouteContext } from "../daemon/web/route.ts";
import { type RingCard, Softphone } from "../daemon/web/softphone/softphone.ts";
import type { WebRtcInboundLeg } from "../daemon/web/softphone/webrtc-legs.ts";
import { generateSpeechWav, resampleWav } from "./audio/fixtures.ts";
import { activeSeconds, envelopeCorrelation } from "./audio/signal.ts";
import { finishedWav, readWav, readWavMono } from "./audio/wav.ts";
import { type ChromiumHandle, launchChromium, skipUnlessChromium } from "./peers/chromium.ts";

const skip = skipUnlessChromium("espeak-ng", "sox");

const TEXT =
  "Hello, I am calling from the browser. Please tell me when my parcel arrives, it was sent on Monday morning.";
const STAFF_TONE_HZ = 700;
const BOX_TONE_HZ = 1000;

// The page both browsers load: the caller sends the fake microphone, the staff member a 700 Hz oscillator (so each
// direction can be told apart); both measure what they receive with an AnalyserNode and getStats.
const PAGE = `<!doctype html><html><body><script>
const USER = new URLSearchParams(location.search).get("user");
let pc, ctx, analyser, callId;
async function api(path, body) {
  const r = await fetch(path, { method: "POST", headers: { "content-type": "application/json", "x-user": USER },
    body: JSON.stringify(body) });
  const text = await r.text();
  if (!r.ok) throw new Error(path + ": " + r.status + " " + text);
  return text ? JSON.parse(text) : undefined;
}
async function audio() {
  ctx ??= new AudioContext();
  await ctx.resume();
  return ctx;
}
async function source(kind) {
  if (kind === "mic")
    return navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: false, noiseSuppression: false,
      autoGainControl: false } });
  const c = await audio();
  const osc = c.createOscillator();
  osc.frequency.value = ${STAFF_TONE_HZ};
  const gain = c.createGain();
  gain.gain.value = 0.3;
  const dst = c.createMediaStreamDestination();
  osc.connect(gain).connect(dst);
  osc.start();
  return dst.stream;
}
async function offer(kind) {
  const stream = await source(kind);
  pc = new RTCPeerConnection();
  for (const t of stream.getAudioTracks()) pc.addTrack(t, stream);
  pc.ontrack = async (e) => {
    const remote = e.streams[0] || new MediaStream([e.track]);
    // Chromium feeds WebAudio from a remote stream only while a media element plays it too
    const el = new Audio();
    el.srcObject = remote;
    el.muted = true;
    el.play().catch(() => {});
    const c = await audio();
    analyser = c.createAnalyser();
    analyser.fftSize = 4096;
    c.createMediaStreamSource(remote).connect(analyser);
  };
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    if (pc.iceGatheringState === "complete") return resolve();
    pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && resolve();
    setTimeout(resolve, 3000);
  });
  return pc.localDescription.sdp;
}
window.testCall = async (agent) => {
  const sdp = await offer("mic");
  const r = await api("/api/softphone/test-call", { agent, sdp });
  callId = r.callId;
  await pc.setRemoteDescription({ type: "answer", sdp: r.sdp });
  return callId;
};
window.available = (on) => api("/api/softphone/available", { available: on });
window.answer = async (id) => {
  const sdp = await offer("tone");
  const r = await api("/api/softphone/answer", { callId: id, sdp });
  callId = id;
  await pc.setRemoteDescription({ type: "answer", sdp: r.sdp });
};
window.dtmf = (tones) => pc.getSenders()[0].dtmf.insertDTMF(tones, 120, 80);
window.hold = (on) => api("/api/softphone/hold", { callId, hold: on });
window.hangup = () => api("/api/softphone/hangup", { callId });
window.rtpIn = async () => {
  let packets = 0;
  (await pc.getStats()).forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "audio") packets = s.packetsReceived;
  });
  return packets;
};
// What arrives over the next ms: RMS of the samples and the strongest frequency, plus RTP packets received.
window.measure = async (ms) => {
  const before = await window.rtpIn();
  const t = new Float32Array(analyser ? analyser.fftSize : 1);
  const f = new Float32Array(analyser ? analyser.frequencyBinCount : 1);
  const sum = new Float64Array(f.length);
  let sq = 0, n = 0, frames = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    await new Promise((r) => setTimeout(r, 50));
    if (!analyser) continue;
    analyser.getFloatTimeDomainData(t);
    for (const v of t) { sq += v * v; n++; }
    analyser.getFloatFrequencyData(f);
    for (let i = 0; i < f.length; i++) sum[i] += 10 ** (f[i] / 10);
    frames++;
  }
  let peak = 0;
  for (let i = 1; i < sum.length; i++) if (sum[i] > sum[peak]) peak = i;
  const after = await window.rtpIn();
  return { rms: n ? Math.sqrt(sq / n) : 0, peakHz: frames ? (peak * ctx.sampleRate) / (2 * f.length) : 0,
    packets: after - before, state: pc.connectionState };
};
</script></body></html>`;

/** What the page puts on its global object for the test to drive. */
interface PageApi {
  testCall(agent: string): Promise<string>;
  available(on: boolean): Promise<unknown>;
  answer(callId: string): Promise<void>;
  dtmf(tones: string): void;
  hold(on: boolean): Promise<unknown>;
  hangup(): Promise<unknown>;
  measure(ms: number): Promise<Measured>;
}

interface Measured {
  rms: number;
  peakHz: number;
  packets: number;
  state: string;
}

function bodyOf(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => {
      const text = Buffer.concat(parts).toString("utf8");
      try {
        resolve(text ? JSON.parse(text) : undefined);
      } catch (e) {
        reject(e);
      }
    });
    req.on("error", reject);
  });
}

/** The softphone routes on plain HTTP (the real server adds TLS, sessions and CSRF); the user comes from x-user. */
function serve(softphone: Softphone): Promise<Server> {
  const routes = softphoneRoutes({ softphone });
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (url.pathname === "/") {
      res.writeHead(200, { "content-type": "text/html" }).end(PAGE);
      return;
    }
    const r = routes.find((x) => x.method === req.method && x.path === url.pathname);
    if (!r) {
      res.writeHead(404).end();
      return;
    }
    try {
      const raw = await bodyOf(req);
      const body = r.body ? r.body.parse(raw) : undefined;
      const user = String(req.headers["x-user"] ?? "");
      const ctx = { req, res, url, params: {}, query: {}, body, remoteAddress: "127.0.0.1", audit: () => undefined };
      const out = await r.handle({ ...ctx, user: { name: user, role: "staff", mustChange: false } } as RouteContext);
      if (out === undefined) res.writeHead(204).end();
      else res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(out));
    } catch (e) {
      const status = e instanceof HttpError ? e.status : 500;
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ error: String(e) }));
    }
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(get: () => T | undefined, what: string, limitMs = 15_000): Promise<T> {
  const end = Date.now() + limitMs;
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

function concat(frames: Int16Array[]): Float32Array {
  const out = new Float32Array(frames.reduce((n, f) => n + f.length, 0));
  let o = 0;
  for (const f of frames) {
    for (let i = 0; i < f.length; i++) out[o + i] = f[i] / 32768;
    o += f.length;
  }
  return out;
}

/**
 * How well `got` follows the spoken WAV, which Chromium's fake microphone plays in a loop: the median, over 1.25 s
 * pieces of `got`, of the best envelope correlation with the looped file. Pieces, because a real path may shift the
 * audio by a few tens of ms now and then (jitter buffer, capture), which one lag for the whole would penalise.
 */
function followsSource(src: Float32Array, got: Float32Array, rate: number): number {
  const looped = new Float32Array(src.length * 3);
  for (let i = 0; i < 3; i++) looped.set(src, i * src.length);
  const piece = Math.round(rate * 1.25);
  const rs: number[] = [];
  for (let o = 0; o + piece <= got.length; o += piece) {
    const part = got.subarray(o, o + piece);
    // only pieces with speech in them say anything about the envelope
    if (activeSeconds(part, rate) < 0.4) continue;
    rs.push(envelopeCorrelation(looped, part, rate, 10, Math.ceil((src.length / rate) * 1000) * 2).r);
  }
  rs.sort((a, b) => a - b);
  return rs.length ? rs[Math.floor(rs.length / 2)] : 0;
}

describe("browser softphone in Chromium", { skip, timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "softphone-test-"));
  const events: { event: string; data: unknown; user: string }[] = [];
  const card: RingCard = {
    from: "tester",
    context: { caller: "tester", intent: "parcel", summary: "asks when the parcel arrives", slots: { day: "Monday" } },
    whisper: "A caller asks about a parcel",
  };
  let engine: MediaEngine;
  let softphone: Softphone;
  let server: Server;
  let chromium: ChromiumHandle | undefined;
  let browser: BrowserContext | undefined;
  let db: ReturnType<typeof openDb>;
  let deps: CallDeps;
  let speech16k: string;
  let base: string;

  before(async () => {
    speech16k = generateSpeechWav(TEXT, { rate: 16000 });
    const speech48k = resampleWav(speech16k, 48000);
    const config = configSchema.parse({
      media: { rtpAddress: "127.0.0.1", rtpPortMin: 31700, rtpPortMax: 31799, codecs: ["G722", "PCMU"] },
      recording: { calls: true },
    });
    engine = await MediaEngine.start({ media: config.media, log: silentLog });
    softphone = new Softphone({
      publish: (event, data, { user }) => events.push({ event, data, user }),
      log: silentLog,
      engineAddress: "127.0.0.1",
    });
    db = openDb(":memory:");
    deps = {
      config,
      media: engine,
      cdr: new CallRecords(db),
      log: silentLog,
      recordingsDir: join(dir, "recordings"),
      // what main.ts does with "browser:" targets, with the card the flow line would pass along
      dial: (o) => softphone.dial({ ...o, card }),
    };
    server = await serve(softphone);
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    chromium = await launchChromium({ fakeMicWav: speech48k });
    browser = await chromium.browser.newContext();
  });

  after(async () => {
    await chromium?.close();
    softphone?.close();
    await engine?.stop();
    server?.close();
    if (db) closeDb(db);
    rmSync(dir, { recursive: true, force: true });
  });

  async function open(user: string): Promise<Page> {
    assert.ok(browser);
    const page = await browser.newPage();
    page.setDefaultTimeout(20_000);
    await page.goto(`${base}?user=${user}`);
    return page;
  }

  const measure = (page: Page, ms: number) => page.evaluate((t) => (globalThis as unknown as PageApi).measure(t), ms);

  // State the steps below share: they run in order, each on what the one before set up.
  let caller: Page;
  let staff: Page;
  let callerSession: CallSession;
  let human: CallSession;
  let callId: string;
  let bridged: Promise<void>;
  let toCaller: Measured;
  const calls: { agentId: string; session: Promise<CallSession> }[] = [];

  it("a test call's microphone speech reaches the engine (what the speech pipeline hears)", async (t) => {
    softphone.on("call", (leg: WebRtcInboundLeg, agentId: string) => {
      // what main.ts does: answer like a SIP call, then run the agent's flow (not here)
      calls.push({ agentId, session: CallSession.answer(leg, deps) });
    });
    caller = await open("tester");
    callId = await caller.evaluate(() => (globalThis as unknown as PageApi).testCall("sales"));
    const call = await until(() => calls[0], "the call event");
    assert.equal(call.agentId, "sales");
    callerSession = await call.session;
    assert.equal(callerSession.leg.info.fromUser, "tester");
    assert.ok(
      events.some((e) => e.event === "softphone" && e.user === "tester"),
      "the page hears it is connected",
    );

    const heard: Int16Array[] = [];
    callerSession.media.on("audio", (f) => heard.push(f.slice()));
    callerSession.media.listen(true);
    // The first seconds of the first call run while the process still warms up (JIT, first recording), and the
    // engine's jitter buffer catches up on the resulting bursts by dropping audio: judge the audio from 2.5 s on.
    await until(() => (heard.length >= 125 ? true : undefined), "caller audio at the engine");
    const from = heard.length;
    const cpu0 = process.cpuUsage();
    const wall0 = performance.now();
    await until(() => (heard.length >= from + 250 ? true : undefined), "5 s of caller audio at the engine");
    callerSession.media.listen(false);
    const cpu = process.cpuUsage(cpu0);
    const wallMs = performance.now() - wall0;
    t.diagnostic(
      `one browser call, steady state: daemon process CPU ${(((cpu.user + cpu.system) / 1000 / wallMs) * 100).toFixed(1)} % of one core over ${(wallMs / 1000).toFixed(1)} s (werift + Opus + gateway + media worker + this test)`,
    );
    const got = concat(heard.slice(from));
    const r = followsSource(readWavMono(speech16k).samples, got, 16000);
    t.diagnostic(
      `engine: ${activeSeconds(got, 16000).toFixed(2)} s active of ${(got.length / 16000).toFixed(2)} s, envelope r=${r.toFixed(3)} (median of 1.25 s pieces)`,
    );
    assert.ok(activeSeconds(got, 16000) > 1.5, "speech at the engine");
    assert.ok(r > 0.85, `the engine's audio follows the spoken WAV: envelope r=${r}`);
  });

  it("keys pressed in the browser (RFC 4733 over WebRTC) arrive as the call's digits", async () => {
    const digits: string[] = [];
    const unsubscribe = callerSession.digits.subscribe((d) => digits.push(d));
    await caller.evaluate(() => (globalThis as unknown as PageApi).dtmf("5#"));
    await until(() => (digits.length >= 2 ? true : undefined), "the digits 5 and #", 5000);
    unsubscribe();
    assert.deepEqual(digits, ["5", "#"]);
  });

  it("a tone the engine plays reaches the browser", async (t) => {
    const quiet = await measure(caller, 600);
    const tone = new AbortController();
    void callerSession.media.play({ tone: { frequencies: [BOX_TONE_HZ], durationMs: 3000 } }, { signal: tone.signal });
    await sleep(300);
    const loud = await measure(caller, 1200);
    tone.abort();
    t.diagnostic(`caller browser: before the tone ${JSON.stringify(quiet)}, during ${JSON.stringify(loud)}`);
    assert.equal(loud.state, "connected");
    assert.ok(loud.packets >= 40, `RTP into the browser: ${loud.packets} packets in 1.2 s`);
    assert.ok(loud.rms > 0.05 && loud.rms > 5 * quiet.rms, `tone level ${loud.rms} vs ${quiet.rms} before`);
    assert.ok(Math.abs(loud.peakHz - BOX_TONE_HZ) < 30, `the browser's strongest frequency ${loud.peakHz} Hz`);
  });

  it("a staff browser marked available is rung with the card, answers, and is bridged to the caller", async (t) => {
    staff = await open("alice");
    await staff.evaluate(() => (globalThis as unknown as PageApi).available(true));
    assert.ok(softphone.isAvailable("alice"));
    const ringing = CallSession.dial("browser:alice", deps, {
      linkedTo: callerSession.id,
      ringTimeoutMs: 20_000,
      signal: callerSession.signal,
    });
    const ring = await until(() => events.find((e) => e.event === "ring" && e.user === "alice"), "the ring event");
    const ringData = ring.data as { callId: string } & RingCard;
    assert.deepEqual(ringData.context, card.context);
    assert.equal(ringData.whisper, card.whisper);
    assert.equal(ringData.from, "tester");
    await staff.evaluate((id) => (globalThis as unknown as PageApi).answer(id), ringData.callId);
    human = await ringing;
    assert.equal(human.leg.state, "confirmed");
    assert.ok(!events.some((e) => e.event === "ring-cancel" && e.user === "alice"), "no ring-cancel to who answered");
    bridged = bridgeCalls(callerSession, human);
    await sleep(500);
    const cpu0 = process.cpuUsage();
    const wall0 = performance.now();
    const toStaff = await measure(staff, 1500);
    toCaller = await measure(caller, 1500);
    const cpu = process.cpuUsage(cpu0);
    t.diagnostic(
      `two bridged browser calls: daemon process CPU ${(((cpu.user + cpu.system) / 1000 / (performance.now() - wall0)) * 100).toFixed(1)} % of one core`,
    );
    t.diagnostic(`bridged: staff hears ${JSON.stringify(toStaff)}; caller hears ${JSON.stringify(toCaller)}`);
    assert.ok(toStaff.packets >= 50 && toStaff.rms > 0.01, "the caller's speech reaches the staff browser");
    assert.ok(Math.abs(toCaller.peakHz - STAFF_TONE_HZ) < 30, `the caller hears the staff tone: ${toCaller.peakHz} Hz`);
    assert.ok(toCaller.rms > 0.03, `staff tone level at the caller ${toCaller.rms}`);
  });

  it("hold: nothing reaches the staff browser and the caller no longer hears it; resume brings audio back", async (t) => {
    await staff.evaluate(() => (globalThis as unknown as PageApi).hold(true));
    await sleep(300);
    const heldStaff = await measure(staff, 1000);
    const heldCaller = await measure(caller, 1000);
    t.diagnostic(`held: staff ${JSON.stringify(heldStaff)}; caller ${JSON.stringify(heldCaller)}`);
    assert.ok(heldStaff.packets <= 3, `packets to a held browser: ${heldStaff.packets}`);
    assert.ok(heldCaller.rms < toCaller.rms / 5, `the caller hears ${heldCaller.rms} while held`);
    await staff.evaluate(() => (globalThis as unknown as PageApi).hold(false));
    await sleep(300);
    const resumed = await measure(staff, 800);
    assert.ok(resumed.packets >= 25 && resumed.rms > 10 * heldStaff.rms, `after resume: ${JSON.stringify(resumed)}`);
  });

  it("hangup in the staff browser ends that leg by the remote side; the bridge ends the caller's call", async (t) => {
    const humanEnded = new Promise<LegEndCause>((resolve) => human.leg.once("ended", resolve));
    const callerEnded = new Promise<LegEndCause>((resolve) => callerSession.leg.once("ended", resolve));
    await staff.evaluate(() => (globalThis as unknown as PageApi).hangup());
    assert.deepEqual(await humanEnded, { by: "remote", reason: "bye" });
    assert.deepEqual(await callerEnded, { by: "local", reason: "hangup" });
    await bridged;
    const endedFor = (user: string, id: string) =>
      events.find((e) => {
        const d = e.data as { callId?: string; state?: string };
        return e.event === "softphone" && e.user === user && d.state === "ended" && d.callId === id;
      });
    await until(() => endedFor("tester", callId), "the caller's ended event");
    await until(() => endedFor("alice", human.leg.info.callId), "the staff member's ended event");
    assert.equal(deps.cdr.get(human.id)?.hangupSide, "callee");
    assert.deepEqual(softphone.state("alice").calls, []);

    // the recording of the test call holds the caller's speech on the left channel
    const rec = deps.cdr.get(callerSession.id)?.recordingPath;
    assert.ok(rec && existsSync(rec), `recording ${rec}`);
    const wav = readWav(await finishedWav(rec));
    const left = wav.channels[0];
    const recR = followsSource(
      readWavMono(wav.rate === 16000 ? speech16k : resampleWav(speech16k, wav.rate)).samples,
      left,
      wav.rate,
    );
    t.diagnostic(
      `recording: ${wav.rate} Hz, ${activeSeconds(left, wav.rate).toFixed(2)} s active, envelope r=${recR.toFixed(3)}`,
    );
    assert.ok(activeSeconds(left, wav.rate) > 1.5, "speech in the recording");
    assert.ok(recR > 0.85, `the recording's left channel follows the spoken WAV: envelope r=${recR}`);
  });
});
