import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { openDb } from "../../store/db.ts";
import { FirstBoot, generateSecret } from "./first-boot.ts";
import { hashPassword, verifyPassword } from "./passwords.ts";
import { Users } from "./users.ts";

const cheap = { N: 2 ** 10, r: 8, p: 1 };
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function setup() {
  const dataDir = mkdtempSync(join(tmpdir(), "sb-firstboot-"));
  dirs.push(dataDir);
  const users = new Users(openDb(":memory:"));
  return { dataDir, users, firstBoot: () => new FirstBoot(dataDir, users, Date.now, cheap) };
}

describe("first boot", () => {
  it("generates a secret once, as admin's must-change password, keeping only its hash", async () => {
    const { dataDir, users, firstBoot } = setup();
    const r = await firstBoot().prepare();
    assert.ok(r.generated);
    assert.match(r.generated, /^[2-9a-z]{5}(-[2-9a-z]{5}){3}$/);
    const admin = users.get("admin");
    assert.equal(admin?.role, "admin");
    assert.equal(admin?.mustChange, true);
    assert.equal(await verifyPassword(r.generated, admin?.passwordHash ?? ""), true);
    const record = readFileSync(join(dataDir, "web", "first-boot.json"), "utf8");
    assert.ok(!record.includes(r.generated), "the secret itself is not stored");
    assert.equal(await firstBoot().isSecret(r.generated), true);
    // A restart before the secret was used shows nothing new.
    const again = await firstBoot().prepare();
    assert.deepEqual(again, { pending: true, source: "generated" });
  });

  it("uses a provisioned secret and deletes the file", async () => {
    const { dataDir, users, firstBoot } = setup();
    writeFileSync(join(dataDir, "first-boot-secret"), "from-the-usb-bundle-1234\n");
    const r = await firstBoot().prepare();
    assert.deepEqual(r, { pending: true, source: "provisioning" });
    assert.equal(existsSync(join(dataDir, "first-boot-secret")), false);
    assert.equal(await verifyPassword("from-the-usb-bundle-1234", users.get("admin")?.passwordHash ?? ""), true);
  });

  it("a provisioned file replaces a lost, still unused secret, but not once the box is set up", async () => {
    const { dataDir, users, firstBoot } = setup();
    await firstBoot().prepare();
    writeFileSync(join(dataDir, "first-boot-secret"), "second-secret-abcdef");
    await firstBoot().prepare();
    assert.equal(await verifyPassword("second-secret-abcdef", users.get("admin")?.passwordHash ?? ""), true);
    // Admin replaces it: first boot is over.
    users.update("admin", { passwordHash: await hashPassword("a real password", cheap), mustChange: false });
    firstBoot().replaced();
    writeFileSync(join(dataDir, "first-boot-secret"), "third-secret-abcdef");
    assert.deepEqual(await firstBoot().prepare(), { pending: false });
    assert.equal(existsSync(join(dataDir, "first-boot-secret")), false, "a plain secret is never left lying around");
    assert.equal(await verifyPassword("a real password", users.get("admin")?.passwordHash ?? ""), true);
  });

  it("does nothing when users exist", async () => {
    const { users, firstBoot } = setup();
    users.create({ name: "ann", role: "admin", passwordHash: "x", mustChange: false });
    assert.deepEqual(await firstBoot().prepare(), { pending: false });
    assert.equal(users.get("admin"), undefined);
  });

  it("secrets are long and differ", () => {
    const a = generateSecret();
    assert.equal(a.replaceAll("-", "").length, 20);
    assert.notEqual(a, generateSecret());
  });
});
