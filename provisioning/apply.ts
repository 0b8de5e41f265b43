// Applies a verified bundle atomically. Everything is staged and checked inside <dataDir>/provisioning (same file
// system, so renames are atomic), then one rename per directory swaps it in:
//   <dataDir>/provisioning/current/    the applied bundle: manifest.json, manifest.sig, the listed files
//   <dataDir>/provisioning/previous/   the state before, for rollback()
//   <dataDir>/provisioning/state.json  installed version, highest version ever applied, bundle id, applied at
//   <dataDir>/first-boot-secret        the admin's first-boot secret (0600; the web page hashes and deletes it)
// The bundle's model bundles are checked by the model store before the swap and installed into it after the commit
// (provisioning/model-bundles.ts). A rejection removes the staging directory and leaves the data dir (and the model
// store) as it was. Either way a report (JSON and text) is written next to the bundle, i.e. back onto the stick.
// Callers hold the apply lock (provisioning/apply-lock.ts) so that the CLI and the daemon never apply at once.
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, open, readFile, rename, rm, rmdir, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { ConfigError, parseConfig } from "../daemon/config/load.ts";
import { ModelStore } from "../models/store.ts";
import { BundleRejected, type DeviceIdentity, type RejectCode, type VerifyOptions, verifyBundle } from "./bundle.ts";
import { describeTarget, MANIFEST_FILE, type Manifest, type Role, SIGNATURE_FILE } from "./manifest.ts";
import {
  type ApplyProgress,
  checkModelBundles,
  type InstalledModels,
  type ModelInstaller,
  PreparedModelBundles,
} from "./model-bundles.ts";

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
  /** The bundle's model bundles now active in the model store, as name@version. */
  models?: string[];
  /** Model bundles that could not be activated after the commit (the files stay in current/ to install by hand). */
  modelErrors?: string[];
  /** What the running daemon only takes at a restart: config sections, and "models" when a model changed. */
  restartNeeded?: string[];
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
  onProgress?: (p: ApplyProgress) => void;
  /** Write the report next to the bundle (default true; applyBundleWithModels never writes it). */
  writeReport?: boolean;
  /**
   * The model store that checks and installs the bundle's `model-bundle` files (the daemon passes its own, with its
   * signature policy); default a ModelStore on `dataDir`.
   */
  models?: ModelInstaller;
}

export interface AppliedWithModels {
  report: ApplyReport;
  /** Checked model bundles waiting to be activated (after the caller's own commit) or discarded. */
  models: PreparedModelBundles;
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

/**
 * Verifies and applies, then installs the model bundles; never throws for a bad bundle: the outcome is in the report
 * (also written next to the bundle unless `writeReport: false`).
 */
export async function applyBundle(bundlePath: string, opts: ApplyOptions): Promise<ApplyReport> {
  const { report, models } = await applyBundleWithModels(bundlePath, opts);
  if (report.ok && models.size > 0) Object.assign(report, modelOutcome(await models.install()));
  if (opts.writeReport !== false) {
    try {
      await writeReport(bundlePath, report);
    } catch (e) {
      report.reportError = (e as Error).message;
    }
  }
  return report;
}

/** The report fields for installed model bundles. */
export function modelOutcome(
  r: InstalledModels,
  restartNeeded: string[] = [],
): Pick<ApplyReport, "models" | "modelErrors" | "restartNeeded"> {
  const restart = r.restartNeeded && !restartNeeded.includes("models") ? [...restartNeeded, "models"] : restartNeeded;
  return {
    models: r.models,
    ...(r.errors.length ? { modelErrors: r.errors } : {}),
    ...(restart.length ? { restartNeeded: restart } : {}),
  };
}

/**
 * Verifies and applies like applyBundle, but leaves the checked model bundles prepared for the caller to install
 * once its own commit is done (or to discard when it undoes the apply), and writes no report.
 */
export async function applyBundleWithModels(bundlePath: string, opts: ApplyOptions): Promise<AppliedWithModels> {
  const now = opts.now ?? Date.now;
  const provDir = provisioningDir(opts.dataDir);
  const createdProvDir = !(await exists(provDir));
  let staging: string | undefined;
  let report: ApplyReport;
  let models = new PreparedModelBundles();
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
      onProgress: opts.onProgress && ((p) => opts.onProgress?.({ ...p, stage: "bundle" })),
      destDir: staging,
    });
    await Promise.all(checkStaged(manifest, staging));
    const store = opts.models ?? new ModelStore({ dataDir: opts.dataDir });
    models = await checkModelBundles(manifest, staging, store, opts.onProgress);
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
    await models.discard();
    models = new PreparedModelBundles();
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
  return { report, models };
}

export function reportText(r: ApplyReport): string {
  if (r.ok) {
    const lines = [
      "switchboard provisioning: OK",
      `bundle ${r.bundle} (id ${r.bundleId}), version ${r.version}, for ${r.target}`,
      `applied at ${r.at}`,
      "files:",
      ...(r.files ?? []).map((f) => `  ${f.role}: ${f.path} (${f.size} bytes)`),
    ];
    if (r.models?.length) lines.push(`model bundles installed: ${r.models.join(", ")}`);
    for (const m of r.modelErrors ?? []) lines.push(`MODEL BUNDLE NOT INSTALLED: ${m}`);
    if (r.restartNeeded?.length)
      lines.push(`restart needed for: ${r.restartNeeded.join(", ")} (the daemon takes them only at start)`);
    return `${lines.join("\n")}\n`;
  }
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
