import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { which } from "./sd-notify.ts";

const unitFile = fileURLToPath(new URL("./switchboard.service", import.meta.url));
const repo = fileURLToPath(new URL("../..", import.meta.url));
const analyze = which("systemd-analyze", process.env.PATH ?? "");
const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** Settings of one section (a key given twice keeps every value). */
function section(text: string, name: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const head = /^\[(.+)\]$/.exec(line);
    if (head) current = head[1];
    else if (current === name) {
      const eq = line.indexOf("=");
      const key = line.slice(0, eq);
      out.set(key, [...(out.get(key) ?? []), line.slice(eq + 1)]);
    }
  }
  return out;
}

test("the unit is a hardened notify service with a watchdog that restarts on failure", async () => {
  const s = section(await readFile(unitFile, "utf8"), "Service");
  const one = (k: string) => s.get(k)?.at(-1);
  assert.equal(one("Type"), "notify");
  assert.equal(one("NotifyAccess"), "all", "readiness is sent by a helper process");
  assert.ok(Number(one("WatchdogSec")) > 0);
  assert.equal(one("Restart"), "on-failure");
  assert.equal(one("NoNewPrivileges"), "yes");
  assert.equal(one("ProtectSystem"), "strict");
  assert.equal(one("PrivateTmp"), "yes");
  assert.equal(one("MemoryDenyWriteExecute"), "no", "Node's JIT");
  const exec = one("ExecStart") ?? "";
  const dataDir = /--data (\S+)/.exec(exec)?.[1];
  assert.ok(dataDir, "ExecStart names the data dir");
  const writable = (s.get("ReadWritePaths") ?? []).join(" ").split(/\s+/);
  assert.ok(writable.includes(dataDir), "the data dir is writable under ProtectSystem=strict");
  const config = /--config (\S+)/.exec(exec)?.[1] ?? "";
  assert.ok(writable.includes(config.slice(0, config.lastIndexOf("/"))), "the web page edits the config file");
});

test("systemd-analyze verify accepts the unit", { skip: !analyze && "systemd-analyze not installed" }, async () => {
  const dir = await mkdtemp(join(tmpdir(), "unit-"));
  dirs.push(dir);
  const text = await readFile(unitFile, "utf8");
  // verify checks that ExecStart exists: point it at this node and this checkout.
  const local = text.replace(
    "/usr/bin/node /opt/switchboard/daemon/switchboard.mjs",
    `${process.execPath} ${join(repo, "daemon/switchboard.mjs")}`,
  );
  assert.ok(existsSync(join(repo, "daemon/switchboard.mjs")));
  const complaints = async (name: string, body: string) => {
    const file = join(dir, name);
    await writeFile(file, body);
    const r = spawnSync(analyze as string, ["verify", file], { encoding: "utf8", env: { ...process.env } });
    // Unknown or malformed settings are only warnings (exit 0): every line about our file counts.
    const lines = `${r.stdout}\n${r.stderr}`.split("\n").filter((l) => l.includes(name));
    return { status: r.status, lines };
  };
  const good = await complaints("switchboard.service", local);
  assert.deepEqual(good.lines, []);
  assert.equal(good.status, 0);
  // The check itself can fail: a broken copy is complained about.
  const bad = await complaints("broken.service", local.replace("Type=notify", "Type=bogus"));
  assert.ok(
    bad.lines.some((l) => /Type|service type/.test(l)),
    bad.lines.join("\n"),
  );
});
