// A provisioning bundle's `model-bundle` files go into the daemon's model store in two steps: checked completely
// before the swap (ModelStore.prepareInstall: extracted, hashed, manifest, signature, no version conflict), so a
// bad one rejects the whole provisioning bundle with nothing changed; activated (renames only) once the caller has
// committed (applyBundle: state.json; the USB provisioner: the daemon took the site config). Engines are loaded at
// daemon start, so a newly activated model needs a restart to be used.
import { rmdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { ModelError, type ModelStore, type PreparedInstall, type ProgressEvent } from "../models/store.ts";
import { BundleRejected, type BundleProgress } from "./bundle.ts";
import type { Manifest } from "./manifest.ts";

/** What provisioning needs of the model store (the daemon passes its ModelStore). */
export type ModelInstaller = Pick<ModelStore, "prepareInstall" | "root">;

/** Progress of an apply: streaming the bundle's files ("bundle"), then checking its model bundles ("models"). */
export interface ApplyProgress extends BundleProgress {
  stage: "bundle" | "models";
  /** While checking models: the model bundle's path inside the provisioning bundle. */
  file?: string;
}

export interface InstalledModels {
  /** name@version of every model bundle that is now active, in bundle order. */
  models: string[];
  /** Some active version changed: the daemon must restart to load it. */
  restartNeeded: boolean;
  /** Model bundles that could not be activated after the commit, one line each naming the file. */
  errors: string[];
}

/** One line: a ModelError's per-file problems come on separate lines. */
const oneLine = (s: string) => s.replace(/\s*\n\s*/g, "; ");

export class PreparedModelBundles {
  constructor(private readonly items: { file: string; prepared: PreparedInstall }[] = []) {}

  get size(): number {
    return this.items.length;
  }

  /** name@version of each, in bundle order. */
  labels(): string[] {
    return this.items.map((i) => `${i.prepared.name}@${i.prepared.version}`);
  }

  /** Activates each; a failure is recorded (the rest still go in) because the caller's commit is already done. */
  async install(): Promise<InstalledModels> {
    const out: InstalledModels = { models: [], restartNeeded: false, errors: [] };
    for (const { file, prepared } of this.items) {
      try {
        const r = await prepared.activate();
        out.models.push(`${r.name}@${r.version}`);
        if (r.previous !== r.version) out.restartNeeded = true;
      } catch (e) {
        out.errors.push(
          `${file}: ${prepared.name}@${prepared.version} not installed: ${oneLine((e as Error).message)}`,
        );
      }
    }
    return out;
  }

  async discard(): Promise<void> {
    for (const { prepared } of this.items) await prepared.discard().catch(() => {});
  }
}

/**
 * Checks every model bundle of `manifest` (its files are under `dir`) with the store, in bundle order. A bad one
 * throws BundleRejected("content", its path) with the store's reason; nothing stays behind in the store then (not
 * even the staging directories this created).
 */
export async function checkModelBundles(
  manifest: Manifest,
  dir: string,
  store: ModelInstaller,
  onProgress?: (p: ApplyProgress) => void,
): Promise<PreparedModelBundles> {
  const entries = manifest.contents.filter((c) => c.role === "model-bundle");
  if (entries.length === 0) return new PreparedModelBundles();
  const made = await missing([store.root, join(store.root, ".staging")]);
  const items: { file: string; prepared: PreparedInstall }[] = [];
  const totalBytes = entries.reduce((s, c) => s + c.size, 0);
  let doneBytes = 0;
  const progress = (files: number, bytes: number, file?: string) =>
    onProgress?.({ stage: "models", files, totalFiles: entries.length, bytes, totalBytes, file });
  try {
    for (const [i, c] of entries.entries()) {
      progress(i, doneBytes, c.path);
      let prepared: PreparedInstall;
      try {
        prepared = await store.prepareInstall(join(dir, c.path), {
          // Archive bytes of this model bundle; the provisioning manifest's size bounds them.
          onProgress: (e: ProgressEvent) => progress(i, doneBytes + Math.min(e.bytesDone, c.size), c.path),
        });
      } catch (e) {
        if (e instanceof ModelError)
          throw new BundleRejected("content", c.path, `model bundle rejected: ${oneLine(e.message)}`);
        throw e;
      }
      items.push({ file: c.path, prepared });
      const twin = items.find((x) => x.prepared !== prepared && x.prepared.name === prepared.name);
      if (twin)
        throw new BundleRejected("content", c.path, `a second model bundle named "${prepared.name}" (${twin.file})`);
      doneBytes += c.size;
    }
    progress(entries.length, doneBytes);
    return new PreparedModelBundles(items);
  } catch (e) {
    await new PreparedModelBundles(items).discard();
    for (const d of made.reverse()) await rmdir(d).catch(() => {}); // only when empty
    throw e;
  }
}

/** Installs the model bundles of an applied bundle directory (startup recovery rolling a committed apply forward). */
export async function installModelBundles(
  manifest: Manifest,
  dir: string,
  store: ModelInstaller,
): Promise<InstalledModels> {
  return (await checkModelBundles(manifest, dir, store)).install();
}

/** Which of `dirs` do not exist yet (so a rejection can remove what it created). */
async function missing(dirs: string[]): Promise<string[]> {
  const there = await Promise.all(dirs.map((d) => stat(d).then(Boolean, () => false)));
  return dirs.filter((_, i) => !there[i]);
}
