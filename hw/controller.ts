// The driver of the LED/handset controller on a serial port (serialport 13). It opens the path, shakes hands, keeps a
// heartbeat watchdog, and when the device goes silent or away it reports "lost" and reconnects with backoff; a path
// that disappears (USB unplugged) is polled until it comes back, so hot-plug needs no udev. LED, ringer and display
// settings are remembered and replayed after every (re)connect, so the device always shows the daemon's state.
import { EventEmitter } from "node:events";
import { accessSync, constants, existsSync, readdirSync } from "node:fs";
import { delimiter, join } from "node:path";
import type { Duplex } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { SerialPort } from "serialport";
import { silentLog, type Log } from "../daemon/ops/log.ts";
import {
  type DeviceHello,
  isDeviceHello,
  type KeypadKey,
  type LedColour,
  type LedPattern,
  Link,
  type LinkCounters,
  type Message,
  newLinkCounters,
  PROTOCOL_VERSION,
} from "./protocol.ts";

export type ControllerState = "closed" | "connecting" | "ready" | "lost";

/** What the driver needs of an open port; `SerialPort` fits, tests may pass a socket. */
export interface PortStream extends Duplex {
  close?(cb?: (err?: Error | null) => void): void;
}

export interface ControllerOptions {
  path: string;
  baudRate?: number;
  /** How often the host sends a heartbeat and checks on the device. */
  heartbeatMs?: number;
  /** Nothing heard from the device for this long: "lost". */
  silenceMs?: number;
  /** Time for the device's hello after ours. */
  handshakeMs?: number;
  backoffMinMs?: number;
  backoffMaxMs?: number;
  /** How often a missing path is checked for (hot-plug). */
  pollMs?: number;
  retryMs?: number;
  tries?: number;
  log?: Log;
  /** Opens the port; defaults to serialport. */
  openPort?: (path: string, baudRate: number) => Promise<PortStream>;
}

export interface ControllerCounters extends LinkCounters {
  reconnects: number;
  handshakeFailures: number;
}

export interface ControllerEvents {
  state: [ControllerState, string];
  /** The device introduced itself (first connect, reconnect, or its own restart). */
  device: [DeviceHello];
  hook: [{ offHook: boolean }];
  key: [KeypadKey];
  button: [number];
}

export class NotReadyError extends Error {
  constructor(state: ControllerState) {
    super(`LED/handset controller is ${state}; the setting is kept and sent when it is back`);
    this.name = "NotReadyError";
  }
}

interface Connection {
  port: PortStream;
  link: Link;
  timer?: NodeJS.Timeout;
  /** Settles the handshake; also called with an error when the port closes during it. */
  onHello?: (hello: DeviceHello | Error) => void;
}

export class SerialController extends EventEmitter<ControllerEvents> {
  private stateNow: ControllerState = "closed";
  private conn: Connection | undefined;
  private deviceInfo: DeviceHello | undefined;
  private wasReady = false;
  private abort = new AbortController();
  private readonly linkCounters = newLinkCounters();
  private extra = { reconnects: 0, handshakeFailures: 0 };
  private readonly leds = new Map<number, { colour: LedColour; pattern: LedPattern }>();
  private ringer: boolean | undefined;
  private displayText: string | undefined;
  private readonly o: Required<Omit<ControllerOptions, "log" | "openPort">>;
  private readonly log: Log;
  private readonly openPort: (path: string, baudRate: number) => Promise<PortStream>;

  constructor(opts: ControllerOptions) {
    super();
    this.o = {
      path: opts.path,
      baudRate: opts.baudRate ?? 115200,
      heartbeatMs: opts.heartbeatMs ?? 1000,
      silenceMs: opts.silenceMs ?? 3500,
      handshakeMs: opts.handshakeMs ?? 2000,
      backoffMinMs: opts.backoffMinMs ?? 250,
      backoffMaxMs: opts.backoffMaxMs ?? 5000,
      pollMs: opts.pollMs ?? 500,
      retryMs: opts.retryMs ?? 200,
      tries: opts.tries ?? 3,
    };
    this.log = (opts.log ?? silentLog).child({ mod: "hw", path: opts.path });
    this.openPort = opts.openPort ?? openSerialPort;
  }

