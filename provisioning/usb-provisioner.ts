// The daemon's USB provisioning service: a stick's bundle (found by UsbWatch) is verified and applied with
// applyBundle, then its site config replaces the daemon's config file (atomically, the old one kept as .bak) and the
// injected reload() makes the daemon use it. One bundle at a time: a second stick waits for the first to finish.
// Every step is an event (running with progress, ok, failed with the reason) for the LEDs and the log.
//
// A journal (<dataDir>/provisioning/apply-journal.json) lives from the start of an apply to its end, so a power cut
// anywhere in between is recovered at the next start, before any stick is looked at: see recoverInterruptedApply.
// The bundle's model bundles are checked before the swap and installed into the model store once the daemon took the
// site config. Every apply (and the recovery) holds the apply lock, so a CLI apply never runs at the same time: a
// stick that arrives while the CLI applies fails at once with the holder named (pull and re-insert it to retry).
import { EventEmitter } from "node:events";
import { lstat, mkdir, readdir, readFile, realpath, rename, rm, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { writeFileAtomic } from "../daemon/config/atomic-write.ts";
import type { Log } from "../daemon/ops/log.ts";
import { ModelStore } from "../models/store.ts";
import { type ApplyLock, ApplyBusyError, acquireApplyLock, applyLockFile } from "./apply-lock.ts";
import {
  type ApplyReport,
  applyBundleWithModels,
  currentDir,
  deviceIdentity,
  firstBootSecretFile,
  installedFiles,
  modelOutcome,
  previousDir,
  provisioningDir,
  readState,
  reportText,
  rollback,
  stateFile,
  trustedKeyFile,
} from "./apply.ts";
import type { DeviceIdentity } from "./bundle.ts";
import { loadPublicKey } from "./keys.ts";
import { MANIFEST_FILE, type Manifest } from "./manifest.ts";
import {
  type ApplyProgress,
  type InstalledModels,
  installModelBundles,
  type ModelInstaller,
  type PreparedModelBundles,
} from "./model-bundles.ts";
import type { ProvisioningSettings } from "./provisioner-config.ts";
import { UsbWatch } from "./usb-watch.ts";

export type ProvisionerState = "running" | "ok" | "failed";

export interface ProvisionerEvent {
  state: ProvisionerState;
  /** The bundle's path on the stick. */
  bundle: string;
  /** While running: files and bytes verified so far, then model bundles checked so far (`stage`). */
  progress?: ApplyProgress;
  /** When finished: what was also written onto the stick. */
  report?: ApplyReport;
  /** When failed: one line naming the place and the cause. */
  reason?: string;
  /** When ok: what the running daemon takes only at a restart: config sections (e.g. trunks), "models". */
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
  /**
   * The daemon's model store, which checks and installs the bundle's model bundles (its signature policy applies);
   * default a ModelStore on `dataDir`.
   */
  models?: ModelInstaller;
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
  /** Model bundles of a committed apply, installed now (they are used after the next restart). */
  models?: InstalledModels;
}

/**
 * Puts the provisioning dir back into a consistent state after an apply (or rollback) was cut off: staging is
 * dropped; `current/` becomes the bundle state.json names (the commit point of apply.ts), `previous/` the newest other
 * bundle that was ever committed (version at most state's highestVersion); a bundle that was swapped in but never
 * committed is dropped. When the journal shows the swap was committed but the daemon's config was not yet written,
 * the config is rolled forward (the bundle was fully verified) and its model bundles installed (installing what is
 * already installed is harmless). Runs before any stick is looked at, holding the apply lock.
 */
export async function recoverInterruptedApply(
  dataDir: string,
  configFile?: string,
  models: ModelInstaller = new ModelStore({ dataDir }),
): Promise<Recovery> {
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
  const committedManifest = committed ? await manifestOf(cur) : undefined;
  if (committedManifest?.contents.some((c) => c.role === "model-bundle")) {
    try {
      out.models = await installModelBundles(committedManifest, cur, models);
      out.actions.push(`installed model bundles ${out.models.models.join(", ")} (used after the next restart)`);
      for (const e of out.models.errors) out.actions.push(`model bundle not installed: ${e}`);
    } catch (e) {
      out.actions.push(`model bundles of bundle ${good} not installed: ${(e as Error).message}`);
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

const LOCK_OWNER = "daemon usb provisioning";

export class UsbProvisioner extends EventEmitter<ProvisionerEvents> {
  private readonly watch: UsbWatch;
  private readonly now: () => number;
  private readonly models: ModelInstaller;
  private queue: Promise<unknown> = Promise.resolve();
  private started = false;
  /** Recovery was skipped at start because a CLI apply held the lock: it runs before the next apply. */
  private recoveryPending = false;

  constructor(private readonly opts: UsbProvisionerOptions) {
    super();
    this.now = opts.now ?? Date.now;
    this.models = opts.models ?? new ModelStore({ dataDir: opts.dataDir, log: opts.log });
    this.watch = new UsbWatch({
      roots: opts.settings.mountRoots,
      depth: opts.settings.depth,
      intervalMs: opts.settings.pollMs,
    });
    this.watch.on("bundle", (p) => {
      this.apply(p).catch((e: Error) => this.opts.log.error({ bundle: p, err: e.message }, "provisioning failed"));
    });
  }

  /**
   * Recovers an interrupted apply (reloading the daemon when that changed its config), then watches for sticks. While
   * a CLI apply holds the lock, recovery waits for the next stick instead (the CLI's apply must not be "recovered").
   */
  async start(): Promise<Recovery> {
    const rec = await this.serial(async () => {
      let lock: ApplyLock;
      try {
        lock = await this.lock();
      } catch (e) {
        if (!(e instanceof ApplyBusyError)) throw e;
        this.recoveryPending = true;
        this.opts.log.warn({ reason: e.message }, "provisioning: start-up recovery postponed to the next apply");
        return { actions: [], configChanged: false } satisfies Recovery;
      }
      try {
        return await this.recover();
      } finally {
        await lock.release();
      }
    });
    this.started = true;
    if (this.opts.settings.enabled) this.watch.start();
    return rec;
  }

  private async lock(): Promise<ApplyLock> {
    const lock = await acquireApplyLock(this.opts.dataDir, { by: LOCK_OWNER, now: this.now });
    if (lock.tookOver) {
      const { holder, reason } = lock.tookOver;
      this.opts.log.warn(
        { pid: holder.pid, since: holder.since, by: holder.by, reason },
        "provisioning: took over a stale apply lock",
      );
    }
    return lock;
  }

  /** Runs with the lock held. */
  private async recover(): Promise<Recovery> {
    const { dataDir, configFile, log } = this.opts;
    this.recoveryPending = false;
    const rec = await recoverInterruptedApply(dataDir, configFile, this.models);
    if (rec.actions.length) log.warn({ actions: rec.actions }, "provisioning: interrupted apply recovered");
    if (rec.configChanged) await this.opts.reload();
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

    let lock: ApplyLock;
    try {
      lock = await this.lock();
    } catch (e) {
      const where = e instanceof ApplyBusyError ? e.file : applyLockFile(dataDir);
      return this.finishFailed(bundlePath, failure(bundlePath, this.now(), where, (e as Error).message), true);
    }
    try {
      if (this.recoveryPending) await this.recover();
      return await this.applyLocked(bundlePath, publicKey, device);
    } finally {
      await lock.release();
    }
  }

  private async applyLocked(
    bundlePath: string,
    publicKey: ReturnType<typeof loadPublicKey>,
    device: DeviceIdentity,
  ): Promise<ApplyReport> {
    const { dataDir } = this.opts;
    const before = await readState(dataDir).catch(() => undefined);
    await mkdir(provisioningDir(dataDir), { recursive: true, mode: 0o700 });
    const journal: Journal = {
      bundle: bundlePath,
      startedAt: new Date(this.now()).toISOString(),
      before: before?.installedVersion ? (before.bundleId ?? null) : null,
    };
    writeFileAtomic(journalFile(dataDir), `${JSON.stringify(journal)}\n`, 0o600);
    try {
      let last = "";
      const { report, models } = await applyBundleWithModels(bundlePath, {
        dataDir,
        publicKey,
        device,
        now: this.now,
        models: this.models,
        onProgress: (p) => {
          // Per chunk is too often for LEDs and logs: once per whole percent of each stage.
          const percent = p.totalBytes ? Math.floor((100 * p.bytes) / p.totalBytes) : p.files;
          const key = `${p.stage}:${percent}`;
          if (key === last) return;
          last = key;
          this.emitState({ state: "running", bundle: bundlePath, progress: p });
        },
      });
      if (!report.ok) return this.finishFailed(bundlePath, report, true);
      return await this.commit(bundlePath, report, models);
    } finally {
      await rm(journalFile(dataDir), { force: true });
    }
  }

  /**
   * The bundle is applied: its site config becomes the daemon's, and the daemon reloads; a refusal undoes both (and
   * drops the checked model bundles). Then the model bundles are installed and the report goes onto the stick.
   */
  private async commit(bundlePath: string, report: ApplyReport, models: PreparedModelBundles): Promise<ApplyReport> {
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
      await models.discard();
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
    const installed = models.size > 0 ? await models.install() : undefined;
    const done: ApplyReport = { ...report, ...(installed ? modelOutcome(installed, restartNeeded) : {}) };
    const restart = done.restartNeeded ?? restartNeeded;
    if (restart.length) done.restartNeeded = restart;
    const stickError = writeStickReport(bundlePath, done);
    if (stickError) done.reportError = stickError;
    if (installed?.errors.length)
      log.error({ bundle: bundlePath, errors: installed.errors }, "provisioning: model bundles not installed");
    log.info(
      {
        bundle: bundlePath,
        bundleId: done.bundleId,
        version: done.version,
        models: done.models,
        restartNeeded: restart,
        stick: done.reportError,
      },
      "provisioning: bundle applied",
    );
    if (installed?.restartNeeded)
      log.warn({ models: installed.models }, "provisioning: new model bundles are used after a daemon restart");
    this.emitState({ state: "ok", bundle: bundlePath, report: done, restartNeeded: restart });
    return done;
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
