// Replacing a file so that a crash or power cut leaves either the old or the new content, never a torn one: the
// appliance is switched off at the wall. Used for the config file and everything else the box rewrites in place.
import { randomBytes } from "node:crypto";
import { closeSync, fchmodSync, fsyncSync, openSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/** Temp file in the same directory, fsync, rename over the target, fsync the directory. */
export function writeFileAtomic(file: string, text: string, mode = 0o600): void {
  const dir = dirname(file);
  const tmp = join(dir, `.${basename(file)}.${randomBytes(6).toString("hex")}.tmp`);
  const fd = openSync(tmp, "wx", mode);
  try {
    fchmodSync(fd, mode); // the umask may have narrowed it
    writeFileSync(fd, text);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  try {
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  let dirFd: number | undefined;
  try {
    dirFd = openSync(dir, "r");
    fsyncSync(dirFd);
  } catch {
    // some file systems cannot sync a directory; the rename itself is still atomic
  } finally {
    if (dirFd !== undefined) closeSync(dirFd);
  }
}
