// Applies a verified bundle atomically. Everything is staged and checked inside <dataDir>/provisioning (same file
// system, so renames are atomic), then one rename per directory swaps it in:
//   <dataDir>/provisioning/current/    the applied bundle: manifest.json, manifest.sig, the listed files
//   <dataDir>/provisioning/previous/   the state before, for rollback()
//   <dataDir>/provisioning/state.json  installed version, highest version ever applied, bundle id, applied at
//   <dataDir>/first-boot-secret        the admin's first-boot secret (0600; the web page hashes and deletes it)
// A rejection removes the staging directory and leaves the data dir as it was. Either way a report (JSON and text)
// is written next to the bundle, i.e. back onto the installer's stick.
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, open, readFile, rename, rm, rmdir, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { ConfigError, parseConfig } from "../daemon/config/load.ts";
import {
  BundleRejected,
  type BundleProgress,
  type DeviceIdentity,
  type RejectCode,
  type VerifyOptions,
  verifyBundle,
} from "./bundle.ts";
import { describeTarget, MANIFEST_FILE, type Manifest, type Role, SIGNATURE_FILE } from "./manifest.ts";

export interface ProvisioningState {
  /** Version of the bundle in current/ (0: none). */
  installedVersion: number;
  /** Highest version ever applied; survives rollback so an old bundle can never be replayed. */
  highestVersion: number;
  bundleId?: string;
  target?: string;
  appliedAt?: string;
  rolledBackAt?: string;
}

export interface ApplyReport {
  ok: boolean;
  /** File name of the bundle (not its full path: the report sits next to it). */
  bundle: string;
  at: string;
  bundleId?: string;
  version?: number;
  target?: string;
  files?: { path: string; role: Role; size: number }[];
  /** On rejection. */
  code?: RejectCode;
  where?: string;
  reason?: string;
  /** Set when the report could not be written next to the bundle (read-only or removed stick). */
  reportError?: string;
}

export interface ApplyOptions {
  dataDir: string;
  publicKey: VerifyOptions["publicKey"];
  device: DeviceIdentity;
  now?: () => number;
  maxBytes?: number;
  onProgress?: (p: BundleProgress) => void;
  /** Write the report next to the bundle (default true). */
  writeReport?: boolean;
}

export const provisioningDir = (dataDir: string) => join(dataDir, "provisioning");
export const currentDir = (dataDir: string) => join(provisioningDir(dataDir), "current");
export const previousDir = (dataDir: string) => join(provisioningDir(dataDir), "previous");
export const stateFile = (dataDir: string) => join(provisioningDir(dataDir), "state.json");
export const trustedKeyFile = (dataDir: string) => join(provisioningDir(dataDir), "trusted.pub");
export const firstBootSecretFile = (dataDir: string) => join(dataDir, "first-boot-secret");

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

