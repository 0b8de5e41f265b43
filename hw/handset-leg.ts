// The handset on the box as a call leg, so calls/ rings it like a SIP phone or a staff browser ("handset:"). The
// media engine's offer is answered with G.711 on a loopback UDP socket the leg owns: what the engine sends is decoded
// and played on the ALSA device (when there is one), and every packet in is answered by one packet out (captured
// audio or encoded silence), so the leg needs no clock of its own: the engine's media clock paces both directions.
import { type ChildProcess, spawn } from "node:child_process";
import { randomInt } from "node:crypto";
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { EventEmitter } from "node:events";
import { existsSync, readFileSync } from "node:fs";
import type { CodecName } from "../daemon/config/schema.ts";
import { DtmfSender, isDtmfDigit } from "../daemon/media/dtmf-rfc4733.ts";
import { type G711Law, g711Decode, g711Encode } from "../daemon/media/g711.ts";
import type { Log } from "../daemon/ops/log.ts";
import { CallFailedError } from "../daemon/sip/endpoint.ts";
import { answerOffer } from "../daemon/sip/sdp.ts";
import type { CallLeg, LegEndCause, LegEvents, LegInfo, OutboundCall, ReferResult } from "../daemon/sip/types.ts";

/** Where the handset's sound goes and comes from: 8 kHz mono 16-bit PCM. */
export interface HandsetAudio {
  /** Audio from the call, to the earpiece. */
  play(pcm: Int16Array): void;
  /** `samples` of microphone audio when that much was captured since the last call; undefined = send silence. */
  capture(samples: number): Int16Array | undefined;
  close(): void;
}

const G711: Partial<Record<CodecName, G711Law>> = { PCMU: "ulaw", PCMA: "alaw" };
const RTP_HEADER = 12;

export interface HandsetLegOptions {
  /** Address of the media engine's RTP sockets as seen from here (loopback when the engine binds every address). */
  engineAddress: string;
  /** Opens the earpiece/microphone when the handset picks up; undefined = no sound device (signalling only). */
  audio?: () => HandsetAudio | undefined;
  log: Log;
}

export class HandsetLeg extends EventEmitter<LegEvents> implements OutboundCall {
  readonly answered: Promise<{ sdp: string | undefined }>;
  private settle!: { resolve: (v: { sdp: string | undefined }) => void; reject: (e: Error) => void };
  private readonly abort = new AbortController();
  private legState: CallLeg["state"] = "early";
  private endCause: LegEndCause | undefined;
  private answerSdp: string | undefined;
  private socket: Socket | undefined;
  private sound: HandsetAudio | undefined;
  private readonly out = { seq: randomInt(0, 0x10000), ts: randomInt(0, 0x7fffffff), ssrc: randomInt(1, 0x7fffffff) };
  /** Keys pressed during the call, sent as RFC 4733 events in place of audio packets (the bridge relays them on). */
  private readonly dtmf = new DtmfSender();
  private dtmfPayloadType: number | undefined;
  /** Packets answered, for tests and logs. */
  packetsIn = 0;

