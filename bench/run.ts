// `npm run bench -- NAME [ARGS]` runs bench/NAME.ts with ARGS; without a name it lists the benchmarks. Each benchmark
// is its own process so one run's daemons, captures and memory never skew the next.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

const dir = fileURLToPath(new URL(".", import.meta.url));
const names = readdirSync(dir)
  .filter((f) => f.endsWith(".ts") && f !== "run.ts" && f !== "media-reflector.ts")
  .map((f) => f.slice(0, -3))
  .sort();
const [name, ...args] = process.argv.slice(2);
if (!name || !names.includes(name)) {
  if (name) console.error(`no benchmark "${name}"`);
  console.log(`usage: npm run bench -- NAME [ARGS]\nbenchmarks: ${names.join(", ")}`);
  process.exit(name ? 1 : 0);
}
const r = spawnSync(process.execPath, ["--expose-gc", "--import", "tsx", `${dir}${name}.ts`, ...args], {
  stdio: "inherit",
});
process.exit(r.status ?? 1);
