// The daemon's USB provisioning service: a stick's bundle (found by UsbWatch) is verified and applied with
// applyBundle, then its site config replaces the daemon's config file (atomically, the old one kept as .bak) and the
// injected reload() makes the daemon use it. One bundle at a time: a second stick waits for the first to finish.
// Every step is an event (running with progress, ok, failed with the reason) for the LEDs and the log.
//
// A journal (<dataDir>/provisioning/apply-journal.json) lives from the start of an apply to its end, so a power cut
// anywhere in between is recovered at the next start, before any stick is looked at: see recoverInterruptedApply.
import { EventEmitter } from "node:events";
import { lstat, mkdir, readdir, readFile, realpath, rename, rm, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { writeFileAtomic } from "../daemon/config/config-file.ts";
import type { Log } from "../daemon/ops/log.ts";
import {
  type ApplyReport,
  applyBundle,
  currentDir,
  deviceIdentity,
  firstBootSecretFile,
  installedFiles,
  previousDir,
  provisioningDir,
  readState,
  reportText,
  rollback,
  stateFile,
  trustedKeyFile,
} from "./apply.ts";
import type { BundleProgress, DeviceIdentity } from "./bundle.ts";
import { loadPublicKey } from "./keys.ts";
import { MANIFEST_FILE, type Manifest } from "./manifest.ts";
import type { ProvisioningSettings } from "./provisioner-config.ts";
import { UsbWatch } from "./usb-watch.ts";

export type ProvisionerState = "running" | "ok" | "failed";

export interface ProvisionerEvent {
  state: ProvisionerState;
  /** The bundle's path on the stick. */
  bundle: string;
  /** While running: files and bytes verified so far. */
  progress?: BundleProgress;
  /** When finished: what was also written onto the stick. */
  report?: ApplyReport;
  /** When failed: one line naming the place and the cause. */
  reason?: string;
  /** When ok: config sections the running daemon could not take without a restart (e.g. trunks). */
  restartNeeded?: string[];
}

export interface ProvisionerEvents {
  state: [ProvisionerEvent];
}

/** What the daemon's reload answers; a throw means it refused the new config. */
export interface ReloadOutcome {
  restartNeeded?: string[];
}

export interface UsbProvisionerOptions {
  dataDir: string;
  /** The daemon's config file (the bundle's site config replaces it). */
  configFile: string;
  settings: ProvisioningSettings;
  /** Makes the daemon read its config file again (main.ts's reload). */
  reload: () => ReloadOutcome | undefined | Promise<ReloadOutcome | undefined>;
  log: Log;
  now?: () => number;
}

interface Journal {
  bundle: string;
  startedAt: string;
  /** state.json's bundle before this apply: a different one there at recovery means the swap was committed. */
  before: string | null;
}

const journalFile = (dataDir: string) => join(provisioningDir(dataDir), "apply-journal.json");

async function exists(p: string): Promise<boolean> {
  return lstat(p).then(
    () => true,
    () => false,
  );
}

async function manifestOf(dir: string): Promise<Manifest | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, MANIFEST_FILE), "utf8")) as Manifest;
  } catch {
    return undefined;
  }
}

/** Replaces the config file's text (through symlinks) and keeps the old text as `<file>.bak`; false when equal. */
async function replaceConfigFile(configFile: string, text: string): Promise<{ changed: boolean; old: string }> {
  const file = await realpath(configFile);
  const old = await readFile(file, "utf8");
  if (old === text) return { changed: false, old };
  const mode = (await stat(file)).mode & 0o777;
  writeFileAtomic(`${file}.bak`, old, mode);
  writeFileAtomic(file, text, mode);
  return { changed: true, old };
}

/** The applied bundle's site config, if it has one. */
async function installedSiteConfig(dataDir: string): Promise<string | undefined> {
  const f = installedFiles(dataDir).find((x) => x.role === "site-config");
  return f ? readFile(f.path, "utf8") : undefined;
}

export interface Recovery {
  /** What was done, one line each (empty: nothing was interrupted). */
  actions: string[];
  /** The config file was rewritten (an apply had committed before the crash): the daemon must reload. */
  configChanged: boolean;
}

