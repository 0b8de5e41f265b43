// The serial protocol of the LED/handset controller (docs/hw-protocol.md). Wire frame: 0x00, COBS(payload + CRC-16),
// 0x00. Payload: version, type, sequence number, compact JSON body. The leading delimiter ends whatever noise came
// before, so a receiver resynchronises on the next frame. Pure functions for framing and messages; `Link` adds
// sequence numbers, acks, bounded retry and duplicate suppression over any byte sink.
import { EventEmitter } from "node:events";
import { z } from "zod";
import { silentLog, type Log } from "../daemon/ops/log.ts";

export const PROTOCOL_VERSION = 1;
/** Largest payload (header + body + nothing else) a receiver accepts; longer frames are dropped as oversize. */
export const MAX_PAYLOAD = 512;
const HEADER = 3;

// ---------------------------------------------------------------------------------------------------------------
// CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, xorout 0 (check value of "123456789" is 0x29B1).

const CRC_TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let b = 0; b < 8; b++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    t[i] = c;
  }
  return t;
})();

export function crc16(data: Uint8Array): number {
  let crc = 0xffff;
  for (const byte of data) crc = ((crc << 8) & 0xffff) ^ CRC_TABLE[((crc >> 8) ^ byte) & 0xff];
  return crc;
}

// ---------------------------------------------------------------------------------------------------------------
// COBS (Cheshire & Baker): removes every 0x00 so 0x00 can delimit frames.

export function cobsEncode(data: Uint8Array): Buffer {
  const out = Buffer.alloc(data.length + Math.ceil(data.length / 254) + 1);
  let codeAt = 0;
  let o = 1;
  let code = 1;
  for (const byte of data) {
    if (byte === 0) {
      out[codeAt] = code;
      codeAt = o++;
      code = 1;
      continue;
    }
    out[o++] = byte;
    code++;
    if (code === 0xff) {
      out[codeAt] = code;
      codeAt = o++;
      code = 1;
    }
  }
  out[codeAt] = code;
  return out.subarray(0, o);
}

/** Undefined when the input is not valid COBS (a zero byte, or a code pointing past the end). */
export function cobsDecode(data: Uint8Array): Buffer | undefined {
  const out = Buffer.alloc(data.length);
  let o = 0;
  let i = 0;
  while (i < data.length) {
    const code = data[i];
    if (code === 0 || i + code > data.length) return undefined;
    for (let k = 1; k < code; k++) {
      const b = data[i + k];
      if (b === 0) return undefined;
      out[o++] = b;
    }
    i += code;
    if (code < 0xff && i < data.length) out[o++] = 0;
  }
  return out.subarray(0, o);
}

// ---------------------------------------------------------------------------------------------------------------
// Messages

export const COLOURS = ["red", "green", "blue", "amber", "white"] as const;
export const PATTERNS = ["off", "on", "blink-slow", "blink-fast", "pulse"] as const;
export type LedColour = (typeof COLOURS)[number];
export type LedPattern = (typeof PATTERNS)[number];
export type KeypadKey = "0" | "1" | "2" | "3" | "4" | "5" | "6" | "7" | "8" | "9" | "*" | "#";

export const MessageType = {
  hello: 0x01,
  ack: 0x02,
  nack: 0x03,
  heartbeat: 0x04,
  hook: 0x10,
  key: 0x11,
  button: 0x12,
  led: 0x20,
  ringer: 0x21,
  display: 0x22,
} as const;
export type MessageKind = keyof typeof MessageType;

const capabilities = z.strictObject({
  leds: z.number().int().min(0).max(64),
  colours: z.array(z.enum(COLOURS)).max(16),
  patterns: z.array(z.enum(PATTERNS)).max(16),
  ringer: z.boolean(),
  /** Characters of the text display; 0 = none. */
  display: z.number().int().min(0).max(256),
  handset: z.boolean(),
  keypad: z.boolean(),
});
export type Capabilities = z.infer<typeof capabilities>;

/** Host hello lists the versions it speaks; the device answers with its own hello naming the one it chose. */
const hostHello = z.strictObject({ versions: z.array(z.number().int().min(1).max(255)).min(1).max(16) });
const deviceHello = z.strictObject({
  version: z.number().int().min(1).max(255),
  deviceId: z.string().min(1).max(64),
  firmware: z.string().min(1).max(64),
  caps: capabilities,
});

