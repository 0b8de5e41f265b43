// The handset on the box: a human target like a staff browser ("handset:" in transfers and queue members). Calls
// for it ring the controller's ringer and show the caller on its display; lifting the handset answers the call that
// started ringing first (the longest-waiting caller), hanging up ends it. Lifting it with nothing ringing is
// dial-out: keypad digits, then '#' or a pause, dial the number through the injected `dialOut`, which calls the
// number and then "handset:out" (answered at once by the handset that is already off hook). Keys pressed during a
// call go to the other party as RFC 4733 events.
import { randomUUID } from "node:crypto";
import { bridgeCalls, type CallCard, type CallDeps, CallSession } from "../daemon/calls/call-session.ts";
import type { Log } from "../daemon/ops/log.ts";
import type { LegInfo, OutboundCall } from "../daemon/sip/types.ts";
import { alsaAudio, alsaPresent, type HandsetAudio, HandsetLeg } from "./handset-leg.ts";
import type { KeypadKey } from "./protocol.ts";

/** The handset part of the `hw` config section (the lead plugs it into config/schema.ts as `hw.handset`). */

/** Dial strings the handset takes: "handset:" (ring it) and "handset:out" (the handset's own outgoing call). */
export const HANDSET_TARGET = "handset:";
export const HANDSET_OUT_TARGET = "handset:out";

export function isHandsetTarget(target: string): boolean {
  return target.startsWith(HANDSET_TARGET);
}

/** What the handset needs of the controller; `SerialController` fits. */
export interface HandsetDevice {
  on(event: "hook", listener: (e: { offHook: boolean }) => void): unknown;
  on(event: "key", listener: (key: KeypadKey) => void): unknown;
  off(event: "hook", listener: (e: { offHook: boolean }) => void): unknown;
  off(event: "key", listener: (key: KeypadKey) => void): unknown;
  ring(on: boolean): Promise<void>;
  display(text: string): Promise<void>;
}

export interface HandsetOptions {
  device: HandsetDevice;
  log: Log;
  /** Where the media engine's RTP answers (engineAddressFor(media.rtpAddress)). */
  engineAddress: string;
  /** ALSA device for the audio; used only when ALSA has it. */
  audioDevice?: string;
  /** Opens the audio (tests); default: ALSA through aplay/arecord when `audioDevice` is present. */
  audio?: () => HandsetAudio | undefined;
  /**
   * Places the handset's outgoing call to `number` (see `dialOutThrough`); rejects when it could not be connected.
   * `signal` aborts when the handset is hung up meanwhile.
   */
  dialOut?: (number: string, signal: AbortSignal) => Promise<void>;
  digitTimeoutMs?: number;
  /** Ring time when dial() names none. Default 30 s. */
  ringTimeoutMs?: number;
}

export interface HandsetDialOptions {
  target: string;
  sdp: string;
  ringTimeoutMs?: number;
  card?: CallCard;
}

interface Ring {
  leg: HandsetLeg;
  text: string;
  timer: NodeJS.Timeout;
}

export class Handset {
  private offHook = false;
  /** Calls ringing the handset, oldest first. */
  private readonly rings: Ring[] = [];
  private active: HandsetLeg | undefined;
  /** Off hook with nothing to answer: the number typed so far. */
  private dialing: { digits: string; timer?: NodeJS.Timeout; placing: boolean; abort: AbortController } | undefined;
  private readonly onHook = (e: { offHook: boolean }) => (e.offHook ? this.lifted() : this.replaced());
  private readonly onKey = (key: KeypadKey) => this.keyed(key);
  private readonly audio: (() => HandsetAudio | undefined) | undefined;
  private readonly log: Log;

  constructor(private readonly opts: HandsetOptions) {
    this.log = opts.log.child({ mod: "handset" });
    const dev = opts.audioDevice;
    this.audio = opts.audio ?? (dev ? () => (alsaPresent(dev) ? alsaAudio(dev, this.log) : undefined) : undefined);
    if (dev && !opts.audio && !alsaPresent(dev))
      this.log.warn({ device: dev }, "handset audio device not present: calls connect without sound");
    opts.device.on("hook", this.onHook);
    opts.device.on("key", this.onKey);
  }

