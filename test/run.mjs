#!/usr/bin/env node
// Finds every *.test.ts (unit tests beside the code, peer tests under test/) and runs them with node's test runner.
// `--unit` runs only the tests beside the code (no peers, no processes).
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const unitOnly = process.argv.includes("--unit");
const filters = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const dirs = unitOnly ? ["daemon", "models", "hw", "provisioning"] : ["daemon", "models", "hw", "provisioning", "test"];

function walk(dir, out) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const e of entries) {
    if (e === "node_modules") continue;
    const p = join(dir, e);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (e.endsWith(".test.ts")) out.push(relative(root, p));
  }
  return out;
}

let files = dirs.flatMap((d) => walk(join(root, d), [])).sort();
if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error("no test files found");
  process.exit(1);
}
const args = ["--import", "tsx", "--test", "--test-reporter=spec", "--test-concurrency=2", ...files];
const r = spawnSync(process.execPath, args, {
  cwd: root,
  stdio: "inherit",
  env: { ...process.env, ORT_DISABLE_TELEMETRY: "1" },
});
process.exit(r.status ?? 1);