  get state(): ControllerState {
    return this.stateNow;
  }

  /** The last hello of the device (id, firmware, capabilities); undefined before the first handshake. */
  get device(): DeviceHello | undefined {
    return this.deviceInfo;
  }

  counters(): ControllerCounters {
    return { ...this.linkCounters, ...this.extra };
  }

  /** Starts connecting in the background; progress is reported through "state". */
  start(): void {
    if (this.stateNow !== "closed") return;
    this.abort = new AbortController();
    this.setState("connecting", "start");
    void this.connectLoop(this.abort.signal);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.teardown();
    this.setState("closed", "stopped");
  }

  setLed(index: number, colour: LedColour, pattern: LedPattern): Promise<void> {
    const leds = this.deviceInfo?.caps.leds;
    if (leds !== undefined && index >= leds) {
      return Promise.reject(new RangeError(`led ${index}: the device has ${leds} LEDs`));
    }
    this.leds.set(index, { colour, pattern });
    return this.command({ kind: "led", body: { index, colour, pattern } });
  }

  ring(on: boolean): Promise<void> {
    this.ringer = on;
    return this.command({ kind: "ringer", body: { on } });
  }

  display(text: string): Promise<void> {
    this.displayText = text;
    return this.command({ kind: "display", body: { text } });
  }

  private command(msg: Message): Promise<void> {
    if (this.stateNow !== "ready" || !this.conn) return Promise.reject(new NotReadyError(this.stateNow));
    return this.conn.link.send(msg);
  }

  private setState(state: ControllerState, reason: string): void {
    if (state === this.stateNow) return;
    this.stateNow = state;
    const level = state === "lost" ? "warn" : "info";
    this.log[level]({ state, reason }, "hw: controller state");
    this.emit("state", state, reason);
  }