  get state(): { offHook: boolean; ringing: number; inCall: boolean; digits?: string } {
    return { offHook: this.offHook, ringing: this.rings.length, inCall: !!this.active, digits: this.dialing?.digits };
  }

  /** Ring the handset for a call ("handset:"), or connect its own outgoing call ("handset:out"). Returns at once. */
  dial(o: HandsetDialOptions): OutboundCall {
    const info: LegInfo = {
      callId: randomUUID(),
      fromUri: "sip:switchboard@handset.invalid",
      toUri: o.target,
      requestUri: o.target,
      did: "handset",
      transport: "udp",
      source: { address: "", port: 0 },
    };
    const leg = new HandsetLeg(info, o.sdp, {
      engineAddress: this.opts.engineAddress,
      audio: this.audio,
      log: this.log,
    });
    // after the caller attached its listeners: dial() returns first
    const fail = (status: number, text: string) =>
      setImmediate(() => leg.fail({ by: "failure", reason: "rejected", status, text }));
    if (o.target === HANDSET_OUT_TARGET) {
      if (!this.dialing?.placing || this.active) fail(480, "the handset is not dialling out");
      else this.connect(leg);
      return leg;
    }
    if (o.target !== HANDSET_TARGET) fail(404, `not a handset target: ${o.target}`);
    else if (this.offHook) fail(486, "the handset is in use");
    else this.ring(leg, o);
    return leg;
  }

  /** Stop listening to the device; calls on the handset end. */
  stop(): void {
    this.opts.device.off("hook", this.onHook);
    this.opts.device.off("key", this.onKey);
    for (const r of [...this.rings]) r.leg.fail({ by: "failure", reason: "transport", text: "handset stopped" });
    void this.active?.hangup();
    this.stopDialing();
  }

  private ring(leg: HandsetLeg, o: HandsetDialOptions): void {
    const ringTimeoutMs = o.ringTimeoutMs ?? this.opts.ringTimeoutMs ?? 30_000;
    const text = cardText(o.card);
    const timer = setTimeout(() => leg.fail({ by: "failure", reason: "timeout", text: "ring timeout" }), ringTimeoutMs);
    const ring: Ring = { leg, text, timer };
    this.rings.push(ring);
    leg.once("ended", () => {
      clearTimeout(timer);
      const i = this.rings.indexOf(ring);
      if (i < 0) return; // answered: no longer a ring
      this.rings.splice(i, 1);
      this.showRings();
    });
    this.log.info({ callId: leg.info.callId, ringing: this.rings.length }, "handset rings");
    this.showRings();
  }

  /** Ringer on while anything rings, the display shows the oldest ring's caller. */
  private showRings(): void {
    const first = this.rings[0];
    this.send(this.opts.device.ring(!!first && !this.offHook));
    if (!this.offHook) this.send(this.opts.device.display(first?.text ?? ""));
  }

  private lifted(): void {
    if (this.offHook) return;
    this.offHook = true;
    const first = this.rings.shift();
    if (!first) {
      this.dialing = { digits: "", placing: false, abort: new AbortController() };
      this.armDigitTimer();
      this.send(this.opts.device.ring(false));
      this.send(this.opts.device.display("Nummer?"));
      this.log.info("handset off hook: dial-out");
      return;
    }
    clearTimeout(first.timer);
    // One handset, one call: the others ring elsewhere (queue members, the next attempt) or fail over.
    for (const r of this.rings.splice(0)) r.leg.fail({ by: "failure", reason: "rejected", status: 486, text: "busy" });
    this.showRings();
    this.log.info({ callId: first.leg.info.callId }, "handset off hook: answering");
    this.connect(first.leg);
    this.send(this.opts.device.display(first.text));
  }

