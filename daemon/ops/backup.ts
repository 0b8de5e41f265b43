// Encrypted backup and restore of a box: a consistent SQLite snapshot (taken through SQLite's online backup API, so the
// daemon may keep running), the config file, and the data directory (provisioning state, web certificate and keys,
// first-boot state, recordings and voicemail unless left out). Models and the prompt cache are not included: they are
// reinstalled or regenerated.
//
// File format (version 1): a 64-byte header, then the tar stream in chunks of `chunkSize` plaintext bytes, each
// encrypted on its own with AES-256-GCM (ciphertext + 16-byte tag):
//   0  "SWBACKUP"   8  format version   9  log2(scrypt N)   10  scrypt r   11  scrypt p   12  chunkSize (u32 BE)
//   16 salt (16)    32 nonce prefix (7)   39 key check (16)   55 reserved (9 zero bytes)
// scrypt(passphrase, salt) gives 64 bytes: the AES key and a key that makes the key check (an HMAC), so a wrong
// passphrase is told apart from a damaged file. Chunk i uses nonce = prefix || u32 BE i || last-flag and the whole
// header as additional data, so chunks cannot be reordered, dropped, cut off at the end or moved to another file, and
// header fields (scrypt cost, chunk size) cannot be altered.
// Why chunks and not one GCM stream with the tag at the end: one stream can only be authenticated after all of it has
// been decrypted, so a restore would act on unauthenticated plaintext (or hold gigabytes of audio in memory). With
// per-chunk tags, no byte is used before it is authenticated. A restore still reads the file twice: the first pass
// authenticates everything and checks the archive, writing nothing; only then the second pass extracts into a staging
// directory (authenticating again, in case the file changed) that is swapped in by rename.
import { createCipheriv, createDecipheriv, createHmac, randomBytes, scrypt } from "node:crypto";
import { createReadStream } from "node:fs";
import {
  chmod,
  cp,
  lchown,
  lstat,
  mkdir,
  mkdtemp,
  open,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  stat,
} from "node:fs/promises";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import Database from "better-sqlite3";
import { extractTar, readTar } from "../../models/tar.ts";
import { type TarWriterEntry, writeTar } from "./tar-writer.ts";

export const BACKUP_FORMAT_VERSION = 1;
const MAGIC = Buffer.from("SWBACKUP", "latin1");
const HEADER_BYTES = 64;
const TAG_BYTES = 16;
const DEFAULT_CHUNK = 1 << 20;
/** 2^17 x 8 x 128 bytes = 128 MiB and about half a second per derivation: costly to guess, fine for a box. */
const DEFAULT_LOG2N = 17;
const DB_FILE = "switchboard.db";
/** Not backed up: the live database (the snapshot replaces it) and what is reinstalled or regenerated. */
const SKIPPED_TOP = new Set([
  DB_FILE,
  `${DB_FILE}-wal`,
  `${DB_FILE}-shm`,
  `${DB_FILE}-journal`,
  "models",
  "prompt-cache",
]);
const AUDIO_TOP = new Set(["recordings", "voicemail"]);
const MANIFEST = "manifest.json";
const CONFIG = "config.yaml";
const MIN_PASSPHRASE = 12;

export type BackupErrorCode =
  | "not-a-backup"
  | "unsupported-version"
  | "wrong-passphrase"
  | "damaged"
  | "daemon-running"
  | "bad-input"
  /** The file system refused (permissions, space); whatever was swapped in was put back. */
  | "io";

export class BackupError extends Error {
  constructor(
    readonly code: BackupErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "BackupError";
  }
}

export interface BackupManifest {
  format: number;
  createdAt: string;
  includesAudio: boolean;
  /** The config file's name when it was backed up (informational). */
  configName: string;
  /** An absolute recordings directory outside the data dir, backed up under recordings/. */
  recordingsDir?: string;
  /** Permission bits of every file and directory (the tar reader writes 0644), by archive path. */
  modes: Record<string, number>;
  files: number;
  bytes: number;
}

