// Run a command-asr bundle through the daemon's own loader (daemon/speech/sherpa-asr.ts createAsr, offline
// nemo-ctc, numThreads 1) on 16 kHz WAV files; print JSON lines {file, text, tokens, ms}.
// usage (from the repo root): node --import tsx models/command-asr/sherpa_eval.mjs BUNDLE_DIR LIST.txt
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { createAsr } from "../../daemon/speech/sherpa-asr.ts";

const require = createRequire(import.meta.url);
const sherpa = require("sherpa-onnx-node");
const [bundleDir, list] = process.argv.slice(2);
const manifest = JSON.parse(readFileSync(resolve(bundleDir, "manifest.json"), "utf8"));
const { kind, type, model, tokens } = manifest.engineOptions;
const asr = createAsr({ kind, type, model, tokens, dir: resolve(bundleDir) }, { numThreads: 1 });
for (const file of readFileSync(list, "utf8").split("\n").filter(Boolean)) {
  const w = sherpa.readWave(file);
  const t0 = process.hrtime.bigint();
  const r = await asr.recognize(w.samples);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  console.log(JSON.stringify({ file, text: r.text, tokens: r.tokens, ms, seconds: w.samples.length / 16000 }));
}
