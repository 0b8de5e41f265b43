import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, test } from "node:test";
import Database from "better-sqlite3";
import { closeDb, openDb } from "../store/db.ts";
import { BackupError, createBackup, databaseUsers, restoreBackup, verifyBackup } from "./backup.ts";

const PASS = "correct horse battery staple";
const FAST = { scryptLog2N: 10, chunkSize: 4096 };
const noUsers = async () => [];
const roots: string[] = [];
after(async () => {
  for (const r of roots) await rm(r, { recursive: true, force: true });
});

const audio = randomBytes(300_000);
const longName = `${"very-long-directory-name-".repeat(4)}/${"x".repeat(90)}.wav`;

/** A box: data dir with a live database (rows still in the WAL), web keys, provisioning state and audio. */
async function box() {
  const root = await mkdtemp(join(tmpdir(), "backup-"));
  roots.push(root);
  const dataDir = join(root, "data");
  const configFile = join(root, "etc", "switchboard.yaml");
  await mkdir(join(root, "etc"));
  await writeFile(configFile, "dataDir: ./data\ntrunks: []\n", { mode: 0o640 });
  const db = openDb(join(dataDir, "switchboard.db"));
  db.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT, blob BLOB)");
  const insert = db.prepare("INSERT INTO notes (text, blob) VALUES (?, ?)");
  for (let i = 0; i < 200; i++) insert.run(`note ${i} ü`, randomBytes(64));
  const files: Record<string, Buffer> = {
    "web/cert.pem": Buffer.from("-----BEGIN CERTIFICATE-----\n"),
    "web/key.pem": Buffer.from("-----BEGIN PRIVATE KEY-----\nsecret\n"),
    "provisioning/state.json": Buffer.from('{"installedVersion":3,"highestVersion":3}'),
    "provisioning/current/manifest.json": Buffer.from("{}"),
    "recordings/2025-01-02/call-1.wav": audio,
    "voicemail/call-2.wav": audio.subarray(0, 1000),
    [`recordings/${longName}`]: Buffer.from("long"),
    "empty.txt": Buffer.alloc(0),
    "models/big.onnx": Buffer.from("not backed up"),
    "prompt-cache/p.wav": Buffer.from("not backed up"),
  };
  for (const [p, data] of Object.entries(files)) {
    await mkdir(join(dataDir, p, ".."), { recursive: true });
    await writeFile(join(dataDir, p), data, { mode: p.endsWith("key.pem") ? 0o600 : 0o644 });
  }
  await symlink("/etc/passwd", join(dataDir, "a-link"));
  return { root, dataDir, configFile, db, out: join(root, "box.swbackup") };
}

function rows(file: string) {
  const db = new Database(file, { readonly: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as {
      name: string;
    }[];
    return Object.fromEntries(tables.map((t) => [t.name, db.prepare(`SELECT * FROM "${t.name}"`).all()]));
  } finally {
    db.close();
  }
}

/** Every path under `dir` with a hash of its content, to prove nothing changed. */
async function tree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      const key = relative(dir, p);
      if (e.isDirectory()) {
        out[key] = "dir";
        await walk(p);
      } else if (e.isFile())
        out[key] = createHash("sha256")
          .update(await readFile(p))
          .digest("hex");
      else out[key] = "other";
    }
  };
  await walk(dir);
  return out;
}

