// Media worker entry: owns every RTP socket and the one media clock. The main thread talks to it only through
// the typed messages in messages.ts; nothing here blocks (file writes are async, files are read on the main side).
import { readlinkSync } from "node:fs";
import { setPriority } from "node:os";
import { parentPort, workerData } from "node:worker_threads";
import { LatenessHistogram, MediaClock } from "./clock.ts";
import type { FromWorker, ToWorker, WorkerInit } from "./messages.ts";
import { PortPool } from "./port-pool.ts";
import { RtpSession, type SessionHost } from "./rtp-session.ts";
import { connect, disconnect } from "./bridge.ts";

if (!parentPort) throw new Error("media-worker must run as a worker thread");
const port = parentPort;
const { media } = workerData as WorkerInit;

const post = (m: FromWorker, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer ?? []);

/**
 * Run the media clock ahead of everything else on the box (inference, SQLite, HTTP): on Linux setpriority() with a
 * thread id renices just this thread. Needs root or CAP_SYS_NICE; without it the clock keeps the default priority.
 */
function raiseThreadPriority(nice: number): string {
  try {
    const tid = Number(readlinkSync("/proc/thread-self").split("/").pop());
    setPriority(tid, nice);
    return `media clock thread ${tid} at nice ${nice}`;
  } catch (e) {
    return `media clock thread keeps default priority (${(e as Error).message})`;
  }
}
const pool = new PortPool(media.rtpPortMin, media.rtpPortMax, media.rtpAddress);
const sessions = new Map<string, RtpSession>();
let order: RtpSession[] = [];
let nextId = 1;

const clock = new MediaClock(() => {
  const now = performance.now();
  // receive phase first for everyone so bridged legs get this tick's audio in the send phase
  for (const s of order) s.rxTick(now);
  for (const s of order) {
    s.txTick(now);
    for (const req of s.takeFinishedDtmf()) post({ t: "done", req });
  }
});

function host(sid: string): SessionHost {
  return {
    emit: (ev, transfer) => post(ev, transfer),
    log: (level, msg, data) => post({ t: "log", level, msg, sid, data }),
    now: () => performance.now(),
  };
}

function session(sid: string): RtpSession {
  const s = sessions.get(sid);
  if (!s) throw new Error(`no media session ${sid}`);
  return s;
}

async function handle(m: ToWorker): Promise<void> {
  switch (m.t) {
    case "allocate": {
      const pair = await pool.allocate();
      const sid = `m${nextId++}`;
      const s = new RtpSession(sid, pair, media, host(sid));
      sessions.set(sid, s);
      order = [...sessions.values()];
      post({ t: "allocated", req: m.req, sid, port: pair.port });
      return;
    }
    case "configure":
      session(m.sid).configure(m.media);
      return;
    case "play":
      session(m.sid).play(m.playId, m.pcm);
      return;
    case "stopPlay":
      sessions.get(m.sid)?.stopPlay(m.playId);
      return;
    case "dtmf":
      if (!session(m.sid).sendDigits(m.req, m.digits, m.durationMs))
        post({ t: "error", req: m.req, message: "no telephone-event negotiated or not sending" });
      return;
    case "record":
      session(m.sid).startRecording(m.path);
      post({ t: "done", req: m.req });
      return;
    case "stopRecord":
      post({ t: "recorded", req: m.req, result: await session(m.sid).stopRecording() });
      return;
    case "listen":
      session(m.sid).listening = m.on;
      return;
    case "bridge": {
      const s = session(m.sid);
      if (m.peer === null) disconnect(s);
      else connect(s, session(m.peer));
      return;
    }
    case "stats":
      post({ t: "stats", req: m.req, stats: session(m.sid).stats() });
      return;
    case "close": {
      const s = sessions.get(m.sid);
      if (!s) {
        post({ t: "error", req: m.req, message: `no media session ${m.sid}` });
        return;
      }
      disconnect(s);
      sessions.delete(m.sid);
      order = [...sessions.values()];
      const stats = await s.close();
      pool.release(s.pair);
      post({ t: "stats", req: m.req, stats });
      return;
    }
    case "engineStats":
      post({
        t: "engineStats",
        req: m.req,
        stats: {
          sessions: sessions.size,
          latenessP50Ms: round(clock.lateness.percentile(0.5)),
          latenessP99Ms: round(clock.lateness.percentile(0.99)),
          latenessMaxMs: round(clock.lateness.max),
          ticks: clock.ticks,
          framesMissed: clock.framesMissed,
        },
      });
      // a fresh lateness window (benchmarks measure steady state, not start-up)
      if (m.reset) clock.lateness = new LatenessHistogram();
      return;
    case "stop": {
      clock.stop();
      for (const s of sessions.values()) {
        await s.close();
        pool.release(s.pair);
      }
      sessions.clear();
      order = [];
      post({ t: "done", req: m.req });
      port.close();
      return;
    }
  }
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

port.on("message", (m: ToWorker) => {
  handle(m).catch((e: Error) => {
    if ("req" in m) post({ t: "error", req: m.req, message: e.message });
    else post({ t: "log", level: "warn", msg: `media command ${m.t} failed`, data: { err: e.message } });
  });
});

clock.start();
post({ t: "ready", priority: raiseThreadPriority(-10) });
