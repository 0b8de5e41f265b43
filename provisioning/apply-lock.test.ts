import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { ApplyBusyError, acquireApplyLock, applyLockFile, withApplyLock } from "./apply-lock.ts";
import { provisioningDir } from "./apply.ts";

const root = await mkdtemp(join(tmpdir(), "apply-lock-test-"));
after(() => rm(root, { recursive: true, force: true }));
let n = 0;

async function dataDir(): Promise<string> {
  const d = join(root, `data-${++n}`);
  await mkdir(provisioningDir(d), { recursive: true });
  return d;
}

const holder = async (d: string) => JSON.parse(await readFile(applyLockFile(d), "utf8"));
const deadPid = () => spawnSync(process.execPath, ["-e", ""]).pid;

test("a second apply is refused while the first holds the lock, and gets it once released", async () => {
  const d = await dataDir();
  const first = await acquireApplyLock(d, {
    by: "switchboard provision apply",
    now: () => Date.parse("2026-06-01T10:00:00Z"),
  });
  assert.equal(first.tookOver, undefined);
  const h = await holder(d);
  assert.equal(h.pid, process.pid);
  assert.equal(h.by, "switchboard provision apply");
  await assert.rejects(
    acquireApplyLock(d, { by: "daemon usb provisioning" }),
    (e: unknown) =>
      e instanceof ApplyBusyError &&
      e.message ===
        `another apply is running (pid ${process.pid}, since 2026-06-01T10:00:00.000Z, switchboard provision apply)` &&
      e.file === applyLockFile(d),
  );
  let ran = false;
  await assert.rejects(
    withApplyLock(d, { by: "x" }, async () => {
      ran = true;
    }),
    ApplyBusyError,
  );
  assert.equal(ran, false, "the loser's job never runs");
  assert.deepEqual(await holder(d), h, "the holder's lock is untouched");

  await first.release();
  await first.release();
  assert.deepEqual(await readdir(provisioningDir(d)), [], "no lock or temp file left");
  assert.equal(await withApplyLock(d, { by: "daemon usb provisioning" }, async () => "done"), "done");
});

test("a holder in another process blocks until that process is gone, then the lock is taken over", async () => {
  const d = await dataDir();
  // A real second process takes the lock and keeps running.
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      "-e",
      `const { acquireApplyLock } = await import(${JSON.stringify(new URL("./apply-lock.ts", import.meta.url).href)});
       await acquireApplyLock(${JSON.stringify(d)}, { by: "child" }); console.log("locked"); setTimeout(() => {}, 60000);`,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  try {
    await new Promise<void>((res, rej) => {
      const t = setTimeout(() => rej(new Error("child did not lock within 20 s")), 20_000);
      child.stdout.on("data", (b: Buffer) => {
        if (b.toString().includes("locked")) {
          clearTimeout(t);
          res();
        }
      });
    });
    await assert.rejects(acquireApplyLock(d, { by: "me" }), new RegExp(`pid ${child.pid}, .*child\\)`));
  } finally {
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
  }
  const lock = await acquireApplyLock(d, { by: "me" });
  assert.equal(lock.tookOver?.holder.pid, child.pid);
  assert.match(lock.tookOver?.reason ?? "", /is gone/);
  assert.equal((await holder(d)).by, "me");
  await lock.release();
});

test("stale locks are taken over: dead pid, earlier boot, reused pid, unreadable file", async () => {
  const bootId = (await readFile("/proc/sys/kernel/random/boot_id", "utf8").catch(() => "")).trim();
  const cases: [string, string, RegExp][] = [
    ["dead pid", JSON.stringify({ pid: deadPid(), since: "s", by: "cli", token: "a" }), /process \d+ is gone/],
    ["garbage", "{not json", /unreadable/],
    ["empty", "", /unreadable/],
  ];
  if (bootId) {
    // This very process is alive, but the lock claims another boot or another process start: not this process.
    const other = `${bootId.slice(0, -1)}${bootId.endsWith("0") ? "1" : "0"}`;
    cases.push([
      "earlier boot",
      JSON.stringify({ pid: process.pid, since: "s", by: "cli", token: "b", bootId: other }),
      /before the last reboot/,
    ]);
    cases.push([
      "reused pid",
      JSON.stringify({ pid: process.pid, since: "s", by: "cli", token: "c", bootId, procStart: "1" }),
      /now belongs to another process/,
    ]);
  }
  for (const [what, text, reason] of cases) {
    const d = await dataDir();
    await writeFile(applyLockFile(d), text);
    const lock = await acquireApplyLock(d, { by: "me" });
    assert.match(lock.tookOver?.reason ?? "", reason, what);
    assert.equal((await holder(d)).token.length, 16, what);
    await lock.release();
    await assert.rejects(stat(applyLockFile(d)), { code: "ENOENT" }, what);
    assert.deepEqual(await readdir(provisioningDir(d)), [], `${what}: nothing left aside`);
  }
});

test("release removes only its own lock, and the provisioning dir only when it made it and it is empty", async () => {
  const d = await dataDir();
  const lock = await acquireApplyLock(d, { by: "me" });
  // Someone decided the lock was stale and replaced it: our release must not remove theirs.
  await writeFile(applyLockFile(d), JSON.stringify({ pid: process.pid, since: "s", by: "other", token: "zz" }));
  await lock.release();
  assert.equal((await holder(d)).token, "zz");

  const fresh = join(root, `data-${++n}`);
  await (await acquireApplyLock(fresh, { by: "me" })).release();
  assert.deepEqual(await readdir(fresh), [], "the provisioning dir it created is gone again");
  const used = join(root, `data-${++n}`);
  const l2 = await acquireApplyLock(used, { by: "me" });
  await writeFile(join(provisioningDir(used), "state.json"), "{}");
  await l2.release();
  assert.deepEqual(await readdir(provisioningDir(used)), ["state.json"]);
});