test("backup while the database is open, then restore: identical rows and files, old state kept aside", async () => {
  const b = await box();
  const before = rows(join(b.dataDir, "switchboard.db")); // the reader sees the WAL too
  const r = await createBackup({ configFile: b.configFile, dataDir: b.dataDir, out: b.out, passphrase: PASS, ...FAST });
  assert.equal(r.includesAudio, true);
  assert.deepEqual(r.skipped, ["a-link"]);
  // The daemon goes on and the box is damaged afterwards: rows lost, key replaced, config broken.
  b.db.exec("DELETE FROM notes WHERE id > 10");
  closeDb(b.db);
  await writeFile(join(b.dataDir, "web/key.pem"), "other");
  await rm(join(b.dataDir, "recordings"), { recursive: true });
  await writeFile(b.configFile, "broken: [");

  const manifest = await verifyBackup(b.out, PASS);
  assert.equal(manifest.includesAudio, true);
  const res = await restoreBackup({ file: b.out, passphrase: PASS, dataDir: b.dataDir, configFile: b.configFile });
  // Checked before anything opens the restored database (a reader of a WAL database makes its -wal file).
  for (const gone of ["models", "prompt-cache", "a-link", "switchboard.db-wal"])
    assert.equal(await stat(join(b.dataDir, gone)).catch(() => "absent"), "absent", gone);
  assert.deepEqual(rows(join(b.dataDir, "switchboard.db")), before);
  assert.equal(await readFile(b.configFile, "utf8"), "dataDir: ./data\ntrunks: []\n");
  assert.equal((await stat(b.configFile)).mode & 0o777, 0o640);
  assert.deepEqual(await readFile(join(b.dataDir, "recordings/2025-01-02/call-1.wav")), audio);
  assert.equal(await readFile(join(b.dataDir, "recordings", longName), "utf8"), "long");
  assert.equal(await readFile(join(b.dataDir, "web/key.pem"), "utf8"), "-----BEGIN PRIVATE KEY-----\nsecret\n");
  assert.equal((await stat(join(b.dataDir, "web/key.pem"))).mode & 0o777, 0o600, "keys stay private");
  assert.equal(
    await readFile(join(b.dataDir, "provisioning/state.json"), "utf8"),
    '{"installedVersion":3,"highestVersion":3}',
  );
  assert.equal((await stat(join(b.dataDir, "empty.txt"))).size, 0);
  // The replaced state is kept beside, and no staging directory is left.
  assert.ok(res.previous.dataDir && res.previous.configFile);
  assert.equal(await readFile(join(res.previous.dataDir, "web/key.pem"), "utf8"), "other");
  assert.equal(await readFile(res.previous.configFile, "utf8"), "broken: [");
  assert.deepEqual(
    (await readdir(b.root)).filter((n) => n.includes("restore-") && !n.includes("before-restore")),
    [],
  );
});

test("--no-audio leaves recordings and voicemail out", async () => {
  const b = await box();
  await createBackup({
    configFile: b.configFile,
    dataDir: b.dataDir,
    out: b.out,
    passphrase: PASS,
    noAudio: true,
    ...FAST,
  });
  closeDb(b.db);
  const target = join(b.root, "restored");
  const res = await restoreBackup({
    file: b.out,
    passphrase: PASS,
    dataDir: target,
    configFile: join(b.root, "restored.yaml"),
    databaseUsers: noUsers,
  });
  assert.equal(res.includesAudio, false);
  assert.deepEqual(res.previous, {}, "nothing was there before");
  const t = await tree(target);
  assert.ok(t["web/key.pem"] && t["switchboard.db"]);
  assert.equal(Object.keys(t).filter((p) => p.startsWith("recordings") || p.startsWith("voicemail")).length, 0);
});

test("wrong passphrase, flipped bytes and a cut-off file are refused with nothing written", async () => {
  const b = await box();
  await createBackup({ configFile: b.configFile, dataDir: b.dataDir, out: b.out, passphrase: PASS, ...FAST });
  closeDb(b.db);
  const good = await readFile(b.out);
  const before = await tree(b.root);
  const attempt = async (bytes: Buffer, passphrase = PASS) => {
    const f = join(tmpdir(), `bad-${randomBytes(4).toString("hex")}.swbackup`);
    await writeFile(f, bytes);
    try {
      await restoreBackup({
        file: f,
        passphrase,
        dataDir: b.dataDir,
        configFile: b.configFile,
        databaseUsers: noUsers,
      });
      return undefined;
    } catch (e) {
      assert.ok(e instanceof BackupError, String(e));
      return e;
    } finally {
      await rm(f);
    }
  };
  const flip = (at: number) => {
    const c = Buffer.from(good);
    c[at] ^= 0x01;
    return c;
  };
  const wrong = await attempt(good, "correct horse battery stapler");
  assert.equal(wrong?.code, "wrong-passphrase");
  assert.match(wrong?.message ?? "", /wrong passphrase/);
  assert.equal((await attempt(flip(20)))?.code, "wrong-passphrase", "salt altered");
  for (const at of [64, Math.floor(good.length / 2), good.length - 1]) {
    const e = await attempt(flip(at));
    assert.equal(e?.code, "damaged", `byte ${at}`);
    assert.match(e?.message ?? "", /damaged or tampered with/);
  }
  // Cut at a chunk boundary: every remaining chunk authenticates, but the last one lacks its last-flag.
  assert.equal((await attempt(good.subarray(0, 64 + 2 * (4096 + 16))))?.code, "damaged");
  assert.equal((await attempt(Buffer.concat([good, Buffer.from("x")])))?.code, "damaged");
  assert.equal((await attempt(Buffer.from("not a backup at all")))?.code, "not-a-backup");
  const v2 = Buffer.from(good);
  v2[8] = 2;
  assert.equal((await attempt(v2))?.code, "unsupported-version");
  assert.deepEqual(await tree(b.root), before, "nothing written anywhere");
});