  constructor(
    readonly info: LegInfo,
    /** The media engine's SDP offer (from dial()). */
    readonly engineOffer: string,
    private readonly opts: HandsetLegOptions,
  ) {
    super();
    this.answered = new Promise((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    // nobody has to wait for `answered`: an unobserved failure is not an unhandled rejection
    this.answered.catch(() => undefined);
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  get state(): CallLeg["state"] {
    return this.legState;
  }

  get remoteSdp(): string | undefined {
    return this.answerSdp;
  }

  get cause(): LegEndCause | undefined {
    return this.endCause;
  }

  /** The handset never renegotiates (no re-INVITEs reach it). */
  setSdpResponder(): void {}

  refer(): Promise<ReferResult> {
    return Promise.reject(new Error("the handset cannot be transferred by REFER"));
  }

  /** The box ends the call (stops the ringing, or hangs up the answered call). */
  hangup(): Promise<void> {
    this.end({ by: "local", reason: "hangup" });
    return Promise.resolve();
  }

  /** Hook-off: answer the engine's offer with G.711 on our own socket. False (leg failed) when that is impossible. */
  async pickUp(): Promise<boolean> {
    if (this.endCause) return false;
    const socket = createSocket(this.opts.engineAddress.includes(":") ? "udp6" : "udp4");
    this.socket = socket;
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once("error", reject);
        socket.bind(0, this.opts.engineAddress, () => {
          socket.off("error", reject);
          resolve();
        });
      });
    } catch (e) {
      this.fail({ by: "failure", reason: "rejected", status: 500, text: `handset socket: ${(e as Error).message}` });
      return false;
    }
    if (this.endCause) return false; // hung up while binding; end() closed the socket
    socket.on("error", (e) => this.opts.log.debug({ err: e.message }, "handset: socket error"));
    const a = answerOffer(this.engineOffer, {
      address: this.opts.engineAddress,
      port: socket.address().port,
      codecs: ["PCMA", "PCMU"],
      origin: { sessionId: String(this.out.ssrc), version: 0, username: "handset" },
    });
    const law = a.ok ? G711[a.media.codec] : undefined;
    if (!a.ok || !law) {
      this.fail({ by: "failure", reason: "rejected", status: 488, text: "no G.711 in the engine's offer" });
      return false;
    }
    const { payloadType, remoteAddress, remotePort } = a.media;
    this.dtmfPayloadType = a.media.dtmfPayloadType;
    this.sound = this.opts.audio?.();
    socket.on("message", (packet, from) =>
      this.onPacket(packet, from, { law, payloadType, remoteAddress, remotePort }),
    );
    this.answerSdp = a.sdp;
    this.legState = "confirmed";
    this.settle.resolve({ sdp: a.sdp });
    return true;
  }

  /**
   * A key pressed during the call: an RFC 4733 event towards the engine, which the bridge regenerates towards the
   * other party (an IVR, a door opener). False when the engine offered no telephone-event or the call is not up.
   */
  sendDigit(key: string): boolean {
    if (this.legState !== "confirmed" || this.dtmfPayloadType === undefined || !isDtmfDigit(key)) return false;
    this.dtmf.enqueue(key, 100);
    return true;
  }

  /** Hook-on: the human hung up (the far end's BYE, in SIP terms). */
  hookOn(): void {
    this.end({ by: "remote", reason: "bye" });
  }

  /** Nobody took the call: timeout, the handset was busy, the device is away. */
  fail(cause: LegEndCause): void {
    this.end(cause);
  }

  private onPacket(
    packet: Buffer,
    from: RemoteInfo,
    m: { law: G711Law; payloadType: number; remoteAddress: string; remotePort: number },
  ): void {
    if (this.endCause || packet.length <= RTP_HEADER || packet[0] >> 6 !== 2) return;
    if ((packet[1] & 0x7f) !== m.payloadType) return; // telephone-event, comfort noise: nothing to play or answer
    const csrc = (packet[0] & 0x0f) * 4;
    let start = RTP_HEADER + csrc;
    if (packet[0] & 0x10 && packet.length >= start + 4) start += 4 + packet.readUInt16BE(start + 2) * 4;
    const padding = packet[0] & 0x20 ? packet[packet.length - 1] : 0;
    const payload = packet.subarray(start, packet.length - padding);
    if (payload.length === 0) return;
    this.packetsIn++;
    this.sound?.play(g711Decode(m.law, payload));
    const pcm = this.sound?.capture(payload.length) ?? new Int16Array(payload.length);
    const event = this.dtmfPayloadType !== undefined ? this.dtmf.next(this.out.ts) : undefined;
    let reply: Buffer<ArrayBuffer>;
    if (event && event !== "gap") {
      // the event packet takes this audio packet's place (RFC 4733 2.5.1.1), stamped with the event's start
      reply = Buffer.alloc(RTP_HEADER + event.payload.length);
      reply[1] = (event.marker ? 0x80 : 0) | (this.dtmfPayloadType as number);
      reply.writeUInt32BE(event.timestamp >>> 0, 4);
      reply.set(event.payload, RTP_HEADER);
    } else {
      reply = Buffer.alloc(RTP_HEADER + payload.length);
      reply[1] = (this.packetsIn === 1 ? 0x80 : 0) | m.payloadType;
      reply.writeUInt32BE(this.out.ts >>> 0, 4);
      // silence in the gap after a digit, so the far end hears the digits apart
      g711Encode(m.law, event === "gap" ? new Int16Array(payload.length) : pcm, reply.subarray(RTP_HEADER));
    }
    reply[0] = 0x80;
    reply.writeUInt16BE(this.out.seq, 2);
    reply.writeUInt32BE(this.out.ssrc, 8);
    this.out.seq = (this.out.seq + 1) & 0xffff;
    this.out.ts = (this.out.ts + payload.length) >>> 0;
    // to the address the engine offered; its source is the same socket unless the engine sits behind NAT
    const to = m.remoteAddress === "0.0.0.0" ? from.address : m.remoteAddress;
    this.socket?.send(reply, m.remotePort, to);
  }

