import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { hashPassword, verifyPassword } from "./passwords.ts";

const cheap = { N: 2 ** 10, r: 8, p: 1 };

describe("passwords", () => {
  it("verifies the right password and refuses a wrong one", async () => {
    const h = await hashPassword("correct horse battery", cheap);
    assert.equal(await verifyPassword("correct horse battery", h), true);
    assert.equal(await verifyPassword("correct horse batterY", h), false);
    assert.equal(await verifyPassword("", h), false);
  });

  it("salts every hash and keeps the parameters in the string", async () => {
    const a = await hashPassword("same password", cheap);
    const b = await hashPassword("same password", { N: 2 ** 11, r: 8, p: 1 });
    assert.notEqual(a, b);
    assert.match(a, /^scrypt\$1024\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    assert.match(b, /^scrypt\$2048\$8\$1\$/);
    // Each verifies with the cost written in it.
    assert.equal(await verifyPassword("same password", a), true);
    assert.equal(await verifyPassword("same password", b), true);
  });

  it("the default cost round-trips", async () => {
    const h = await hashPassword("default cost pw");
    assert.match(h, /^scrypt\$32768\$8\$1\$/);
    assert.equal(await verifyPassword("default cost pw", h), true);
  });

  it("treats malformed or absurd hashes as a wrong password", async () => {
    const h = await hashPassword("pw", cheap);
    const parts = h.split("$");
    for (const bad of [
      "",
      "plain text",
      parts.slice(0, 5).join("$"),
      ["bcrypt", ...parts.slice(1)].join("$"),
      ["scrypt", "1000", ...parts.slice(2)].join("$"), // N not a power of two
      ["scrypt", String(2 ** 24), ...parts.slice(2)].join("$"), // would need gigabytes
      [...parts.slice(0, 5), "AAAA"].join("$"), // truncated key
    ])
      assert.equal(await verifyPassword("pw", bad), false, bad);
  });
});
