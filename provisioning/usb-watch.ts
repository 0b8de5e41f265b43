// Notices a provisioning stick without udev: polls the usual mount roots for `switchboard-bundle*.tar` a few levels
// down (/media/USER/LABEL, /run/media/USER/LABEL, /mnt/LABEL) and emits "bundle" once per new file. A file counts as
// new when its path, size or mtime changed, so re-inserting a stick with a fresh bundle is noticed again.
import { EventEmitter } from "node:events";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";

export const DEFAULT_MOUNT_ROOTS = ["/media", "/run/media", "/mnt"];
const BUNDLE_NAME = /^switchboard-bundle.*\.tar$/;
const MAX_DIR_ENTRIES = 256; // a stick's root listing; a huge directory is skipped, not walked

export interface UsbWatchOptions {
  roots?: string[];
  intervalMs?: number;
  /** Directory levels below a root to look into (default 3: root/USER/LABEL/file). */
  depth?: number;
}

export interface UsbWatchEvents {
  bundle: [path: string];
}

export class UsbWatch extends EventEmitter<UsbWatchEvents> {
  private readonly roots: string[];
  private readonly depth: number;
  private readonly intervalMs: number;
  private seen = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private scanning = false;

  constructor(opts: UsbWatchOptions = {}) {
    super();
    this.roots = opts.roots ?? DEFAULT_MOUNT_ROOTS;
    this.depth = opts.depth ?? 3;
    this.intervalMs = opts.intervalMs ?? 3000;
  }

  start(): void {
    if (this.timer) return;
    const tick = () => {
      this.scan().catch(() => {}); // a vanished mount mid-walk is normal; the next poll sees the new truth
    };
    tick();
    this.timer = setInterval(tick, this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One poll; returns the bundles it emitted. */
  async scan(): Promise<string[]> {
    if (this.scanning) return [];
    this.scanning = true;
    try {
      const found = new Map<string, string>();
      for (const root of this.roots) await this.walk(root, this.depth, found);
      const fresh = [...found].filter(([p, sig]) => this.seen.get(p) !== sig).map(([p]) => p);
      // Forget what disappeared (stick removed), so the same file on a re-inserted stick counts again.
      this.seen = found;
      for (const p of fresh) this.emit("bundle", p);
      return fresh;
    } finally {
      this.scanning = false;
    }
  }

  private async walk(dir: string, depth: number, found: Map<string, string>): Promise<void> {
    let entries: import("node:fs").Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    if (entries.length > MAX_DIR_ENTRIES) return;
    for (const e of entries) {
      const p = join(dir, e.name);
      // Links are not followed: a stick cannot point the daemon at some other file of the box.
      if (e.isFile() && BUNDLE_NAME.test(e.name)) {
        try {
          const s = await stat(p);
          found.set(p, `${s.size}:${s.mtimeMs}`);
        } catch {
          // removed between listing and stat
        }
      } else if (e.isDirectory() && depth > 0 && !e.name.startsWith(".")) {
        await this.walk(p, depth - 1, found);
      }
    }
  }
}