export interface CreateBackupOptions {
  configFile: string;
  dataDir: string;
  out: string;
  passphrase: string;
  /** Leave recordings and voicemail out (default: include them). */
  noAudio?: boolean;
  /** config.recording.dir when it lies outside the data dir. */
  recordingsDir?: string;
  /** Tests lower the scrypt cost (min 10). */
  scryptLog2N?: number;
  chunkSize?: number;
  onProgress?: (p: { files: number; bytes: number }) => void;
}

export interface BackupResult {
  out: string;
  files: number;
  bytes: number;
  includesAudio: boolean;
  /** Symlinks, sockets and other non-regular files that were not backed up. */
  skipped: string[];
}

interface Params {
  log2N: number;
  r: number;
  p: number;
  chunkSize: number;
  salt: Buffer;
  prefix: Buffer;
}

function deriveKeys(passphrase: string, p: Params): Promise<{ key: Buffer; check: Buffer }> {
  const N = 2 ** p.log2N;
  return new Promise((resolvePromise, reject) =>
    scrypt(passphrase.normalize("NFC"), p.salt, 64, { N, r: p.r, p: p.p, maxmem: 256 * N * p.r + 2 ** 24 }, (e, k) =>
      e
        ? reject(e)
        : resolvePromise({
            key: k.subarray(0, 32),
            check: createHmac("sha256", k.subarray(32)).update("switchboard backup key check").digest().subarray(0, 16),
          }),
    ),
  );
}

function encodeHeader(p: Params, check: Buffer): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(h, 0);
  h[8] = BACKUP_FORMAT_VERSION;
  h[9] = p.log2N;
  h[10] = p.r;
  h[11] = p.p;
  h.writeUInt32BE(p.chunkSize, 12);
  p.salt.copy(h, 16);
  p.prefix.copy(h, 32);
  check.copy(h, 39);
  return h;
}

function decodeHeader(h: Buffer, file: string): { params: Params; check: Buffer } {
  if (h.length < HEADER_BYTES || !h.subarray(0, 8).equals(MAGIC))
    throw new BackupError("not-a-backup", `${file}: not a Switchboard backup (bad magic)`);
  if (h[8] !== BACKUP_FORMAT_VERSION)
    throw new BackupError(
      "unsupported-version",
      `${file}: backup format version ${h[8]}; this software reads version ${BACKUP_FORMAT_VERSION}`,
    );
  const params: Params = {
    log2N: h[9],
    r: h[10],
    p: h[11],
    chunkSize: h.readUInt32BE(12),
    salt: Buffer.from(h.subarray(16, 32)),
    prefix: Buffer.from(h.subarray(32, 39)),
  };
  // Bounds keep a crafted header from asking for gigabytes of scrypt memory or of chunk buffer.
  if (params.log2N < 10 || params.log2N > 22 || params.r < 1 || params.r > 32 || params.p < 1 || params.p > 16)
    throw new BackupError("damaged", `${file}: header has out-of-range scrypt parameters`);
  if (params.chunkSize < 1024 || params.chunkSize > 16 << 20)
    throw new BackupError("damaged", `${file}: header has an out-of-range chunk size`);
  if (h.subarray(55, 64).some((b) => b !== 0)) throw new BackupError("damaged", `${file}: header is damaged`);
  return { params, check: Buffer.from(h.subarray(39, 55)) };
}

function nonce(p: Params, index: number, last: boolean): Buffer {
  const n = Buffer.alloc(12);
  p.prefix.copy(n, 0);
  n.writeUInt32BE(index, 7);
  n[11] = last ? 1 : 0;
  return n;
}

async function* encrypt(plain: AsyncIterable<Buffer>, key: Buffer, header: Buffer, p: Params): AsyncGenerator<Buffer> {
  yield header;
  let index = 0;
  let buf: Buffer = Buffer.alloc(0);
  const seal = (chunk: Buffer, last: boolean) => {
    const c = createCipheriv("aes-256-gcm", key, nonce(p, index++, last));
    c.setAAD(header);
    return Buffer.concat([c.update(chunk), c.final(), c.getAuthTag()]);
  };
  for await (const data of plain) {
    buf = buf.length ? Buffer.concat([buf, data]) : data;
    // A full chunk goes out only once more data follows: the last chunk must carry the last-flag.
    while (buf.length > p.chunkSize) {
      yield seal(buf.subarray(0, p.chunkSize), false);
      buf = buf.subarray(p.chunkSize);
    }
  }
  yield seal(buf, true);
}

