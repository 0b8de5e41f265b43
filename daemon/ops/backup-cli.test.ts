import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { backupCommand, restoreCommand } from "./backup-cli.ts";

const roots: string[] = [];
after(async () => {
  for (const r of roots) await rm(r, { recursive: true, force: true });
});

test("backup and restore from the command line; the passphrase only from the environment or a file", async () => {
  const root = await mkdtemp(join(tmpdir(), "backup-cli-"));
  roots.push(root);
  const data = join(root, "data");
  const config = join(root, "switchboard.yaml");
  await mkdir(join(data, "web"), { recursive: true });
  await writeFile(join(data, "web", "cert.pem"), "cert");
  await writeFile(config, "dataDir: ./data\n");
  const out = join(root, "b.swbackup");
  const lines: string[] = [];
  const say = (l: string) => lines.push(l);

  delete process.env.SWITCHBOARD_BACKUP_PASSPHRASE;
  assert.equal(await backupCommand(["--config", config, "--data", data, "--out", out], say), 1);
  assert.match(lines.at(-1) ?? "", /no passphrase: set SWITCHBOARD_BACKUP_PASSPHRASE/);
  assert.equal(await backupCommand(["--config", config, "--out", out, "--passphrase", "x"], say), 2, "not in argv");
  assert.match(lines.at(-1) ?? "", /Unknown option '--passphrase'/);

  const passFile = join(root, "pass");
  await writeFile(passFile, "a long enough passphrase\n");
  assert.equal(
    await backupCommand(["--config", config, "--data", data, "--out", out, "--passphrase-file", passFile], say),
    0,
  );
  await writeFile(join(data, "web", "cert.pem"), "changed");
  await writeFile(config, "broken: [");

  process.env.SWITCHBOARD_BACKUP_PASSPHRASE = "a long enough passphrase";
  try {
    assert.equal(await restoreCommand([out, "--config", config], say), 1, "a broken config needs --data");
    assert.match(lines.at(-1) ?? "", /give the data dir with --data DIR/);
    assert.equal(await restoreCommand([out, "--config", config, "--data", data], say), 0);
  } finally {
    delete process.env.SWITCHBOARD_BACKUP_PASSPHRASE;
  }
  assert.equal(await readFile(join(data, "web", "cert.pem"), "utf8"), "cert");
  assert.equal(await readFile(config, "utf8"), "dataDir: ./data\n");
  assert.equal(await restoreCommand([out, "--config", config, "--data", data, "--passphrase-file", config], say), 1);
  assert.match(lines.at(-1) ?? "", /wrong passphrase/);
});
