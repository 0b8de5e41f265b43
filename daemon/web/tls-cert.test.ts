import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fingerprintOf, loadTls, selfSigned } from "./tls-cert.ts";

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "sb-tls-"));
  dirs.push(d);
  return d;
};
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("web certificate", () => {
  it("is made on first start (ECDSA P-256, 10 years, the box's names), then reused", async () => {
    const dataDir = tempDir();
    const first = await loadTls({ dataDir });
    assert.equal(first.generated, true);
    const cert = new X509Certificate(first.cert);
    assert.equal(cert.publicKey.asymmetricKeyType, "ec");
    assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
    const years = (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / (365 * 86_400_000);
    assert.ok(years > 9.9 && years < 10.1, `${years} years`);
    const san = cert.subjectAltName ?? "";
    for (const name of [`DNS:${hostname()}`, "DNS:localhost", "IP Address:127.0.0.1", "IP Address:0:0:0:0:0:0:0:1"])
      assert.ok(san.includes(name), `${name} in ${san}`);
    assert.ok(cert.checkPrivateKey((await import("node:crypto")).createPrivateKey(first.key)));
    assert.match(first.fingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    assert.equal(statSync(join(dataDir, "web", "key.pem")).mode & 0o777, 0o600);

    const second = await loadTls({ dataDir });
    assert.equal(second.generated, false);
    assert.equal(second.fingerprint, first.fingerprint);
  });

  it("is made anew when the stored one is about to expire", async () => {
    const dataDir = tempDir();
    const first = await loadTls({ dataDir });
    const later = await loadTls({ dataDir, now: Date.now() + 10 * 365 * 86_400_000 - 86_400_000 });
    assert.equal(later.generated, true);
    assert.notEqual(later.fingerprint, first.fingerprint);
  });

  it("configured files are used as they are", async () => {
    const dir = tempDir();
    const made = await selfSigned(["box.example.com"], ["192.0.2.10"]);
    writeFileSync(join(dir, "c.pem"), made.cert);
    writeFileSync(join(dir, "k.pem"), made.key);
    const t = await loadTls({ dataDir: dir, certFile: join(dir, "c.pem"), keyFile: join(dir, "k.pem") });
    assert.equal(t.generated, false);
    assert.equal(t.fingerprint, fingerprintOf(made.cert));
    assert.equal(t.cert, readFileSync(join(dir, "c.pem"), "utf8"));
  });
});

describe("web config", () => {
  it("certFile and keyFile go together; httpPort differs from port; null turns the redirect off", async () => {
    const { webSchema } = await import("../config/schema.ts");
    const half = webSchema.safeParse({ certFile: "/etc/c.pem" });
    assert.equal(half.success, false);
    assert.deepEqual(half.error?.issues[0].path, ["keyFile"]);
    assert.deepEqual(webSchema.safeParse({ port: 8443, httpPort: 8443 }).error?.issues[0].path, ["httpPort"]);
    assert.equal(webSchema.parse({ httpPort: null }).httpPort, null);
    assert.deepEqual(webSchema.parse({}), {
      enabled: true,
      address: "0.0.0.0",
      port: 8443,
      httpPort: 8080,
      hosts: [],
      session: { idleMinutes: 30, absoluteHours: 12 },
      login: { maxFailures: 5, lockoutMinutes: 15 },
    });
  });
});