  private async connectLoop(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      if (!existsSync(this.o.path)) {
        await pause(this.o.pollMs, signal);
        continue;
      }
      try {
        await this.connectOnce();
        return;
      } catch (e) {
        if (signal.aborted) return;
        failures++;
        this.extra.handshakeFailures++;
        this.log.info({ err: (e as Error).message, failures }, "hw: connect failed");
        const backoff = Math.min(this.o.backoffMaxMs, this.o.backoffMinMs * 2 ** Math.min(failures - 1, 10));
        await pause(backoff, signal);
      }
    }
  }

  private async connectOnce(): Promise<void> {
    const port = await this.openPort(this.o.path, this.o.baudRate);
    const conn: Connection = {
      port,
      link: new Link({
        write: (bytes) => {
          if (!port.destroyed && port.writable) port.write(bytes);
        },
        retryMs: this.o.retryMs,
        tries: this.o.tries,
        log: this.log,
        counters: this.linkCounters,
      }),
    };
    this.conn = conn;
    port.on("data", (chunk: Buffer) => conn.link.receive(chunk));
    port.on("error", (e: Error) => this.log.debug({ err: e.message }, "hw: port error"));
    port.on("close", () => this.dropped(conn, "port closed"));
    conn.link.on("message", (m) => this.handle(conn, m));
    try {
      const hello = await new Promise<DeviceHello>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no hello from the device")), this.o.handshakeMs);
        conn.onHello = (h) => {
          clearTimeout(timer);
          conn.onHello = undefined;
          if (h instanceof Error) reject(h);
          else resolve(h);
        };
        conn.link.send({ kind: "hello", body: { versions: [PROTOCOL_VERSION] } }).catch((e: Error) => {
          conn.onHello?.(e);
        });
      });
      this.ready(conn, hello);
    } catch (e) {
      await this.teardown();
      throw e;
    }
  }

  private ready(conn: Connection, hello: DeviceHello): void {
    this.deviceInfo = hello;
    if (this.wasReady) this.extra.reconnects++;
    this.wasReady = true;
    conn.timer = setInterval(() => this.watch(conn), this.o.heartbeatMs);
    this.setState("ready", `${hello.deviceId} firmware ${hello.firmware}`);
    this.emit("device", hello);
    this.replay(conn);
  }

  private watch(conn: Connection): void {
    if (this.conn !== conn) return;
    if (!existsSync(this.o.path)) this.dropped(conn, "device unplugged");
    else if (Date.now() - conn.link.lastHeard > this.o.silenceMs) this.dropped(conn, "device silent");
    else conn.link.post({ kind: "heartbeat", body: {} });
  }

  /** The connection is gone while ready: report "lost" and reconnect. During a handshake, that fails instead. */
  private dropped(conn: Connection, reason: string): void {
    if (this.conn !== conn) return;
    if (conn.onHello) {
      conn.onHello(new Error(reason));
      return;
    }
    void this.teardown();
    if (this.abort.signal.aborted) return;
    this.setState("lost", reason);
    void this.connectLoop(this.abort.signal);
  }

  private async teardown(): Promise<void> {
    const conn = this.conn;
    if (!conn) return;
    this.conn = undefined;
    clearInterval(conn.timer);
    conn.link.close();
    conn.port.removeAllListeners("data");
    await new Promise<void>((resolve) => {
      if (conn.port.close && !conn.port.destroyed) conn.port.close(() => resolve());
      else {
        conn.port.destroy();
        resolve();
      }
    });
  }

  private handle(conn: Connection, m: Message): void {
    switch (m.kind) {
      case "hello":
        if (!isDeviceHello(m.body)) return;
        if (m.body.version !== PROTOCOL_VERSION) {
          this.log.warn({ version: m.body.version }, "hw: device chose a protocol version we do not speak");
          return;
        }
        if (conn.onHello) conn.onHello(m.body);
        else {
          // The device restarted on its own: it lost its LEDs.
          this.deviceInfo = m.body;
          this.emit("device", m.body);
          this.replay(conn);
        }
        return;
      case "hook":
        this.emit("hook", { offHook: m.body.off });
        return;
      case "key":
        this.emit("key", m.body.key);
        return;
      case "button":
        this.emit("button", m.body.id);
        return;
      default:
        return;
    }
  }

  private replay(conn: Connection): void {
    const sends: Message[] = [...this.leds].map(([index, l]) => ({ kind: "led", body: { index, ...l } }));
    if (this.ringer !== undefined) sends.push({ kind: "ringer", body: { on: this.ringer } });
    if (this.displayText !== undefined) sends.push({ kind: "display", body: { text: this.displayText } });
    for (const msg of sends) {
      conn.link.send(msg).catch((e: Error) => this.log.warn({ err: e.message, kind: msg.kind }, "hw: replay failed"));
    }
  }
}

async function pause(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch {
    // aborted: the caller checks the signal
  }
}

async function openSerialPort(path: string, baudRate: number): Promise<PortStream> {
  const port = new SerialPort({ path, baudRate, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  return port;
}

function onPath(cmd: string): boolean {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/sbin", "/usr/sbin", "/bin", "/usr/bin"];
  return dirs.some((d) => {
    try {
      accessSync(join(d, cmd), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * Serial ports that may hold a controller. SerialPort.list() runs udevadm on Linux and crashes the process where it
 * is missing (containers, minimal images), so without udevadm this lists /dev/ttyUSB* and /dev/ttyACM* itself.
 */
export async function listPorts(devDir = "/dev", hasUdevadm = onPath("udevadm")): Promise<string[]> {
  if (hasUdevadm) {
    const ports = await SerialPort.list();
    return ports.map((p) => p.path).sort();
  }
  let names: string[];
  try {
    names = readdirSync(devDir);
  } catch {
    return [];
  }
  return names
    .filter((n) => /^tty(USB|ACM)\d+$/.test(n))
    .map((n) => join(devDir, n))
    .sort();
}