test("a running daemon's database is never restored over (unless forced)", async () => {
  const b = await box();
  await createBackup({ configFile: b.configFile, dataDir: b.dataDir, out: b.out, passphrase: PASS, ...FAST });
  // b.db is still open in this process: the daemon.
  const users = await databaseUsers(join(b.dataDir, "switchboard.db"));
  assert.ok(users?.includes(process.pid));
  const before = await tree(b.root);
  await assert.rejects(
    restoreBackup({ file: b.out, passphrase: PASS, dataDir: b.dataDir, configFile: b.configFile }),
    (e: BackupError) => e.code === "daemon-running" && e.message.includes(String(process.pid)),
  );
  await assert.rejects(
    restoreBackup({
      file: b.out,
      passphrase: PASS,
      dataDir: b.dataDir,
      configFile: b.configFile,
      databaseUsers: async () => undefined,
    }),
    (e: BackupError) => e.code === "daemon-running" && /--force/.test(e.message),
  );
  assert.deepEqual(await tree(b.root), before);
  closeDb(b.db);
  assert.deepEqual(await databaseUsers(join(b.dataDir, "switchboard.db")), []);
});

test("bad inputs are refused before anything is written", async () => {
  const b = await box();
  closeDb(b.db);
  await assert.rejects(
    createBackup({ configFile: b.configFile, dataDir: b.dataDir, out: b.out, passphrase: "short", ...FAST }),
    (e: BackupError) => e.code === "bad-input" && /at least 12/.test(e.message),
  );
  await assert.rejects(
    createBackup({ configFile: b.configFile, dataDir: b.dataDir, out: join(b.dataDir, "x"), passphrase: PASS }),
    /must not be written into the data dir/,
  );
  await assert.rejects(
    createBackup({ configFile: join(b.root, "nope.yaml"), dataDir: b.dataDir, out: b.out, passphrase: PASS }),
    /nope\.yaml: cannot read the config file/,
  );
  await assert.rejects(
    restoreBackup({ file: join(b.root, "missing"), passphrase: PASS, dataDir: b.dataDir, configFile: b.configFile }),
    (e: BackupError) => e.code === "bad-input",
  );
  assert.deepEqual((await readdir(b.root)).sort(), ["data", "etc"], "no output and no temporary files");
});

test("recordings outside the data dir are backed up and restored to where they were", async () => {
  const b = await box();
  closeDb(b.db);
  const rec = join(b.root, "rec");
  await mkdir(join(rec, "2025-02-03"), { recursive: true });
  await writeFile(join(rec, "2025-02-03", "c.wav"), audio);
  await createBackup({
    configFile: b.configFile,
    dataDir: b.dataDir,
    out: b.out,
    passphrase: PASS,
    recordingsDir: rec,
    ...FAST,
  });
  await rm(rec, { recursive: true });
  const res = await restoreBackup({ file: b.out, passphrase: PASS, dataDir: b.dataDir, configFile: b.configFile });
  assert.deepEqual(await readFile(join(rec, "2025-02-03", "c.wav")), audio);
  assert.equal(res.previous.recordingsDir, undefined, "there was nothing to keep aside");
});