/** The authenticated plaintext of a backup file, chunk by chunk; throws BackupError before yielding anything bad. */
async function* decrypt(file: string, key: Buffer, header: Buffer, p: Params): AsyncGenerator<Buffer> {
  const sealed = p.chunkSize + TAG_BYTES;
  let index = 0;
  const open1 = (chunk: Buffer, last: boolean): Buffer => {
    const d = createDecipheriv("aes-256-gcm", key, nonce(p, index, last));
    d.setAAD(header);
    d.setAuthTag(chunk.subarray(chunk.length - TAG_BYTES));
    try {
      const out = Buffer.concat([d.update(chunk.subarray(0, chunk.length - TAG_BYTES)), d.final()]);
      index++;
      return out;
    } catch {
      throw new BackupError(
        "damaged",
        `${file}: damaged or tampered with (chunk ${index} at byte ${HEADER_BYTES + index * sealed} fails authentication)`,
      );
    }
  };
  let buf: Buffer = Buffer.alloc(0);
  for await (const data of createReadStream(file, {
    start: HEADER_BYTES,
    highWaterMark: 1 << 20,
  }) as AsyncIterable<Buffer>) {
    buf = buf.length ? Buffer.concat([buf, data]) : data;
    while (buf.length > sealed) {
      yield open1(buf.subarray(0, sealed), false);
      buf = buf.subarray(sealed);
    }
  }
  if (buf.length < TAG_BYTES)
    throw new BackupError("damaged", `${file}: damaged or tampered with (cut short after chunk ${index})`);
  yield open1(buf, true);
}

