// Main-thread facade of the media layer: starts the media worker (the only owner of RTP sockets and of the 20 ms
// clock), hands out sessions, routes worker events to them and logs on the worker's behalf.
import { networkInterfaces } from "node:os";
import type { Worker } from "node:worker_threads";
import { startModuleWorker } from "../ops/module-worker.ts";
import type { MediaConfig, SrtpPolicy } from "../config/schema.ts";
import type { Log } from "../ops/log.ts";
import type { FromWorker, Reply, ToWorker, WorkerInit } from "./messages.ts";
import { isReply } from "./messages.ts";
import { EngineMediaSession, type SdpOverrides, type WorkerLink } from "./session.ts";
import type { MediaEngineStats, MediaSession } from "./types.ts";

function isWildcard(a: string): boolean {
  return a === "0.0.0.0" || a === "::";
}

/** A usable address for SDP when the config names none: the first external IPv4, else loopback. */
function guessAddress(): string {
  for (const list of Object.values(networkInterfaces()))
    for (const i of list ?? []) if (i.family === "IPv4" && !i.internal) return i.address;
  return "127.0.0.1";
}

export class MediaEngine {
  private readonly pending = new Map<number, (r: Reply) => void>();
  private readonly sessions = new Map<string, EngineMediaSession>();
  private nextReq = 1;
  private stopped = false;
  private readonly link: WorkerLink;

  private constructor(
    private readonly worker: Worker,
    private readonly media: MediaConfig,
    private readonly log: Log,
  ) {
    this.link = {
      post: (m, transfer) => this.post(m, transfer),
      request: (m) => {
        const req = this.nextReq++;
        return new Promise<Reply>((resolve, reject) => {
          if (this.stopped) {
            reject(new Error("media engine stopped"));
            return;
          }
          this.pending.set(req, resolve);
          this.post({ ...m, req } as ToWorker);
        });
      },
    };
    worker.on("message", (m: FromWorker) => this.onMessage(m));
    worker.on("error", (e) => log.error({ err: e }, "media worker crashed"));
    worker.on("exit", (code) => {
      if (!this.stopped) log.error({ code }, "media worker exited");
      this.stopped = true;
      for (const [, resolve] of this.pending) resolve({ t: "error", req: 0, message: "media worker exited" });
      this.pending.clear();
    });
  }

  static async start(opts: { media: MediaConfig; log: Log }): Promise<MediaEngine> {
    const init: WorkerInit = { media: opts.media };
    const worker = startModuleWorker(new URL("./media-worker.ts", import.meta.url), init);
    await new Promise<void>((resolve, reject) => {
      const onMsg = (m: FromWorker) => {
        if (m.t !== "ready") return;
        worker.off("message", onMsg);
        worker.off("error", reject);
        opts.log.info(m.priority);
        resolve();
      };
      worker.on("message", onMsg);
      worker.once("error", reject);
    });
    return new MediaEngine(worker, opts.media, opts.log);
  }

  private post(m: ToWorker, transfer?: ArrayBuffer[]): void {
    if (this.stopped) return;
    this.worker.postMessage(m, transfer ?? []);
  }

  private onMessage(m: FromWorker): void {
    if (m.t === "ready") return;
    if (m.t === "log") {
      this.log[m.level]({ sid: m.sid, ...m.data }, m.msg);
      return;
    }
    if (isReply(m)) {
      const resolve = this.pending.get(m.req);
      this.pending.delete(m.req);
      resolve?.(m);
      return;
    }
    this.sessions.get(m.sid)?.handle(m);
  }

  /** A new session with a bound RTP/RTCP port pair. `localAddress` is the c= address when the config has none;
   * `srtp` is the session's SRTP policy for every offer and answer it makes (default off). */
  async allocate(opts?: SdpOverrides & { srtp?: SrtpPolicy }): Promise<MediaSession & EngineMediaSession> {
    const r = await this.link.request({ t: "allocate" });
    if (r.t !== "allocated") throw new Error(r.t === "error" ? r.message : "unexpected reply");
    const address =
      this.media.publicAddress ??
      opts?.localAddress ??
      (isWildcard(this.media.rtpAddress) ? guessAddress() : this.media.rtpAddress);
    const s = new EngineMediaSession(
      r.sid,
      address,
      r.port,
      this.link,
      this.media,
      this.log.child({ sid: r.sid }),
      opts?.srtp,
    );
    this.sessions.set(r.sid, s);
    const close = s.close.bind(s);
    s.close = () => close().finally(() => this.sessions.delete(r.sid));
    return s;
  }

  /** `reset` starts a new lateness window after reading this one. */
  async stats(opts?: { reset?: boolean }): Promise<MediaEngineStats> {
    const r = await this.link.request({ t: "engineStats", reset: opts?.reset });
    if (r.t !== "engineStats") throw new Error(r.t === "error" ? r.message : "unexpected reply");
    return r.stats;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    await this.link.request({ t: "stop" }).catch(() => undefined);
    this.stopped = true;
    this.sessions.clear();
    await this.worker.terminate();
  }
}
