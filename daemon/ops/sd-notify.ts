// systemd's notify protocol: READY=1 once the daemon serves, STATUS=... for `systemctl status`, WATCHDOG=1 pings while
// the daemon is healthy, STOPPING=1 on shutdown. The messages are datagrams on the unix socket $NOTIFY_SOCKET, which
// Node cannot send (no unix datagram sockets), so a small helper process sends each one: `systemd-notify` where
// installed (it waits until systemd has read the message, so the message is attributed to our unit even though the
// sender is a child; the unit says NotifyAccess=all), else `socat`. Without either, readiness cannot be signalled:
// that is logged once and systemd's start timeout will tell the admin.
import { spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import type { Log } from "./log.ts";

/** How one message reaches the socket; tests and unusual systems inject their own. */
export type NotifySender = (socket: string, message: string) => Promise<void>;

export interface SystemdNotifierOptions {
  /** Default $NOTIFY_SOCKET; absent means "not started by systemd" and every call is a no-op. */
  socket?: string;
  /** Default $WATCHDOG_USEC (honoured only when $WATCHDOG_PID is unset or ours). */
  watchdogUsec?: number;
  log?: Log;
  /** Default: systemd-notify, else socat, found on $PATH. */
  sender?: NotifySender;
  env?: NodeJS.ProcessEnv;
}

export class SystemdNotifier {
  readonly socket: string | undefined;
  /** Interval of the watchdog pings (half of WatchdogSec), undefined without a watchdog. */
  readonly watchdogIntervalMs: number | undefined;
  private readonly sender: NotifySender | undefined;
  private readonly log: Log | undefined;
  private queue: Promise<void> = Promise.resolve();
  private pending = 0;
  private timer: NodeJS.Timeout | undefined;
  private withheld = false;

  constructor(opts: SystemdNotifierOptions = {}) {
    const env = opts.env ?? process.env;
    this.log = opts.log;
    this.socket = opts.socket ?? (env.NOTIFY_SOCKET || undefined);
    const usec = opts.watchdogUsec ?? watchdogFromEnv(env);
    this.watchdogIntervalMs = usec && usec > 0 ? Math.max(1, Math.floor(usec / 2000)) : undefined;
    this.sender = opts.sender ?? defaultSender(env.PATH ?? "");
    if (this.socket && !this.sender)
      this.log?.warn(
        { socket: this.socket },
        "systemd wants readiness and watchdog messages but neither systemd-notify nor socat is installed",
      );
  }

  /** True when started by systemd and a way to answer it exists. */
  get enabled(): boolean {
    return Boolean(this.socket && this.sender);
  }

  /** The daemon serves now; `status` is shown by `systemctl status`. */
  ready(status?: string): Promise<boolean> {
    return this.send(status ? `READY=1\nSTATUS=${oneLine(status)}` : "READY=1");
  }

  status(text: string): Promise<boolean> {
    return this.send(`STATUS=${oneLine(text)}`);
  }

  /** Shutdown began (draining calls may take a while: systemd waits TimeoutStopSec). */
  stopping(status?: string): Promise<boolean> {
    this.stopWatchdog();
    return this.send(status ? `STOPPING=1\nSTATUS=${oneLine(status)}` : "STOPPING=1");
  }

  /** Start is slow (loading models): ask systemd for `ms` more before its start timeout fires. */
  extendTimeout(ms: number): Promise<boolean> {
    return this.send(`EXTEND_TIMEOUT_USEC=${Math.round(ms * 1000)}`);
  }

  /**
   * Ping the watchdog every half WatchdogSec while `healthy()` says so. A blocked event loop sends nothing because the
   * timer cannot fire; a stuck media clock makes `healthy()` false (or not answer within the interval). Either way
   * systemd kills and restarts the daemon once WatchdogSec passes without a ping.
   */
  startWatchdog(healthy: () => boolean | Promise<boolean>): void {
    if (!this.enabled || this.watchdogIntervalMs === undefined || this.timer) return;
    const interval = this.watchdogIntervalMs;
    const tick = async () => {
      let ok: boolean;
      try {
        ok = await withTimeout(Promise.resolve(healthy()), interval);
      } catch (e) {
        ok = false;
        this.log?.warn({ err: (e as Error).message }, "watchdog health check failed");
      }
      if (!ok) {
        if (!this.withheld) this.log?.error("daemon unhealthy: watchdog pings withheld, systemd will restart it");
        this.withheld = true;
        return;
      }
      if (this.withheld) this.log?.info("daemon healthy again: watchdog pings resumed");
      this.withheld = false;
      // A helper still busy with the last message must not pile up more of them.
      if (this.pending === 0) void this.send("WATCHDOG=1");
    };
    void tick();
    this.timer = setInterval(() => void tick(), interval);
    this.timer.unref();
  }

  stopWatchdog(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Sends one message (newline-separated assignments), in order; false when it could not be delivered. */
  send(message: string): Promise<boolean> {
    const socket = this.socket;
    const sender = this.sender;
    if (!socket || !sender) return Promise.resolve(false);
    this.pending++;
    const done = this.queue.then(() =>
      sender(socket, message).then(
        () => true,
        (e: Error) => {
          this.log?.warn({ err: e.message, message: message.split("\n")[0] }, "systemd notification not delivered");
          return false;
        },
      ),
    );
    this.queue = done.then(() => {
      this.pending--;
    });
    return done;
  }
}

function watchdogFromEnv(env: NodeJS.ProcessEnv): number | undefined {
  // WATCHDOG_PID names the process meant to ping; a child that inherited the variables must not.
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== process.pid) return undefined;
  const usec = Number(env.WATCHDOG_USEC);
  return Number.isFinite(usec) && usec > 0 ? usec : undefined;
}

function oneLine(s: string): string {
  return s.replace(/[\r\n]+/g, " ");
}

function withTimeout(p: Promise<boolean>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** Finds an executable on $PATH. */
export function which(name: string, path: string): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

function defaultSender(path: string): NotifySender | undefined {
  const notify = which("systemd-notify", path);
  if (notify) return systemdNotifySender(notify);
  const socat = which("socat", path);
  if (socat) return socatSender(socat);
  return undefined;
}

/** `systemd-notify` reads NOTIFY_SOCKET itself and understands abstract ('@') addresses. */
export function systemdNotifySender(binary: string): NotifySender {
  return (socket, message) =>
    run(binary, message.split("\n"), { env: { ...process.env, NOTIFY_SOCKET: socket }, input: undefined });
}

/** socat sends its stdin as one datagram; an abstract socket is '@name' in systemd's notation. */
export function socatSender(binary: string): NotifySender {
  return (socket, message) => {
    const address = socket.startsWith("@")
      ? `ABSTRACT-SENDTO:${socket.slice(1)}`
      : `UNIX-SENDTO:${socket.replace(/[,:!\\]/g, (c) => `\\${c}`)}`;
    return run(binary, ["-u", "-", address], { env: process.env, input: message });
  };
}

function run(binary: string, args: string[], o: { env: NodeJS.ProcessEnv; input: string | undefined }) {
  return new Promise<void>((resolve, reject) => {
    const child = spawn(binary, args, {
      env: o.env,
      stdio: [o.input === undefined ? "ignore" : "pipe", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr?.on("data", (c: Buffer) => {
      if (stderr.length < 2000) stderr += c.toString();
    });
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`${binary} exited with ${code}: ${stderr.trim() || "no message"}`)),
    );
    if (o.input !== undefined) child.stdin?.end(o.input);
  });
}
