import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, test } from "node:test";
import type { Log } from "./log.ts";
import { SystemdNotifier, socatSender, systemdNotifySender, which } from "./sd-notify.ts";

const path = process.env.PATH ?? "";
const systemdNotify = which("systemd-notify", path);
const socat = which("socat", path);
const python = which("python3", path);

const dirs: string[] = [];
const children: ChildProcess[] = [];
after(async () => {
  for (const c of children) c.kill();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

// A real unix datagram socket, as systemd would offer it: python binds it and prints each datagram as a JSON line.
const listenerScript = `
import json, os, socket, sys
addr = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\\0" + addr[1:] if addr.startswith("@") else addr)
print("bound", flush=True)
while True:
    m = s.recv(65536).decode()
    # systemd-notify follows each message with BARRIER=1 and an fd; receiving it closes the fd, ending the wait.
    if m != "BARRIER=1":
        print(json.dumps(m), flush=True)
`;

async function listener(abstract = false) {
  let address: string;
  if (abstract) address = `@switchboard-test-${randomBytes(6).toString("hex")}`;
  else {
    const dir = await mkdtemp(join(tmpdir(), "sd-notify-"));
    dirs.push(dir);
    address = join(dir, "notify.sock");
  }
  const child = spawn(python as string, ["-u", "-c", listenerScript, address], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(child);
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]();
  const first = await lines.next();
  assert.equal(first.value, "bound");
  return {
    address,
    async next(): Promise<string> {
      const r = await lines.next();
      assert.ok(!r.done, "listener ended");
      return JSON.parse(r.value) as string;
    },
  };
}

const canListen = python ? false : "python3 not installed";

test("systemd-notify delivers READY, STATUS and STOPPING to a real datagram socket", {
  skip: canListen || (!systemdNotify && "systemd-notify not installed"),
}, async () => {
  const l = await listener();
  const n = new SystemdNotifier({ socket: l.address, sender: systemdNotifySender(systemdNotify as string), env: {} });
  assert.equal(n.enabled, true);
  assert.equal(await n.ready("2 calls\nSIP on udp:5060"), true);
  assert.equal(await l.next(), "READY=1\nSTATUS=2 calls SIP on udp:5060");
  await n.status("draining");
  assert.equal(await l.next(), "STATUS=draining");
  await n.stopping();
  assert.equal(await l.next(), "STOPPING=1");
});

for (const abstract of [false, true]) {
  test(`socat delivers to a ${abstract ? "abstract" : "filesystem"} socket`, {
    skip: canListen || (!socat && "socat not installed"),
  }, async () => {
    const l = await listener(abstract);
    const n = new SystemdNotifier({ socket: l.address, sender: socatSender(socat as string), env: {} });
    await n.ready();
    assert.equal(await l.next(), "READY=1");
    await n.extendTimeout(30_000);
    assert.equal(await l.next(), "EXTEND_TIMEOUT_USEC=30000000");
  });
}

test("systemd-notify reaches an abstract socket too", {
  skip: canListen || (!systemdNotify && "systemd-notify not installed"),
}, async () => {
  const l = await listener(true);
  const n = new SystemdNotifier({ socket: l.address, sender: systemdNotifySender(systemdNotify as string), env: {} });
  await n.status("hello");
  assert.equal(await l.next(), "STATUS=hello");
});

test("the default sender is found on PATH and the watchdog pings a real socket at half WATCHDOG_USEC", {
  skip: canListen || (!systemdNotify && !socat && "neither systemd-notify nor socat installed"),
}, async () => {
  const l = await listener();
  const n = new SystemdNotifier({ env: { NOTIFY_SOCKET: l.address, WATCHDOG_USEC: "60000000", PATH: path } });
  assert.equal(n.watchdogIntervalMs, 30_000);
  n.startWatchdog(() => true);
  try {
    // The first ping goes out at once; the next ones every 30 s.
    assert.equal(await l.next(), "WATCHDOG=1");
  } finally {
    n.stopWatchdog();
  }
});

test("pings are withheld while unhealthy and resume when healthy again", async () => {
  const sent: string[] = [];
  const checks: boolean[] = [];
  let healthy = true;
  let waiter: (() => void) | undefined;
  const n = new SystemdNotifier({
    socket: "/run/test.sock",
    watchdogUsec: 2_000, // 1 ms interval: many checks quickly
    sender: async (_s, m) => {
      sent.push(m);
    },
    env: {},
  });
  const until = (count: number) =>
    new Promise<void>((resolve) => {
      waiter = () => checks.length >= count && resolve();
    });
  n.startWatchdog(() => {
    checks.push(healthy);
    waiter?.();
    return healthy;
  });
  const pings = () => sent.filter((m) => m === "WATCHDOG=1").length;
  await until(3);
  healthy = false;
  await until(checks.length + 1);
  await n.send("STATUS=mark"); // pings of earlier healthy checks are sent by now
  const pingsWhileHealthy = pings();
  assert.ok(pingsWhileHealthy >= 1);
  await until(checks.length + 10);
  await n.send("STATUS=mark");
  assert.equal(pings(), pingsWhileHealthy, "no ping while unhealthy");
  healthy = true;
  await until(checks.length + 3);
  n.stopWatchdog();
  await n.send("STATUS=flush"); // the queue drains in order
  assert.ok(pings() > pingsWhileHealthy, "pings resumed");
});

test("a health check that never answers counts as unhealthy", async () => {
  const sent: string[] = [];
  let calls = 0;
  let waiter: (() => void) | undefined;
  const n = new SystemdNotifier({
    socket: "/run/test.sock",
    watchdogUsec: 2_000,
    sender: async (_s, m) => {
      sent.push(m);
    },
    env: {},
  });
  const twice = new Promise<void>((resolve) => {
    waiter = () => calls >= 3 && resolve();
  });
  n.startWatchdog(() => {
    calls++;
    waiter?.();
    return new Promise<boolean>(() => {}); // the media clock is stuck
  });
  await twice;
  n.stopWatchdog();
  await n.send("STATUS=flush");
  assert.deepEqual(sent, ["STATUS=flush"]);
});

test("without NOTIFY_SOCKET everything is a no-op; WATCHDOG_PID of another process disables the watchdog", async () => {
  const n = new SystemdNotifier({ env: { PATH: path } });
  assert.equal(n.enabled, false);
  assert.equal(await n.ready(), false);
  const other = new SystemdNotifier({
    env: { NOTIFY_SOCKET: "/run/x", WATCHDOG_USEC: "1000000", WATCHDOG_PID: String(process.pid + 1), PATH: path },
  });
  assert.equal(other.watchdogIntervalMs, undefined);
  const mine = new SystemdNotifier({
    env: { NOTIFY_SOCKET: "/run/x", WATCHDOG_USEC: "1000000", WATCHDOG_PID: String(process.pid), PATH: path },
  });
  assert.equal(mine.watchdogIntervalMs, 500);
});

test("no helper binary: not enabled, says so once, sends nothing", async () => {
  const warnings: string[] = [];
  const log = { warn: (_o: object, msg: string) => warnings.push(msg) } as unknown as Log;
  const n = new SystemdNotifier({ env: { NOTIFY_SOCKET: "/run/x", PATH: "" }, log });
  assert.equal(n.enabled, false);
  assert.equal(await n.ready(), false);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /neither systemd-notify nor socat/);
});

test("a failing helper is reported, not thrown", async () => {
  const warnings: string[] = [];
  const log = { warn: (_o: object, msg: string) => warnings.push(msg) } as unknown as Log;
  const n = new SystemdNotifier({
    socket: "/nonexistent/dir/notify.sock",
    sender: socat ? socatSender(socat) : async () => Promise.reject(new Error("no socket")),
    log,
    env: {},
  });
  assert.equal(await n.ready(), false);
  assert.deepEqual(warnings, ["systemd notification not delivered"]);
});