/**
 * Puts the provisioning dir back into a consistent state after an apply (or rollback) was cut off: staging is
 * dropped; `current/` becomes the bundle state.json names (the commit point of apply.ts), `previous/` the newest other
 * bundle that was ever committed (version at most state's highestVersion); a bundle that was swapped in but never
 * committed is dropped. When the journal shows the swap was committed but the daemon's config was not yet written,
 * the config is rolled forward (the bundle was fully verified). Runs before any stick is looked at.
 */
export async function recoverInterruptedApply(dataDir: string, configFile?: string): Promise<Recovery> {
  const out: Recovery = { actions: [], configChanged: false };
  const prov = provisioningDir(dataDir);
  if (!(await exists(prov))) return out;
  const names = await readdir(prov);
  let journal: Journal | undefined;
  try {
    journal = JSON.parse(await readFile(journalFile(dataDir), "utf8")) as Journal;
  } catch {
    journal = undefined;
  }
  const state = await readState(dataDir);
  const good = state.installedVersion > 0 ? state.bundleId : undefined;
  const cur = currentDir(dataDir);
  const prev = previousDir(dataDir);
  const secretTmp = `${firstBootSecretFile(dataDir)}.tmp`;
  const spare = names.filter((n) => /^\.(old|swap|recover)-/.test(n)).map((n) => join(prov, n));
  const staging = names.filter((n) => n.startsWith(".staging-")).map((n) => join(prov, n));
  const curManifest = await manifestOf(cur);
  const interrupted =
    journal !== undefined ||
    staging.length > 0 ||
    spare.length > 0 ||
    (await exists(secretTmp)) ||
    (!(await exists(cur)) && (await exists(prev))) ||
    (good !== undefined && curManifest?.id !== good);
  if (!interrupted) return out;

  for (const s of staging) {
    await rm(s, { recursive: true, force: true });
    out.actions.push(`removed unfinished staging ${basename(s)}`);
  }
  // Candidates in order of preference for each slot.
  const cands: { dir: string; m: Manifest | undefined }[] = [];
  for (const dir of [cur, prev, ...spare]) if (await exists(dir)) cands.push({ dir, m: await manifestOf(dir) });
  const keep = (c: (typeof cands)[number]) => c.m !== undefined && c.m.version <= state.highestVersion;
  // No directory holds the bundle state.json names (removed by hand?): keep current/ as it is rather than guess.
  const curC = good ? (cands.find((c) => c.m?.id === good) ?? cands.find((c) => c.dir === cur)) : undefined;
  const prevC = [prev, cur, ...spare]
    .map((d) => cands.find((c) => c.dir === d))
    .find((c) => c !== undefined && c !== curC && keep(c));
  for (const c of cands) {
    if (c === curC || c === prevC) continue;
    await rm(c.dir, { recursive: true, force: true });
    out.actions.push(`dropped ${c.m ? `uncommitted or superseded bundle ${c.m.id}` : "an unreadable directory"}`);
  }
  if (curC && curC.dir !== cur) {
    if (prevC?.dir === cur) {
      const aside = join(prov, `.recover-${process.pid}`);
      await rename(cur, aside);
      prevC.dir = aside;
    }
    await rename(curC.dir, cur);
    out.actions.push(`restored current/ (bundle ${curC.m?.id ?? "?"})`);
  }
  if (prevC && prevC.dir !== prev) {
    await rename(prevC.dir, prev);
    out.actions.push(`restored previous/ (bundle ${prevC.m?.id ?? "?"})`);
  }

  const committed = journal !== undefined && good !== undefined && good !== journal.before;
  if (await exists(secretTmp)) {
    if (committed) await rename(secretTmp, firstBootSecretFile(dataDir));
    else await rm(secretTmp, { force: true });
    out.actions.push(committed ? "installed the first-boot secret" : "dropped an uncommitted first-boot secret");
  }
  if (committed && configFile) {
    const site = await installedSiteConfig(dataDir);
    if (site !== undefined && (await replaceConfigFile(configFile, site)).changed) {
      out.configChanged = true;
      out.actions.push(`wrote the site config of bundle ${good} to ${configFile} (the apply had committed)`);
    }
  }
  if (journal) {
    await rm(journalFile(dataDir), { force: true });
    out.actions.push(`closed the journal of ${journal.bundle}`);
  }
  return out;
}