async function readHeader(file: string): Promise<Buffer> {
  const fh = await open(file, "r").catch((e: NodeJS.ErrnoException) => {
    throw new BackupError("bad-input", `${file}: cannot open the backup (${e.code ?? e.message})`);
  });
  try {
    const h = Buffer.alloc(HEADER_BYTES);
    const { bytesRead } = await fh.read(h, 0, HEADER_BYTES, 0);
    return h.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** Reads the header and checks the passphrase; nothing else is read yet. */
async function unlock(file: string, passphrase: string) {
  const header = await readHeader(file);
  const { params, check } = decodeHeader(header, file);
  const keys = await deriveKeys(passphrase, params);
  if (!keys.check.equals(check))
    throw new BackupError("wrong-passphrase", `${file}: wrong passphrase (or the header was altered)`);
  return { header, params, key: keys.key };
}

function checkPassphrase(passphrase: string): void {
  if (typeof passphrase !== "string" || [...passphrase].length < MIN_PASSPHRASE)
    throw new BackupError("bad-input", `the backup passphrase must have at least ${MIN_PASSPHRASE} characters`);
}

function within(dir: string, p: string): boolean {
  return p === dir || p.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

export async function createBackup(o: CreateBackupOptions): Promise<BackupResult> {
  checkPassphrase(o.passphrase);
  const dataDir = resolve(o.dataDir);
  const out = resolve(o.out);
  if (within(dataDir, out))
    throw new BackupError("bad-input", `${o.out}: the backup must not be written into the data dir`);
  const configText = await readFile(o.configFile).catch((e: NodeJS.ErrnoException) => {
    throw new BackupError("bad-input", `${o.configFile}: cannot read the config file (${e.code ?? e.message})`);
  });
  if (!(await stat(dataDir).catch(() => undefined))?.isDirectory())
    throw new BackupError("bad-input", `${o.dataDir}: data dir does not exist`);
  const includesAudio = !o.noAudio;
  const externalRecordings =
    includesAudio && o.recordingsDir && !within(dataDir, resolve(o.recordingsDir))
      ? resolve(o.recordingsDir)
      : undefined;

  const work = await mkdtemp(join(dirname(out), `.${basename(out)}.tmp-`));
  const partial = join(work, "backup.partial");
  try {
    // The snapshot goes next to the output (not /tmp, which may be a small tmpfs).
    const snapshot = join(work, DB_FILE);
    let hasDb = false;
    if (await stat(join(dataDir, DB_FILE)).catch(() => undefined)) {
      const db = new Database(join(dataDir, DB_FILE), { fileMustExist: true });
      try {
        db.pragma("busy_timeout = 5000");
        await db.backup(snapshot);
        hasDb = true;
      } finally {
        db.close();
      }
    }

    const skipped: string[] = [];
    const modes: Record<string, number> = {};
    const list: {
      archive: string;
      abs: string;
      type: "file" | "directory";
      size: number;
      mode: number;
      mtimeMs: number;
    }[] = [];
    const walk = async (abs: string, archive: string, top: boolean): Promise<void> => {
      const names = (await readdir(abs)).sort();
      for (const name of names) {
        if (top && (SKIPPED_TOP.has(name) || (!includesAudio && AUDIO_TOP.has(name)))) continue;
        const child = join(abs, name);
        if (!includesAudio && o.recordingsDir && resolve(o.recordingsDir) === child) continue;
        const st = await lstat(child).catch(() => undefined);
        if (!st) continue; // gone meanwhile (retention)
        const path = `${archive}/${name}`;
        if (st.isDirectory()) {
          list.push({ archive: path, abs: child, type: "directory", size: 0, mode: st.mode, mtimeMs: st.mtimeMs });
          await walk(child, path, false);
        } else if (st.isFile()) {
          list.push({ archive: path, abs: child, type: "file", size: st.size, mode: st.mode, mtimeMs: st.mtimeMs });
        } else skipped.push(relative(dataDir, child) || child);
      }
    };
    list.push({ archive: "data", abs: dataDir, type: "directory", size: 0, mode: 0o700, mtimeMs: Date.now() });
    await walk(dataDir, "data", true);
    if (hasDb) {
      const st = await stat(snapshot);
      list.push({
        archive: `data/${DB_FILE}`,
        abs: snapshot,
        type: "file",
        size: st.size,
        mode: 0o600,
        mtimeMs: st.mtimeMs,
      });
    }
    if (externalRecordings && (await stat(externalRecordings).catch(() => undefined))?.isDirectory()) {
      list.push({
        archive: "recordings",
        abs: externalRecordings,
        type: "directory",
        size: 0,
        mode: 0o700,
        mtimeMs: 0,
      });
      await walk(externalRecordings, "recordings", false);
    }
    for (const e of list) modes[e.archive] = e.mode & 0o777;
    modes[CONFIG] = ((await stat(o.configFile)).mode & 0o777) | 0o600;
    const files = list.filter((e) => e.type === "file");
    const manifest: BackupManifest = {
      format: BACKUP_FORMAT_VERSION,
      createdAt: new Date().toISOString(),
      includesAudio,
      configName: basename(o.configFile),
      ...(externalRecordings ? { recordingsDir: externalRecordings } : {}),
      modes,
      files: files.length + 1,
      bytes: files.reduce((n, f) => n + f.size, configText.length),
    };

    let done = 0;
    let bytes = 0;
    async function* entries(): AsyncGenerator<TarWriterEntry> {
      yield { path: MANIFEST, type: "file", data: Buffer.from(JSON.stringify(manifest)), mode: 0o600 };
      yield { path: CONFIG, type: "file", data: configText, mode: 0o600 };
      for (const e of list) {
        if (e.type === "directory") {
          yield { path: e.archive, type: "directory", mode: e.mode, mtimeMs: e.mtimeMs };
          continue;
        }
        // Exactly the size seen while listing: a recording still being written is cut there, consistently.
        const data =
          e.size === 0
            ? Buffer.alloc(0)
            : (createReadStream(e.abs, { start: 0, end: e.size - 1 }) as AsyncIterable<Buffer>);
        yield { path: e.archive, type: "file", size: e.size, mode: e.mode, mtimeMs: e.mtimeMs, data };
        done++;
        bytes += e.size;
        o.onProgress?.({ files: done, bytes });
      }
    }

    const params: Params = {
      log2N: o.scryptLog2N ?? DEFAULT_LOG2N,
      r: 8,
      p: 1,
      chunkSize: o.chunkSize ?? DEFAULT_CHUNK,
      salt: randomBytes(16),
      prefix: randomBytes(7),
    };
    if (params.log2N < 10 || params.log2N > 22) throw new BackupError("bad-input", "scrypt cost out of range");
    const { key, check } = await deriveKeys(o.passphrase, params);
    const header = encodeHeader(params, check);
    const fh = await open(partial, "wx", 0o600);
    try {
      for await (const chunk of encrypt(writeTar(entries()), key, header, params)) await fh.write(chunk);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(partial, out);
    return { out, files: files.length + 1, bytes: manifest.bytes, includesAudio, skipped };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export interface RestoreOptions {
  file: string;
  passphrase: string;
  dataDir: string;
  configFile: string;
  /** Where recordings that lived outside the data dir go (default: where they were). */
  recordingsDir?: string;
  /** Restore even though the database seems to be open by a running daemon. */
  force?: boolean;
  /** Default: look in /proc for processes holding the database open. */
  databaseUsers?: (dbFile: string) => Promise<number[] | undefined>;
}

export interface RestoreResult {
  createdAt: string;
  files: number;
  includesAudio: boolean;
  /** Where the replaced data dir, config file (and recordings dir) were moved; delete them once satisfied. */
  previous: { dataDir?: string; configFile?: string; recordingsDir?: string };
}

/** Checks a backup fully (passphrase, every chunk, the archive) without writing anything; returns its manifest. */
export async function verifyBackup(file: string, passphrase: string): Promise<BackupManifest> {
  const { header, params, key } = await unlock(file, passphrase);
  return checkArchive(file, decrypt(file, key, header, params));
}

async function checkArchive(file: string, plain: AsyncIterable<Buffer>): Promise<BackupManifest> {
  let manifestBytes: Buffer[] | undefined;
  let sawConfig = false;
  try {
    await readTar(plain, {
      async directory(e) {
        if (e.path !== "data" && e.path !== "recordings" && !/^(data|recordings)\//.test(e.path))
          throw new BackupError("damaged", `${file}: unexpected entry ${e.path}`);
      },
      async file(e) {
        if (e.path === MANIFEST) manifestBytes = [];
        else if (e.path === CONFIG) sawConfig = true;
        else if (!/^(data|recordings)\//.test(e.path))
          throw new BackupError("damaged", `${file}: unexpected entry ${e.path}`);
        const keep = e.path === MANIFEST;
        return {
          async write(c) {
            if (keep) manifestBytes?.push(Buffer.from(c));
          },
          async end() {},
          async abort() {},
        };
      },
    });
  } catch (e) {
    if (e instanceof BackupError) throw e;
    throw new BackupError("damaged", `${file}: the archive inside is not valid: ${(e as Error).message}`);
  }
  if (!manifestBytes || !sawConfig) throw new BackupError("damaged", `${file}: manifest or config missing`);
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(Buffer.concat(manifestBytes).toString("utf8")) as BackupManifest;
  } catch {
    throw new BackupError("damaged", `${file}: manifest is not JSON`);
  }
  if (manifest.format !== BACKUP_FORMAT_VERSION || typeof manifest.modes !== "object" || manifest.modes === null)
    throw new BackupError("damaged", `${file}: manifest is not understood`);
  return manifest;
}

/** PIDs of processes that have `dbFile` (or its WAL) open, from /proc; undefined where /proc cannot tell. */
export async function databaseUsers(dbFile: string): Promise<number[] | undefined> {
  const targets = new Set([dbFile, `${dbFile}-wal`, `${dbFile}-shm`].map((f) => resolve(f)));
  let pids: string[];
  try {
    pids = (await readdir("/proc")).filter((p) => /^\d+$/.test(p));
  } catch {
    return undefined;
  }
  const users: number[] = [];
  for (const pid of pids) {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => "");
      if (targets.has(target)) {
        users.push(Number(pid));
        break;
      }
    }
  }
  return users;
}

/** Moves `src` to `dest` (which must not exist): a rename, or a copy next to `dest` and a rename across filesystems. */
async function moveInto(src: string, dest: string): Promise<void> {
  try {
    await rename(src, dest);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EXDEV") throw e;
    const tmp = `${dest}.restore-tmp`;
    await rm(tmp, { recursive: true, force: true });
    await cp(src, tmp, { recursive: true, preserveTimestamps: true });
    await rename(tmp, dest);
    await rm(src, { recursive: true, force: true });
  }
}

async function exists(p: string): Promise<boolean> {
  return lstat(p).then(
    () => true,
    () => false,
  );
}

/** Restores a backup: checked completely first, then staged and swapped in by rename; the replaced state is kept. */
export async function restoreBackup(o: RestoreOptions): Promise<RestoreResult> {
  const file = resolve(o.file);
  const dataDir = resolve(o.dataDir);
  const configFile = resolve(o.configFile);
  // 1. Passphrase and header.
  const { header, params, key } = await unlock(file, o.passphrase);
  // 2. A running daemon keeps writing to the database it has open: never swap it away underneath.
  if (!o.force) {
    const users = await (o.databaseUsers ?? databaseUsers)(join(dataDir, DB_FILE));
    if (users === undefined)
      throw new BackupError(
        "daemon-running",
        "cannot tell whether the daemon is running (no /proc): stop it and restore with --force",
      );
    if (users.length)
      throw new BackupError(
        "daemon-running",
        `the database ${join(dataDir, DB_FILE)} is open by process ${users.join(", ")}: stop the daemon first ` +
          "(systemctl stop switchboard) or pass --force",
      );
  }
  // 3. Authenticate every chunk and check the archive, writing nothing.
  const manifest = await checkArchive(file, decrypt(file, key, header, params));

  // 4. Extract into a staging dir beside the data dir (same filesystem: the swap is a rename).
  await mkdir(dirname(dataDir), { recursive: true });
  const staging = await mkdtemp(join(dirname(dataDir), `.${basename(dataDir)}.restore-`));
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const previous: RestoreResult["previous"] = {};
  const undo: (() => Promise<void>)[] = [];
  try {
    const extracted = await extractTar(decrypt(file, key, header, params), staging);
    for (const [path, mode] of Object.entries(manifest.modes)) {
      if (/(^|\/)\.\.(\/|$)/.test(path) || typeof mode !== "number") continue;
      await chmod(join(staging, path), mode & 0o777).catch(() => undefined);
    }
    // Run as root (e.g. from a rescue shell): hand the files to whoever owned the data dir before.
    const owner = await stat(dataDir).catch(() => undefined);
    if (owner && process.getuid?.() === 0) await chownTree(join(staging, "data"), owner.uid, owner.gid);

    // 5. Swap in: data dir, then recordings, then the config file; a failure puts back what was swapped.
    const swap = async (src: string, dest: string, kind: keyof RestoreResult["previous"]) => {
      await mkdir(dirname(dest), { recursive: true });
      if (await exists(dest)) {
        const old = `${dest}.before-restore-${stamp}`;
        await rename(dest, old);
        previous[kind] = old;
        undo.push(async () => {
          await rm(dest, { recursive: true, force: true });
          await rename(old, dest);
        });
      } else undo.push(() => rm(dest, { recursive: true, force: true }));
      await moveInto(src, dest);
    };
    await swap(join(staging, "data"), dataDir, "dataDir");
    const recordingsTarget = o.recordingsDir ?? manifest.recordingsDir;
    if (recordingsTarget && (await exists(join(staging, "recordings"))))
      await swap(join(staging, "recordings"), resolve(recordingsTarget), "recordingsDir");
    await swap(join(staging, CONFIG), configFile, "configFile");
    return {
      createdAt: manifest.createdAt,
      files: extracted.length - 1,
      includesAudio: manifest.includesAudio,
      previous,
    };
  } catch (e) {
    for (const step of undo.reverse()) await step().catch(() => undefined);
    for (const k of Object.keys(previous) as (keyof RestoreResult["previous"])[]) delete previous[k];
    throw e instanceof BackupError || !(e instanceof Error)
      ? e
      : new BackupError("io", `restore failed, nothing changed: ${e.message}`);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

async function chownTree(dir: string, uid: number, gid: number): Promise<void> {
  await lchown(dir, uid, gid);
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await chownTree(p, uid, gid);
    else await lchown(p, uid, gid);
  }
}
