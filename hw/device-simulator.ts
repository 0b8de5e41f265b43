// A simulated LED/handset controller speaking hw/protocol.ts over any Duplex (a pty end, a socket, a PassThrough
// pair). Tests drive it to inject handset events and faults (corrupt frames, silence); `npm run demo` can run it on a
// pty through the CLI entry at the bottom:
//   node --import tsx hw/device-simulator.ts --port /dev/pts/N
import { EventEmitter } from "node:events";
import type { Duplex } from "node:stream";
import { silentLog, type Log } from "../daemon/ops/log.ts";
import {
  type Capabilities,
  COLOURS,
  cobsDecode,
  cobsEncode,
  isDeviceHello,
  type KeypadKey,
  type LedColour,
  type LedPattern,
  Link,
  type Message,
  PATTERNS,
  PROTOCOL_VERSION,
} from "./protocol.ts";

export interface LedState {
  colour: LedColour;
  pattern: LedPattern;
}

export interface SimulatorState {
  leds: LedState[];
  ringer: boolean;
  display: string;
  offHook: boolean;
}

export interface DeviceSimulatorOptions {
  deviceId?: string;
  firmware?: string;
  caps?: Partial<Capabilities>;
  heartbeatMs?: number;
  retryMs?: number;
  tries?: number;
  /** Versions this device speaks; a host hello with none of them is nacked. */
  versions?: number[];
  log?: Log;
}

export interface SimulatorEvents {
  /** State changed by a host command. */
  change: [SimulatorState];
  /** A host hello was answered. */
  hello: [];
}

export class DeviceSimulator extends EventEmitter<SimulatorEvents> {
  readonly link: Link;
  readonly caps: Capabilities;
  readonly state: SimulatorState;
  /** Frames still to be sent with a broken CRC. */
  private corruptNext = 0;
  private silentMode = false;
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly versions: number[];
  private readonly deviceId: string;
  private readonly firmware: string;
  private readonly log: Log;
  private readonly onData = (chunk: Buffer) => {
    if (!this.silentMode) this.link.receive(chunk);
  };

  constructor(
    private readonly stream: Duplex,
    opts: DeviceSimulatorOptions = {},
  ) {
    super();
    this.deviceId = opts.deviceId ?? "sim-0001";
    this.firmware = opts.firmware ?? "sim-1.0.0";
    this.versions = opts.versions ?? [PROTOCOL_VERSION];
    this.log = opts.log ?? silentLog;
    this.caps = {
      leds: 3,
      colours: [...COLOURS],
      patterns: [...PATTERNS],
      ringer: true,
      display: 32,
      handset: true,
      keypad: true,
      ...opts.caps,
    };
    this.state = {
      leds: Array.from({ length: this.caps.leds }, () => ({ colour: "white", pattern: "off" })),
      ringer: false,
      display: "",
      offHook: false,
    };
    this.link = new Link({
      write: (bytes) => this.write(bytes),
      retryMs: opts.retryMs ?? 200,
      tries: opts.tries ?? 3,
      log: this.log,
    });
    this.link.on("message", (m) => this.handle(m));
    stream.on("data", this.onData);
    // A closed pty or socket is the host going away; the simulator just stops.
    stream.on("error", (e) => this.log.debug({ err: e.message }, "sim: stream error"));
    this.heartbeat = setInterval(() => {
      if (!this.silentMode) this.link.post({ kind: "heartbeat", body: {} });
    }, opts.heartbeatMs ?? 1000);
  }

  /** Announces the device like a controller does at power-on. */
  boot(): Promise<void> {
    return this.sendHello();
  }

  hookOff(): Promise<void> {
    this.state.offHook = true;
    return this.link.send({ kind: "hook", body: { off: true } });
  }

  hookOn(): Promise<void> {
    this.state.offHook = false;
    return this.link.send({ kind: "hook", body: { off: false } });
  }

  pressKey(key: KeypadKey): Promise<void> {
    return this.link.send({ kind: "key", body: { key } });
  }

