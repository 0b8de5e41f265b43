#!/usr/bin/env node
// Runs every *.test.ts: first the unit tests beside the code (two at a time), then the tests under test/ that start
// real peers (one at a time, so sipp, Kamailio and the daemon do not fight over two cores and flake).
// `--unit` runs only the first phase; other arguments filter files by substring.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const unitOnly = process.argv.includes("--unit");
const filters = process.argv.slice(2).filter((a) => !a.startsWith("--"));

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

const pick = (dirs) => {
  const files = dirs.flatMap((d) => walk(join(root, d), [])).sort();
  return filters.length ? files.filter((f) => filters.some((x) => f.includes(x))) : files;
};
const phases = [{ name: "unit", files: pick(["daemon", "models", "hw", "provisioning"]), concurrency: 2 }];
if (!unitOnly) phases.push({ name: "peers", files: pick(["test"]), concurrency: 1 });

if (phases.every((p) => p.files.length === 0)) {
  console.error("no test files found");
  process.exit(1);
}
let failed = false;
for (const phase of phases) {
  if (phase.files.length === 0) continue;
  console.log(`\n== ${phase.name} tests: ${phase.files.length} files`);
  const args = ["--import", "tsx", "--test", "--test-reporter=spec", `--test-concurrency=${phase.concurrency}`];
  const r = spawnSync(process.execPath, [...args, ...phase.files], {
    cwd: root,
    stdio: "inherit",
    env: { ...process.env, ORT_DISABLE_TELEMETRY: "1" },
  });
  if (r.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
