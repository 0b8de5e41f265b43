import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { UsbWatch } from "./usb-watch.ts";

const root = await mkdtemp(join(tmpdir(), "usb-watch-test-"));
after(() => rm(root, { recursive: true, force: true }));

test("emits each bundle on a stick once, again when it changes or the stick comes back", async () => {
  const watch = new UsbWatch({ roots: [join(root, "media"), join(root, "missing")] });
  const emitted: string[] = [];
  watch.on("bundle", (p) => emitted.push(p));
  assert.deepEqual(await watch.scan(), []);

  const stick = join(root, "media", "installer", "STICK");
  await mkdir(stick, { recursive: true });
  const bundle = join(stick, "switchboard-bundle-site1.tar");
  await writeFile(bundle, "v1");
  await writeFile(join(stick, "holiday.jpg"), "x");
  await writeFile(join(stick, "switchboard-bundle.tar.result.json"), "{}");
  await symlink("/etc/passwd", join(stick, "switchboard-bundle-link.tar"));
  assert.deepEqual(await watch.scan(), [bundle]);
  assert.deepEqual(await watch.scan(), [], "the same file is not reported twice");

  await writeFile(bundle, "version 2, longer");
  await utimes(bundle, new Date(), new Date(Date.now() + 5000));
  assert.deepEqual(await watch.scan(), [bundle], "a changed file counts as new");

  await rm(join(root, "media", "installer"), { recursive: true });
  assert.deepEqual(await watch.scan(), []);
  await mkdir(stick, { recursive: true });
  await writeFile(bundle, "version 2, longer");
  assert.deepEqual(await watch.scan(), [bundle], "a re-inserted stick counts as new");
  assert.deepEqual(emitted, [bundle, bundle, bundle]);
});

test("does not look deeper than the configured depth", async () => {
  const deep = join(root, "deep", "a", "b", "c");
  await mkdir(deep, { recursive: true });
  await writeFile(join(deep, "switchboard-bundle.tar"), "x");
  assert.deepEqual(await new UsbWatch({ roots: [join(root, "deep")], depth: 2 }).scan(), []);
  assert.deepEqual(await new UsbWatch({ roots: [join(root, "deep")], depth: 3 }).scan(), [
    join(deep, "switchboard-bundle.tar"),
  ]);
});