const bodies = {
  hello: z.union([hostHello, deviceHello]),
  ack: z.strictObject({}),
  nack: z.strictObject({ reason: z.string().max(200) }),
  heartbeat: z.strictObject({}),
  hook: z.strictObject({ off: z.boolean() }),
  key: z.strictObject({ key: z.enum(["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "#"]) }),
  button: z.strictObject({ id: z.number().int().min(0).max(255) }),
  led: z.strictObject({
    index: z.number().int().min(0).max(63),
    colour: z.enum(COLOURS),
    pattern: z.enum(PATTERNS),
  }),
  ringer: z.strictObject({ on: z.boolean() }),
  display: z.strictObject({ text: z.string().max(256) }),
} satisfies Record<MessageKind, z.ZodType>;

export type HostHello = z.infer<typeof hostHello>;
export type DeviceHello = z.infer<typeof deviceHello>;
type Bodies = { [K in MessageKind]: z.infer<(typeof bodies)[K]> };
/** A message as the application sees it: its kind and body (the Link adds seq). */
export type Message = { [K in MessageKind]: { kind: K; body: Bodies[K] } }[MessageKind];
export type Packet = Message & { version: number; seq: number };

/** Kinds the sender retries until acked; ack, nack and heartbeat are fire-and-forget. */
export function isReliable(kind: MessageKind): boolean {
  return kind !== "ack" && kind !== "nack" && kind !== "heartbeat";
}

export function isDeviceHello(body: Bodies["hello"]): body is DeviceHello {
  return "deviceId" in body;
}

const KIND_BY_CODE = new Map<number, MessageKind>(
  Object.entries(MessageType).map(([k, v]) => [v, k as MessageKind] as const),
);

export function encodePayload(p: Packet): Buffer {
  const body = Buffer.from(JSON.stringify(p.body), "utf8");
  const out = Buffer.alloc(HEADER + body.length);
  out[0] = p.version;
  out[1] = MessageType[p.kind];
  out[2] = p.seq & 0xff;
  body.copy(out, HEADER);
  if (out.length > MAX_PAYLOAD) throw new RangeError(`${p.kind} payload is ${out.length} bytes (max ${MAX_PAYLOAD})`);
  return out;
}

export type DecodeError =
  | { error: "short"; detail: string }
  | { error: "version"; detail: string; version: number; seq: number; kind?: MessageKind }
  | { error: "type"; detail: string; seq: number }
  | { error: "body"; detail: string; seq: number; kind: MessageKind };

/** The header layout (version, type, seq) is fixed for every version, so an unknown version can still be nacked. */
export function decodePayload(payload: Uint8Array): Packet | DecodeError {
  if (payload.length < HEADER) return { error: "short", detail: `payload of ${payload.length} bytes` };
  const version = payload[0];
  const seq = payload[2];
  const kind = KIND_BY_CODE.get(payload[1]);
  if (version !== PROTOCOL_VERSION) {
    return { error: "version", detail: `unsupported protocol version ${version}`, version, seq, kind };
  }
  if (!kind) return { error: "type", detail: `unknown message type 0x${payload[1].toString(16)}`, seq };
  let json: unknown;
  try {
    json = payload.length === HEADER ? {} : JSON.parse(Buffer.from(payload.subarray(HEADER)).toString("utf8"));
  } catch {
    return { error: "body", detail: `${kind}: body is not JSON`, seq, kind };
  }
  const parsed = bodies[kind].safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.length ? issue.path.join(".") : "body";
    return { error: "body", detail: `${kind}.${where}: ${issue.message}`, seq, kind };
  }
  return { version, seq, kind, body: parsed.data } as Packet;
}

/** One wire frame: leading delimiter, COBS(payload + CRC-16 big-endian), trailing delimiter. */
export function encodeFrame(payload: Uint8Array): Buffer {
  const withCrc = Buffer.alloc(payload.length + 2);
  withCrc.set(payload, 0);
  withCrc.writeUInt16BE(crc16(payload), payload.length);
  return Buffer.concat([Buffer.from([0]), cobsEncode(withCrc), Buffer.from([0])]);
}

export type FrameResult = { payload: Buffer } | { error: "cobs" | "crc" | "short" | "oversize" };

/** Splits a byte stream into frames at 0x00. Empty frames (back-to-back delimiters) are skipped silently. */
export class FrameDecoder {
  private parts: Buffer[] = [];
  private size = 0;
  private overflow = false;

  push(chunk: Uint8Array): FrameResult[] {
    const out: FrameResult[] = [];
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      if (chunk[i] !== 0) continue;
      this.append(chunk.subarray(start, i));
      start = i + 1;
      const result = this.finish();
      if (result) out.push(result);
    }
    this.append(chunk.subarray(start));
    return out;
  }

  private append(bytes: Uint8Array): void {
    if (bytes.length === 0 || this.overflow) return;
    // COBS adds at most 1 byte in 254 plus the code byte; anything longer cannot be a valid frame.
    if (this.size + bytes.length > MAX_PAYLOAD + 2 + 4) {
      this.overflow = true;
      this.parts = [];
      this.size = 0;
      return;
    }
    this.parts.push(Buffer.from(bytes));
    this.size += bytes.length;
  }

  private finish(): FrameResult | undefined {
    const overflow = this.overflow;
    const raw = Buffer.concat(this.parts);
    this.parts = [];
    this.size = 0;
    this.overflow = false;
    if (overflow) return { error: "oversize" };
    if (raw.length === 0) return undefined;
    const decoded = cobsDecode(raw);
    if (!decoded) return { error: "cobs" };
    if (decoded.length < HEADER + 2) return { error: "short" };
    const payload = decoded.subarray(0, decoded.length - 2);
    if (crc16(payload) !== decoded.readUInt16BE(decoded.length - 2)) return { error: "crc" };
    return { payload };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Link: sequence numbers, ack/nack, retry, duplicate suppression.

export interface LinkCounters {
  framesIn: number;
  framesOut: number;
  crcErrors: number;
  /** Frames that were not valid COBS, too short, too long, of an unknown type or with an invalid body. */
  malformed: number;
  badVersion: number;
  retries: number;
  duplicates: number;
  /** Reliable messages given up after the last try. */
  timeouts: number;
  nacksIn: number;
}

export function newLinkCounters(): LinkCounters {
  return {
    framesIn: 0,
    framesOut: 0,
    crcErrors: 0,
    malformed: 0,
    badVersion: 0,
    retries: 0,
    duplicates: 0,
    timeouts: 0,
    nacksIn: 0,
  };
}

export class NackError extends Error {
  constructor(
    readonly kind: MessageKind,
    readonly reason: string,
  ) {
    super(`${kind} refused by the peer: ${reason}`);
    this.name = "NackError";
  }
}

export class LinkTimeoutError extends Error {
  constructor(
    readonly kind: MessageKind,
    readonly tries: number,
  ) {
    super(`${kind} not acknowledged after ${tries} tries`);
    this.name = "LinkTimeoutError";
  }
}

export class LinkClosedError extends Error {
  constructor() {
    super("serial link closed");
    this.name = "LinkClosedError";
  }
}

export interface LinkOptions {
  write: (bytes: Buffer) => void;
  /** Total sends of a reliable message, the first included. */
  tries?: number;
  retryMs?: number;
  log?: Log;
  /** Shared with the owner so counts survive the link being replaced on reconnect. */
  counters?: LinkCounters;
  /** How many recently accepted sequence numbers are remembered to drop retransmitted duplicates. */
  dedupWindow?: number;
}

interface Pending {
  kind: MessageKind;
  frame: Buffer;
  tries: number;
  timer: NodeJS.Timeout;
  resolve: () => void;
  reject: (e: Error) => void;
}

export interface LinkEvents {
  message: [Message & { seq: number }];
}

export class Link extends EventEmitter<LinkEvents> {
  readonly counters: LinkCounters;
  /** Time (Date.now) of the last valid frame from the peer; 0 before any. */
  lastHeard = 0;
  private readonly decoder = new FrameDecoder();
  private readonly pending = new Map<number, Pending>();
  private readonly recent: number[] = [];
  private nextSeq = 0;
  private closed = false;
  private readonly tries: number;
  private readonly retryMs: number;
  private readonly dedupWindow: number;
  private readonly log: Log;

  constructor(private readonly opts: LinkOptions) {
    super();
    this.counters = opts.counters ?? newLinkCounters();
    this.tries = opts.tries ?? 3;
    this.retryMs = opts.retryMs ?? 200;
    this.dedupWindow = opts.dedupWindow ?? 32;
    this.log = opts.log ?? silentLog;
  }

  /** Sends a reliable message; resolves on ack, rejects on nack, on the last try unanswered, or on close. */
  send(msg: Message): Promise<void> {
    if (this.closed) return Promise.reject(new LinkClosedError());
    if (!isReliable(msg.kind)) {
      this.post(msg);
      return Promise.resolve();
    }
    const seq = this.takeSeq();
    if (seq === undefined) return Promise.reject(new Error("256 messages in flight; the peer is not acknowledging"));
    const frame = encodeFrame(encodePayload({ ...msg, version: PROTOCOL_VERSION, seq }));
    return new Promise<void>((resolve, reject) => {
      const p: Pending = { kind: msg.kind, frame, tries: 1, resolve, reject, timer: this.retryTimer(seq) };
      this.pending.set(seq, p);
      this.writeFrame(frame);
    });
  }

  /** Sends without sequence tracking (heartbeats). */
  post(msg: Message, seq = 0): void {
    if (this.closed) return;
    this.writeFrame(encodeFrame(encodePayload({ ...msg, version: PROTOCOL_VERSION, seq })));
  }

  /** Raw bytes onto the wire (the simulator's fault injection). */
  writeRaw(bytes: Buffer): void {
    if (!this.closed) this.opts.write(bytes);
  }

  /** Forgets which sequence numbers were seen: the peer restarted and counts from anew. */
  resetPeer(): void {
    this.recent.length = 0;
  }

  receive(chunk: Uint8Array): void {
    if (this.closed) return;
    for (const frame of this.decoder.push(chunk)) {
      if ("error" in frame) {
        if (frame.error === "crc") this.counters.crcErrors++;
        else this.counters.malformed++;
        this.log.warn({ error: frame.error }, "hw: frame dropped");
        continue;
      }
      this.handlePayload(frame.payload);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new LinkClosedError());
    }
    this.pending.clear();
  }

  get inFlight(): number {
    return this.pending.size;
  }

  private handlePayload(payload: Buffer): void {
    const packet = decodePayload(payload);
    if ("error" in packet) {
      if (packet.error === "version") {
        this.counters.badVersion++;
        this.log.warn({ version: packet.version }, "hw: frame of an unknown protocol version");
        if (packet.kind === undefined || isReliable(packet.kind)) {
          this.post({ kind: "nack", body: { reason: packet.detail } }, packet.seq);
        }
      } else {
        this.counters.malformed++;
        this.log.warn({ error: packet.error, detail: packet.detail }, "hw: malformed message");
        if (packet.error !== "short" && (packet.error === "type" || isReliable(packet.kind))) {
          this.post({ kind: "nack", body: { reason: packet.detail } }, packet.seq);
        }
      }
      return;
    }
    this.counters.framesIn++;
    this.lastHeard = Date.now();
    if (packet.kind === "ack" || packet.kind === "nack") {
      this.settle(packet.seq, packet.kind === "ack" ? undefined : packet.body.reason);
      return;
    }
    if (packet.kind === "heartbeat") {
      this.emit("message", { kind: "heartbeat", body: packet.body, seq: packet.seq });
      return;
    }
    // Ack first, even for a duplicate: the duplicate means our earlier ack got lost.
    this.post({ kind: "ack", body: {} }, packet.seq);
    if (packet.kind === "hello") this.resetPeer();
    if (this.recent.includes(packet.seq)) {
      this.counters.duplicates++;
      return;
    }
    this.recent.push(packet.seq);
    if (this.recent.length > this.dedupWindow) this.recent.shift();
    const { version: _v, ...msg } = packet;
    this.emit("message", msg);
  }

  private settle(seq: number, nackReason: string | undefined): void {
    const p = this.pending.get(seq);
    if (!p) return; // a late ack for a message already settled
    clearTimeout(p.timer);
    this.pending.delete(seq);
    if (nackReason === undefined) {
      p.resolve();
      return;
    }
    this.counters.nacksIn++;
    this.log.warn({ kind: p.kind, reason: nackReason }, "hw: message refused by the peer");
    p.reject(new NackError(p.kind, nackReason));
  }

  private retryTimer(seq: number): NodeJS.Timeout {
    return setTimeout(() => {
      const p = this.pending.get(seq);
      if (!p) return;
      if (p.tries >= this.tries) {
        this.pending.delete(seq);
        this.counters.timeouts++;
        p.reject(new LinkTimeoutError(p.kind, p.tries));
        return;
      }
      p.tries++;
      this.counters.retries++;
      p.timer = this.retryTimer(seq);
      this.writeFrame(p.frame);
    }, this.retryMs);
  }

  private takeSeq(): number | undefined {
    for (let i = 0; i < 256; i++) {
      const seq = this.nextSeq;
      this.nextSeq = (this.nextSeq + 1) & 0xff;
      if (!this.pending.has(seq)) return seq;
    }
    return undefined;
  }

  private writeFrame(frame: Buffer): void {
    this.counters.framesOut++;
    this.opts.write(frame);
  }
}