  pressButton(id: number): Promise<void> {
    return this.link.send({ kind: "button", body: { id } });
  }

  /** The next `n` frames leave with a wrong CRC. */
  corrupt(n: number): void {
    this.corruptNext = n;
  }

  /** Bytes outside any valid frame (line noise). */
  sendGarbage(bytes: Buffer): void {
    this.stream.write(bytes);
  }

  /** Silent: neither reads nor writes (a hung controller); false resumes. */
  silent(on: boolean): void {
    this.silentMode = on;
  }

  stop(): void {
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    this.link.close();
    this.stream.off("data", this.onData);
  }

  private write(bytes: Buffer): void {
    if (this.silentMode || this.stream.destroyed) return;
    if (this.corruptNext > 0) {
      this.corruptNext--;
      // Re-encode with one CRC bit flipped, so the frame is valid COBS but fails the CRC check.
      const raw = cobsDecode(bytes.subarray(1, bytes.length - 1));
      if (!raw) return;
      raw[raw.length - 1] ^= 0x01;
      const copy = Buffer.concat([Buffer.from([0]), cobsEncode(raw), Buffer.from([0])]);
      this.stream.write(copy);
      return;
    }
    this.stream.write(bytes);
  }

  private sendHello(): Promise<void> {
    return this.link.send({
      kind: "hello",
      body: {
        version: Math.max(...this.versions),
        deviceId: this.deviceId,
        firmware: this.firmware,
        caps: this.caps,
      },
    });
  }

  private handle(m: Message & { seq: number }): void {
    switch (m.kind) {
      case "hello": {
        if (isDeviceHello(m.body)) return;
        const common = m.body.versions.filter((v) => this.versions.includes(v));
        if (common.length === 0) {
          this.log.warn({ offered: m.body.versions }, "sim: no common protocol version");
          return;
        }
        this.emit("hello");
        this.sendHello().catch((e: Error) => this.log.debug({ err: e.message }, "sim: hello unanswered"));
        return;
      }
      case "led": {
        const led = this.state.leds[m.body.index];
        if (!led) return; // out of range: acked already, nothing to light (the host checks caps)
        led.colour = m.body.colour;
        led.pattern = m.body.pattern;
        break;
      }
      case "ringer":
        this.state.ringer = m.body.on;
        break;
      case "display":
        this.state.display = m.body.text.slice(0, this.caps.display);
        break;
      default:
        return;
    }
    this.emit("change", this.state);
  }
}

async function main(argv: string[]): Promise<void> {
  const at = argv.indexOf("--port");
  const path = at >= 0 ? argv[at + 1] : undefined;
  if (!path) {
    console.error("usage: node --import tsx hw/device-simulator.ts --port /dev/pts/N");
    process.exit(2);
  }
  const { SerialPort } = await import("serialport");
  const port = new SerialPort({ path, baudRate: 115200 });
  await new Promise<void>((resolve, reject) => port.once("open", resolve).once("error", reject));
  const sim = new DeviceSimulator(port);
  sim.on("change", (s) => console.log(JSON.stringify(s)));
  sim.boot().catch(() => console.log("no host answered the boot hello yet"));
  console.log(`simulated controller on ${path}; keys typed here (0-9*#) are sent, h = hook off/on, q = quit`);
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (text: string) => {
    for (const ch of text.trim()) {
      if (ch === "q") {
        sim.stop();
        port.close();
        process.exit(0);
      }
      const send = ch === "h" ? (sim.state.offHook ? sim.hookOn() : sim.hookOff()) : undefined;
      if (send) send.catch((e: Error) => console.error(e.message));
      else if (/^[0-9*#]$/.test(ch)) sim.pressKey(ch as KeypadKey).catch((e: Error) => console.error(e.message));
    }
  });
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main(process.argv.slice(2)).catch((e: Error) => {
    console.error(e.message);
    process.exit(1);
  });
}
