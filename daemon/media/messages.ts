// The typed messages between the main thread (engine.ts, session.ts) and the media clock worker. Kept small: audio
// crosses only as 20 ms 16 kHz frames while a session listens, and as whole player buffers (transferred, not copied).
import type { MediaConfig } from "../config/schema.ts";
import type { DtmfSource, MediaEngineStats, MediaStats, NegotiatedMedia, PlayResult } from "./types.ts";

export interface WorkerInit {
  media: MediaConfig;
}

export type ToWorker =
  | { t: "allocate"; req: number }
  | { t: "configure"; sid: string; media: NegotiatedMedia }
  | { t: "play"; sid: string; playId: number; pcm: Int16Array }
  | { t: "stopPlay"; sid: string; playId?: number }
  | { t: "dtmf"; sid: string; req: number; digits: string; durationMs: number }
  | { t: "record"; sid: string; req: number; path: string }
  | { t: "stopRecord"; sid: string; req: number }
  | { t: "listen"; sid: string; on: boolean }
  | { t: "bridge"; sid: string; peer: string | null }
  | { t: "stats"; sid: string; req: number }
  | { t: "close"; sid: string; req: number }
  | { t: "engineStats"; req: number; reset?: boolean }
  | { t: "stop"; req: number };

export type Reply =
  | { t: "allocated"; req: number; sid: string; port: number }
  | { t: "stats"; req: number; stats: MediaStats }
  | { t: "engineStats"; req: number; stats: MediaEngineStats }
  | { t: "recorded"; req: number; result: { path: string; durationMs: number } | undefined }
  | { t: "done"; req: number }
  | { t: "error"; req: number; message: string };

export type SessionEvent =
  | { t: "dtmf"; sid: string; digit: string; source: DtmfSource; durationMs: number }
  | { t: "firstPacket"; sid: string; from: string }
  | { t: "rtpTimeout"; sid: string }
  | { t: "audio"; sid: string; frame: Int16Array }
  | { t: "playDone"; sid: string; playId: number; outcome: PlayResult["outcome"]; playedMs: number };

export type FromWorker =
  | Reply
  | SessionEvent
  | { t: "ready"; priority: string }
  | { t: "log"; level: "debug" | "info" | "warn" | "error"; msg: string; sid?: string; data?: Record<string, unknown> };

export function isReply(m: FromWorker): m is Reply {
  return "req" in m;
}