export async function readState(dataDir: string): Promise<ProvisioningState> {
  let text: string;
  try {
    text = await readFile(stateFile(dataDir), "utf8");
  } catch {
    return { installedVersion: 0, highestVersion: 0 };
  }
  const s = JSON.parse(text) as ProvisioningState;
  if (!Number.isSafeInteger(s.installedVersion) || !Number.isSafeInteger(s.highestVersion))
    throw new Error(`${stateFile(dataDir)}: corrupt (no installedVersion/highestVersion)`);
  return s;
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function writeSynced(file: string, data: string | Buffer, mode = 0o644): Promise<void> {
  const tmp = `${file}.tmp`;
  const fh = await open(tmp, "w", mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
  await syncDir(dirname(file));
}

/** Which device this is: `device.json` in the provisioning dir, else /etc/machine-id. */
export function deviceIdentity(dataDir: string): DeviceIdentity {
  try {
    const d = JSON.parse(readFileSync(join(provisioningDir(dataDir), "device.json"), "utf8")) as DeviceIdentity;
    if (typeof d.deviceId === "string" && d.deviceId) return d;
  } catch {
    // fall through to the machine id
  }
  return { deviceId: readFileSync("/etc/machine-id", "utf8").trim() };
}

/** The applied files by role, as absolute paths (the daemon's view of what was provisioned). */
export function installedFiles(dataDir: string): { role: Role; path: string }[] {
  let m: Manifest;
  try {
    m = JSON.parse(readFileSync(join(currentDir(dataDir), MANIFEST_FILE), "utf8")) as Manifest;
  } catch {
    return [];
  }
  return m.contents
    .filter((c) => c.role !== "first-boot-secret")
    .map((c) => ({ role: c.role, path: join(currentDir(dataDir), c.path) }));
}

function checkStaged(m: Manifest, staging: string): Promise<void>[] {
  return m.contents.map(async (c) => {
    if (c.role === "site-config") {
      const text = await readFile(join(staging, c.path), "utf8");
      try {
        parseConfig(text, c.path);
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        const p = e.problems[0];
        const more = e.problems.length > 1 ? ` (and ${e.problems.length - 1} more problem(s))` : "";
        const at = p.line ? `${c.path}:${p.line}:${p.column}` : c.path;
        throw new BundleRejected("config", at, `site config ${p.path || "(root)"}: ${p.message}${more}`);
      }
    }
    if (c.role === "first-boot-secret" && (await readFile(join(staging, c.path), "utf8")).trim() === "")
      throw new BundleRejected("content", c.path, "first-boot secret is empty");
  });
}

/** Verifies and applies; never throws for a bad bundle: the outcome is in the report. */
export async function applyBundle(bundlePath: string, opts: ApplyOptions): Promise<ApplyReport> {
  const now = opts.now ?? Date.now;
  const provDir = provisioningDir(opts.dataDir);
  const createdProvDir = !(await exists(provDir));
  let staging: string | undefined;
  let report: ApplyReport;
  try {
    const state = await readState(opts.dataDir);
    await mkdir(provDir, { recursive: true, mode: 0o700 });
    staging = await mkdtemp(join(provDir, ".staging-"));
    const { manifest, manifestBytes, signature } = await verifyBundle(bundlePath, {
      publicKey: opts.publicKey,
      device: opts.device,
      installedVersion: state.highestVersion,
      now,
      maxBytes: opts.maxBytes,
      onProgress: opts.onProgress,
      destDir: staging,
    });
    await Promise.all(checkStaged(manifest, staging));
    await writeFile(join(staging, MANIFEST_FILE), manifestBytes, { mode: 0o644 });
    await writeFile(join(staging, SIGNATURE_FILE), signature, { mode: 0o644 });
    const secret = manifest.contents.find((c) => c.role === "first-boot-secret");
    const secretTmp = `${firstBootSecretFile(opts.dataDir)}.tmp`;
    if (secret) {
      await rename(join(staging, secret.path), secretTmp); // the secret does not stay in current/
      if (secret.path.includes("/")) await rmdir(dirname(join(staging, secret.path))).catch(() => {});
    }
    await syncDir(staging);

    // The swap: previous is dropped, current becomes previous, staging becomes current.
    const cur = currentDir(opts.dataDir);
    const prev = previousDir(opts.dataDir);
    const old = join(provDir, `.old-${process.pid}-${now()}`);
    if (await exists(prev)) await rename(prev, old);
    if (await exists(cur)) await rename(cur, prev);
    await rename(staging, cur);
    staging = undefined;
    await syncDir(provDir);
    const at = new Date(now()).toISOString();
    await writeSynced(
      stateFile(opts.dataDir),
      `${JSON.stringify(
        {
          installedVersion: manifest.version,
          highestVersion: manifest.version,
          bundleId: manifest.id,
          target: describeTarget(manifest.target),
          appliedAt: at,
        } satisfies ProvisioningState,
        null,
        2,
      )}\n`,
    );
    if (secret) {
      await rename(secretTmp, firstBootSecretFile(opts.dataDir));
      await syncDir(opts.dataDir);
    }
    await rm(old, { recursive: true, force: true });
    report = {
      ok: true,
      bundle: basename(bundlePath),
      at,
      bundleId: manifest.id,
      version: manifest.version,
      target: describeTarget(manifest.target),
      files: manifest.contents.map((c) => ({ path: c.path, role: c.role, size: c.size })),
    };
  } catch (e) {
    if (staging) await rm(staging, { recursive: true, force: true });
    await rm(`${firstBootSecretFile(opts.dataDir)}.tmp`, { force: true });
    if (createdProvDir) await rm(provDir, { recursive: true, force: true });
    const r = e instanceof BundleRejected ? e : new BundleRejected("io", basename(bundlePath), (e as Error).message);
    report = {
      ok: false,
      bundle: basename(bundlePath),
      at: new Date(now()).toISOString(),
      code: r.code,
      where: r.where,
      reason: r.reason,
    };
  }
  if (opts.writeReport !== false) {
    try {
      await writeReport(bundlePath, report);
    } catch (e) {
      report.reportError = (e as Error).message;
    }
  }
  return report;
}

export function reportText(r: ApplyReport): string {
  if (r.ok)
    return (
      `switchboard provisioning: OK\nbundle ${r.bundle} (id ${r.bundleId}), version ${r.version}, for ${r.target}\n` +
      `applied at ${r.at}\nfiles:\n${(r.files ?? []).map((f) => `  ${f.role}: ${f.path} (${f.size} bytes)`).join("\n")}\n`
    );
  return (
    `switchboard provisioning: REJECTED, nothing was changed\nbundle ${r.bundle} at ${r.at}\n` +
    `reason (${r.code}): ${r.where}: ${r.reason}\n`
  );
}

/** `<bundle>.result.json` and `<bundle>.result.txt` beside the bundle. */
async function writeReport(bundlePath: string, r: ApplyReport): Promise<void> {
  const base = bundlePath.replace(/\/+$/, "");
  await writeSynced(`${base}.result.json`, `${JSON.stringify(r, null, 2)}\n`);
  await writeSynced(`${base}.result.txt`, reportText(r));
}

/** Swaps previous/ back in (current/ becomes previous/, so a rollback can itself be undone). */
export async function rollback(dataDir: string, now: () => number = Date.now): Promise<ProvisioningState> {
  const cur = currentDir(dataDir);
  const prev = previousDir(dataDir);
  if (!(await exists(join(prev, MANIFEST_FILE))))
    throw new Error(`${prev}: no previous provisioning state to roll back to`);
  const state = await readState(dataDir);
  const m = JSON.parse(await readFile(join(prev, MANIFEST_FILE), "utf8")) as Manifest;
  const swap = join(provisioningDir(dataDir), `.swap-${process.pid}-${now()}`);
  if (await exists(cur)) await rename(cur, swap);
  await rename(prev, cur);
  if (await exists(swap)) await rename(swap, prev);
  await syncDir(provisioningDir(dataDir));
  const next: ProvisioningState = {
    installedVersion: m.version,
    highestVersion: Math.max(state.highestVersion, m.version),
    bundleId: m.id,
    target: describeTarget(m.target),
    rolledBackAt: new Date(now()).toISOString(),
  };
  await writeSynced(stateFile(dataDir), `${JSON.stringify(next, null, 2)}\n`);
  return next;
}