  private connect(leg: HandsetLeg): void {
    this.active = leg;
    leg.once("ended", (cause) => {
      if (this.active === leg) this.active = undefined;
      if (this.dialing) this.dialing.placing = false;
      this.log.info({ callId: leg.info.callId, cause }, "handset call ended");
      if (this.offHook) this.send(this.opts.device.display("Aufgelegt"));
    });
    void leg.pickUp();
  }

  private replaced(): void {
    if (!this.offHook) return;
    this.offHook = false;
    this.stopDialing();
    const leg = this.active;
    this.active = undefined;
    leg?.hookOn();
    this.log.info({ callId: leg?.info.callId }, "handset on hook");
    this.showRings();
  }

  private keyed(key: KeypadKey): void {
    if (this.active) {
      // in a call the keypad is a phone's keypad: digits go to the other party (menus, door openers)
      if (!this.active.sendDigit(key)) this.log.debug({ key }, "handset key not sent: no telephone-event");
      return;
    }
    const d = this.dialing;
    if (!d || d.placing) return;
    if (key === "#") {
      this.placeCall();
      return;
    }
    if (key === "*") d.digits = "";
    else if (d.digits.length < 20) d.digits += key;
    this.send(this.opts.device.display(d.digits));
    this.armDigitTimer();
  }

  private armDigitTimer(): void {
    const d = this.dialing;
    if (!d) return;
    clearTimeout(d.timer);
    d.timer = setTimeout(() => this.placeCall(), this.opts.digitTimeoutMs ?? 4000);
  }

  private placeCall(): void {
    const d = this.dialing;
    if (!d || d.placing) return;
    clearTimeout(d.timer);
    if (d.digits.length < 2) {
      this.armDigitTimer(); // nothing to dial yet: keep waiting for keys
      return;
    }
    if (!this.opts.dialOut) {
      this.send(this.opts.device.display("Keine Amtsleitung"));
      return;
    }
    const number = d.digits;
    d.placing = true;
    this.log.info({ digits: number.length }, "handset dials out");
    this.send(this.opts.device.display(`Wahl ${number}`));
    this.opts.dialOut(number, d.abort.signal).catch((e: Error) => {
      this.log.info({ err: e.message }, "handset call not connected");
      if (this.dialing !== d) return;
      d.placing = false;
      d.digits = "";
      this.send(this.opts.device.display("Nicht erreicht"));
    });
  }

  private stopDialing(): void {
    clearTimeout(this.dialing?.timer);
    this.dialing?.abort.abort();
    this.dialing = undefined;
  }

  /** A controller that is away keeps the setting and replays it; nothing here waits for it. */
  private send(p: Promise<void>): void {
    p.catch((e: Error) => this.log.debug({ err: e.message }, "handset command not delivered yet"));
  }
}

/** One display line: who calls, and the whisper (what they want). */
export function cardText(card: CallCard | undefined): string {
  if (!card) return "Anruf";
  const who = card.from || card.context.caller || "Anruf";
  const what = card.whisper ?? card.context.summary;
  return what ? `${who}: ${what}` : who;
}

/**
 * The handset's dial-out through a trunk: call `number`, then connect the handset ("handset:out", linked to that
 * call's record) and bridge the two. The call is cancelled when the handset is hung up while it rings.
 */
export function dialOutThrough(
  deps: () => CallDeps,
  trunkId: () => string | undefined,
): (number: string, signal: AbortSignal) => Promise<void> {
  return async (number, signal) => {
    const d = deps();
    const remote = await CallSession.dial(number, d, { trunkId: trunkId(), ringTimeoutMs: 60_000, signal });
    if (signal.aborted) {
      await remote.hangup("caller", "handset hung up while ringing");
      return;
    }
    const local = await CallSession.dial(HANDSET_OUT_TARGET, d, { linkedTo: remote.id, signal }).catch(
      async (e: Error) => {
        await remote.hangup("box", "the handset is gone");
        throw e;
      },
    );
    remote.event(`bridged to handset ${local.id}`);
    void bridgeCalls(remote, local);
  };
}
