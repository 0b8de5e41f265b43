// One apply at a time per data dir: `switchboard provision apply|rollback` (CLI) and the daemon's USB provisioner
// both change <dataDir>/provisioning and the model store, so each holds <dataDir>/provisioning/apply.lock while it
// does. The lock file names its holder (pid, since, what, plus boot id and process start time where /proc has them).
// It is created with its content in one step (written to a temp file, fsynced, then link(2)ed into place, which
// fails with EEXIST like O_EXCL), so nobody ever reads a half-written lock. A lock whose holder is gone (dead pid,
// a pid reused by another process, or a lock left from before a reboot) is stale and is taken over.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { link, mkdir, open, readFile, rename, rmdir, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { provisioningDir } from "./apply.ts";

export interface ApplyLockHolder {
  pid: number;
  /** When the holder took the lock (ISO). */
  since: string;
  /** Who holds it, e.g. "switchboard provision apply" or "daemon usb provisioning". */
  by: string;
  /** /proc/sys/kernel/random/boot_id of the holder's boot: a lock from an earlier boot is stale. */
  bootId?: string;
  /** The holder's start time in clock ticks since boot (/proc/PID/stat): tells a reused pid apart. */
  procStart?: string;
  /** Tells this acquisition from any other (release and take-over only remove the lock they mean). */
  token: string;
}

/** The lock is held by a live process: the caller must not change anything. */
export class ApplyBusyError extends Error {
  constructor(
    readonly holder: ApplyLockHolder,
    readonly file: string,
  ) {
    super(`another apply is running (pid ${holder.pid}, since ${holder.since}, ${holder.by})`);
    this.name = "ApplyBusyError";
  }
}

export interface ApplyLock {
  readonly file: string;
  /** The stale holder this acquisition replaced, if any, and why it counted as gone. */
  readonly tookOver?: { holder: ApplyLockHolder; reason: string };
  /** Removes the lock if it is still this one's. Idempotent. */
  release(): Promise<void>;
}

export interface AcquireOptions {
  by: string;
  now?: () => number;
}

export const applyLockFile = (dataDir: string) => join(provisioningDir(dataDir), "apply.lock");

function readProc(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

const bootId = () => readProc("/proc/sys/kernel/random/boot_id")?.trim() || undefined;

/** Field 22 of /proc/PID/stat (starttime); the command name before it may hold spaces, hence after the last ')'. */
function procStart(pid: number): string | undefined {
  const stat = readProc(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Why the holder is gone, or undefined while it may still be applying. */
function staleReason(h: ApplyLockHolder): string | undefined {
  const boot = bootId();
  if (h.bootId && boot && h.bootId !== boot) return "it was taken before the last reboot";
  if (!Number.isSafeInteger(h.pid) || h.pid <= 0 || !pidAlive(h.pid)) return `process ${h.pid} is gone`;
  const start = procStart(h.pid);
  if (h.procStart && start && h.procStart !== start) return `pid ${h.pid} now belongs to another process`;
  return undefined;
}

function parseHolder(text: string): ApplyLockHolder | undefined {
  try {
    const h = JSON.parse(text) as Partial<ApplyLockHolder>;
    if (typeof h.pid === "number" && typeof h.since === "string" && typeof h.token === "string")
      return { by: "?", ...h } as ApplyLockHolder;
  } catch {
    // unreadable: treated as stale below
  }
  return undefined;
}

async function readHolder(file: string): Promise<ApplyLockHolder | "absent" | "unreadable"> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return "absent";
    throw e;
  }
  return parseHolder(text) ?? "unreadable";
}

async function writeSynced(file: string, text: string): Promise<void> {
  const fh = await open(file, "wx", 0o644);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Takes the apply lock of `dataDir` or throws ApplyBusyError naming the live holder. A stale lock is taken over
 * (`tookOver` says whose, for the caller's log line). The provisioning dir is created when missing (and removed
 * again by release() when it is still empty).
 */
export async function acquireApplyLock(dataDir: string, opts: AcquireOptions): Promise<ApplyLock> {
  const dir = provisioningDir(dataDir);
  const createdDir = !(await stat(dir).then(
    () => true,
    () => false,
  ));
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = applyLockFile(dataDir);
  const me: ApplyLockHolder = {
    pid: process.pid,
    since: new Date((opts.now ?? Date.now)()).toISOString(),
    by: opts.by,
    bootId: bootId(),
    procStart: procStart(process.pid),
    token: randomBytes(8).toString("hex"),
  };
  const tmp = `${file}.${process.pid}.${me.token}.tmp`;
  await writeSynced(tmp, `${JSON.stringify(me)}\n`);
  let tookOver: ApplyLock["tookOver"];
  try {
    // Bounded: each round either takes the lock, meets a live holder, or removes one stale lock.
    for (let round = 0; round < 8; round++) {
      try {
        await link(tmp, file);
        const lock: ApplyLock = {
          file,
          tookOver,
          release: async () => {
            const h = await readHolder(file).catch(() => undefined);
            if (typeof h === "object" && h.token === me.token) await unlink(file).catch(() => {});
            if (createdDir) await rmdir(dir).catch(() => {}); // only when empty: an apply may have filled it
          },
        };
        return lock;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      }
      const holder = await readHolder(file);
      if (holder === "absent") continue; // released between our link and our read
      const reason = holder === "unreadable" ? "the lock file is unreadable" : staleReason(holder);
      if (reason === undefined && holder !== "unreadable") throw new ApplyBusyError(holder, file);
      // Stale: move it aside under a name of our own, then make sure it was the stale one we looked at (another
      // process may have taken it over and linked a live lock in the meantime: that one is put back).
      const aside = `${file}.stale-${process.pid}-${me.token}`;
      try {
        await rename(file, aside);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") continue;
        throw e;
      }
      const moved = await readHolder(aside);
      const same =
        holder === "unreadable" ? moved === "unreadable" : typeof moved === "object" && moved.token === holder.token;
      if (same) {
        await unlink(aside);
        const gone = holder === "unreadable" ? { pid: 0, since: "?", by: "?", token: "" } : holder;
        tookOver = { holder: gone, reason: reason ?? "" };
        continue;
      }
      await link(aside, file).catch(() => {}); // someone else's fresh lock: restore it (unless a third party won)
      await unlink(aside).catch(() => {});
    }
    throw new Error(`${file}: could not take the apply lock (it keeps changing hands)`);
  } finally {
    await unlink(tmp).catch(() => {});
  }
}

/** Runs `job` holding the apply lock; throws ApplyBusyError (job not run) while another apply holds it. */
export async function withApplyLock<T>(
  dataDir: string,
  opts: AcquireOptions & { onTakeOver?: (stale: NonNullable<ApplyLock["tookOver"]>) => void },
  job: () => Promise<T>,
): Promise<T> {
  const lock = await acquireApplyLock(dataDir, opts);
  if (lock.tookOver) opts.onTakeOver?.(lock.tookOver);
  try {
    return await job();
  } finally {
    await lock.release();
  }
}