/** Takes the last apply back after the daemon refused its config: rollback(), or "nothing installed" on a first one. */
async function undoApply(dataDir: string, now: () => number): Promise<void> {
  if (await exists(join(previousDir(dataDir), MANIFEST_FILE))) {
    await rollback(dataDir, now);
    return;
  }
  const s = await readState(dataDir);
  await rm(currentDir(dataDir), { recursive: true, force: true });
  const next = { installedVersion: 0, highestVersion: s.highestVersion, rolledBackAt: new Date(now()).toISOString() };
  writeFileAtomic(stateFile(dataDir), `${JSON.stringify(next, null, 2)}\n`, 0o644);
}

/** `<bundle>.result.json/.txt` on the stick; the error text when the stick is gone or read-only. */
function writeStickReport(bundlePath: string, r: ApplyReport): string | undefined {
  try {
    writeFileAtomic(`${bundlePath}.result.json`, `${JSON.stringify(r, null, 2)}\n`, 0o644);
    writeFileAtomic(`${bundlePath}.result.txt`, reportText(r), 0o644);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

function failure(bundlePath: string, at: number, where: string, reason: string): ApplyReport {
  return { ok: false, bundle: basename(bundlePath), at: new Date(at).toISOString(), code: "io", where, reason };
}

export class UsbProvisioner extends EventEmitter<ProvisionerEvents> {
  private readonly watch: UsbWatch;
  private readonly now: () => number;
  private queue: Promise<unknown> = Promise.resolve();
  private started = false;

  constructor(private readonly opts: UsbProvisionerOptions) {
    super();
    this.now = opts.now ?? Date.now;
    this.watch = new UsbWatch({
      roots: opts.settings.mountRoots,
      depth: opts.settings.depth,
      intervalMs: opts.settings.pollMs,
    });
    this.watch.on("bundle", (p) => {
      this.apply(p).catch((e: Error) => this.opts.log.error({ bundle: p, err: e.message }, "provisioning failed"));
    });
  }

  /** Recovers an interrupted apply (reloading the daemon when that changed its config), then watches for sticks. */
  async start(): Promise<Recovery> {
    const rec = await this.serial(() => recoverInterruptedApply(this.opts.dataDir, this.opts.configFile));
    if (rec.actions.length) this.opts.log.warn({ actions: rec.actions }, "provisioning: interrupted apply recovered");
    if (rec.configChanged) await this.opts.reload();
    this.started = true;
    if (this.opts.settings.enabled) this.watch.start();
    return rec;
  }

  /** Stops watching and waits for an apply in progress (it is never cut off: the stick report must be written). */
  async stop(): Promise<void> {
    this.watch.stop();
    await this.idle();
  }

  /** One poll of the mount roots; new bundles are queued (tests and a "check now" button). */
  scan(): Promise<string[]> {
    return this.watch.scan();
  }

  /** Resolves when every queued apply has finished. */
  async idle(): Promise<void> {
    for (let i = 0; i < 1000; i++) {
      const q = this.queue;
      await q;
      if (q === this.queue) return;
    }
  }

  /** Queues one bundle; resolves with its report (undefined when it was already applied from this stick). */
  apply(bundlePath: string): Promise<ApplyReport | undefined> {
    if (!this.started) return Promise.reject(new Error("UsbProvisioner.apply before start(): recovery has not run"));
    return this.serial(() => this.applyNow(bundlePath));
  }

  private serial<T>(job: () => Promise<T>): Promise<T> {
    const run = this.queue.then(job);
    this.queue = run.catch(() => {});
    return run;
  }

  private emitState(e: ProvisionerEvent): void {
    this.emit("state", e);
  }

  /**
   * A stick left in the box is seen again after every restart: its bundle is not re-applied (it would be rejected as
   * a replay and turn the LEDs red) when the stick's own report says it was, and that bundle is the installed one.
   */
  private async alreadyApplied(bundlePath: string): Promise<boolean> {
    try {
      const reportPath = `${bundlePath}.result.json`;
      const [rs, bs] = [await lstat(reportPath), await stat(bundlePath)];
      if (!rs.isFile() || rs.size > 1 << 20 || rs.mtimeMs < bs.mtimeMs) return false;
      const r = JSON.parse(await readFile(reportPath, "utf8")) as Partial<ApplyReport>;
      const state = await readState(this.opts.dataDir);
      return r.ok === true && typeof r.bundleId === "string" && r.bundleId === state.bundleId;
    } catch {
      return false;
    }
  }

  private async applyNow(bundlePath: string): Promise<ApplyReport | undefined> {
    const { dataDir, log } = this.opts;
    if (await this.alreadyApplied(bundlePath)) {
      log.info({ bundle: bundlePath }, "provisioning: bundle on the stick is the installed one; not applied again");
      return undefined;
    }
    log.info({ bundle: bundlePath }, "provisioning: bundle found, applying");
    this.emitState({ state: "running", bundle: bundlePath });

    let publicKey: ReturnType<typeof loadPublicKey>;
    let device: DeviceIdentity;
    try {
      publicKey = loadPublicKey(this.opts.settings.trustedKey ?? trustedKeyFile(dataDir));
      const s = this.opts.settings;
      device = s.deviceId ? { deviceId: s.deviceId, fleetId: s.fleetId } : deviceIdentity(dataDir);
    } catch (e) {
      return this.finishFailed(bundlePath, failure(bundlePath, this.now(), "box", (e as Error).message), true);
    }

    const before = await readState(dataDir).catch(() => undefined);
    await mkdir(provisioningDir(dataDir), { recursive: true, mode: 0o700 });
    const journal: Journal = {
      bundle: bundlePath,
      startedAt: new Date(this.now()).toISOString(),
      before: before?.installedVersion ? (before.bundleId ?? null) : null,
    };
    writeFileAtomic(journalFile(dataDir), `${JSON.stringify(journal)}\n`, 0o600);
    try {
      let lastPercent = -1;
      const report = await applyBundle(bundlePath, {
        dataDir,
        publicKey,
        device,
        now: this.now,
        onProgress: (p) => {
          // Per chunk is too often for LEDs and logs: once per whole percent.
          const percent = p.totalBytes ? Math.floor((100 * p.bytes) / p.totalBytes) : p.files;
          if (percent === lastPercent) return;
          lastPercent = percent;
          this.emitState({ state: "running", bundle: bundlePath, progress: p });
        },
      });
      if (!report.ok) return this.finishFailed(bundlePath, report, false);
      return await this.commit(bundlePath, report);
    } finally {
      await rm(journalFile(dataDir), { force: true });
    }
  }

  /** The bundle is applied: its site config becomes the daemon's, and the daemon reloads; a refusal undoes both. */
  private async commit(bundlePath: string, report: ApplyReport): Promise<ApplyReport> {
    const { dataDir, configFile, log } = this.opts;
    let restartNeeded: string[] = [];
    let old: string | undefined;
    try {
      const site = await installedSiteConfig(dataDir);
      if (site !== undefined) {
        const r = await replaceConfigFile(configFile, site);
        if (r.changed) {
          old = r.old;
          restartNeeded = (await this.opts.reload())?.restartNeeded ?? [];
        }
      }
    } catch (e) {
      const reason = `the daemon did not take the site config: ${(e as Error).message}`;
      try {
        if (old !== undefined) writeFileAtomic(await realpath(configFile), old, (await stat(configFile)).mode & 0o777);
        await undoApply(dataDir, this.now);
      } catch (undo) {
        log.error({ err: (undo as Error).message }, "provisioning: undoing the refused bundle failed");
      }
      const failed: ApplyReport = { ...report, ok: false, code: "config", where: configFile, reason };
      delete failed.files;
      return this.finishFailed(bundlePath, failed, true);
    }
    log.info(
      {
        bundle: bundlePath,
        bundleId: report.bundleId,
        version: report.version,
        restartNeeded,
        stick: report.reportError,
      },
      "provisioning: bundle applied",
    );
    this.emitState({ state: "ok", bundle: bundlePath, report, restartNeeded });
    return report;
  }

  private finishFailed(bundlePath: string, report: ApplyReport, writeReport: boolean): ApplyReport {
    if (writeReport) {
      const err = writeStickReport(bundlePath, report);
      if (err) report.reportError = err;
    }
    const reason = `${report.code}: ${report.where}: ${report.reason}`;
    this.opts.log.warn({ bundle: bundlePath, reason, stick: report.reportError }, "provisioning: bundle rejected");
    this.emitState({ state: "failed", bundle: bundlePath, report, reason });
    return report;
  }
}
