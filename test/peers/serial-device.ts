// Serial devices for tests: a REAL pty pair from socat (both ends also reachable as symlinks, so a path can vanish and
// come back like a hot-plugged USB device) and the LED/handset controller simulator on one end.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { SerialPort } from "serialport";
import { DeviceSimulator } from "../../hw/device-simulator.ts";

export function socatSkipReason(): string | undefined {
  const r = spawnSync("socat", ["-V"], { encoding: "utf8" });
  if (!r.error) return undefined;
  if (process.env.CI === "true") throw new Error("socat is required on CI (apt-get install socat)");
  return "socat not on PATH (install Debian package socat)";
}

export interface Socat {
  proc: ChildProcess;
  ptys: string[];
}

/** A pty pair whose ends are also reachable as the symlinks `hostPath` and `devicePath`. */
export async function startSocat(hostPath: string, devicePath: string): Promise<Socat> {
  const proc = spawn("socat", ["-d", "-d", `pty,raw,echo=0,link=${hostPath}`, `pty,raw,echo=0,link=${devicePath}`], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  const ptys = await new Promise<string[]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`socat did not start: ${err}`)), 5000);
    proc.stderr!.on("data", (d: Buffer) => {
      err += d.toString();
      if (err.includes("starting data transfer loop")) {
        clearTimeout(timer);
        resolve([...err.matchAll(/PTY is (\/dev\/pts\/\d+)/g)].map((m) => m[1]));
      }
    });
    proc.once("exit", (code) => reject(new Error(`socat exited with ${code}: ${err}`)));
  });
  return { proc, ptys };
}

export async function stopSocat(s: Socat): Promise<void> {
  if (s.proc.exitCode !== null) return;
  const exited = new Promise((resolve) => s.proc.once("exit", resolve));
  s.proc.kill("SIGTERM");
  await exited;
}

export async function openDevice(path: string): Promise<{ port: SerialPort; sim: DeviceSimulator }> {
  const port = new SerialPort({ path, baudRate: 115200, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
  port.on("error", () => {}); // the pty vanishing is part of the test
  const sim = new DeviceSimulator(port, { deviceId: "sim-pty", heartbeatMs: 150, retryMs: 100 });
  return { port, sim };
}

export async function closeDevice(d: { port: SerialPort; sim: DeviceSimulator }): Promise<void> {
  d.sim.stop();
  if (d.port.isOpen) await new Promise<void>((resolve) => d.port.close(() => resolve()));
}