  private end(cause: LegEndCause): void {
    if (this.endCause) return;
    this.endCause = cause;
    this.legState = "ended";
    this.sound?.close();
    this.sound = undefined;
    this.socket?.close();
    this.socket = undefined;
    this.abort.abort(cause);
    this.emit("ended", cause);
    this.settle.reject(new CallFailedError(cause));
  }
}

/**
 * Whether ALSA has the sound card `device` names: "hw:1,0" / "plughw:1" by index, "hw:CARD=Set,DEV=0" by name, any
 * other name (e.g. "default") when the box has at least one card. `asound` is /proc/asound (tests pass their own).
 */
export function alsaPresent(device: string, asound = "/proc/asound"): boolean {
  let cards: string;
  try {
    cards = readFileSync(`${asound}/cards`, "utf8");
  } catch {
    return false;
  }
  const byIndex = /^(?:plug)?hw:(\d+)/.exec(device);
  if (byIndex) return existsSync(`${asound}/card${byIndex[1]}`);
  const byName = /CARD=([^,]+)/.exec(device);
  if (byName) return existsSync(`${asound}/${byName[1]}`);
  return /^\s*\d+ \[/m.test(cards);
}

/** Longest microphone backlog kept (samples): older audio is dropped so the delay never grows past 200 ms. */
const MAX_BACKLOG = 1600;

/**
 * The earpiece and microphone through ALSA's own tools (aplay/arecord from alsa-utils), raw 8 kHz mono S16_LE.
 * A tool that fails is logged and the call goes on without it.
 */
export function alsaAudio(device: string, log: Log, tools = { play: "aplay", record: "arecord" }): HandsetAudio {
  const args = ["-q", "-t", "raw", "-f", "S16_LE", "-r", "8000", "-c", "1", "-D", device];
  const start = (cmd: string, stdio: ["pipe" | "ignore", "pipe" | "ignore", "pipe"]): ChildProcess => {
    const p = spawn(cmd, args, { stdio });
    let err = "";
    p.stderr?.on("data", (d: Buffer) => {
      err = (err + d.toString()).slice(-500);
    });
    p.on("error", (e) => log.warn({ cmd, device, err: e.message }, "handset audio tool failed"));
    p.on(
      "exit",
      (code, sig) => code && log.warn({ cmd, device, code, sig, err: err.trim() }, "handset audio tool ended"),
    );
    return p;
  };
  const player = start(tools.play, ["pipe", "ignore", "pipe"]);
  player.stdin?.on("error", () => undefined); // EPIPE when aplay died: already logged by its exit
  const recorder = start(tools.record, ["ignore", "pipe", "pipe"]);
  let backlog = Buffer.alloc(0);
  recorder.stdout?.on("data", (d: Buffer) => {
    backlog = Buffer.concat([backlog, d]);
    if (backlog.length > MAX_BACKLOG * 2) backlog = backlog.subarray(backlog.length - MAX_BACKLOG * 2);
  });
  return {
    play(pcm) {
      if (player.stdin?.writable) player.stdin.write(Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength));
    },
    capture(samples) {
      if (backlog.length < samples * 2) return undefined;
      const out = new Int16Array(samples);
      for (let i = 0; i < samples; i++) out[i] = backlog.readInt16LE(i * 2);
      backlog = backlog.subarray(samples * 2);
      return out;
    },
    close() {
      player.stdin?.end();
      recorder.kill("SIGTERM");
      player.kill("SIGTERM");
    },
  };
}
