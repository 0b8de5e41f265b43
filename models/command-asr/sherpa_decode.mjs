// Decode WAV files with sherpa-onnx-node's OfflineRecognizer (nemo_ctc), one thread, and print JSON lines
// {file, text, tokens, timestamps, ms}. usage: node sherpa_decode.mjs MODEL TOKENS LIST.txt
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
const require = createRequire(import.meta.url);
const sherpa = require("sherpa-onnx-node");
const [model, tokens, list] = process.argv.slice(2);
const rec = new sherpa.OfflineRecognizer({
  featConfig: { sampleRate: 16000, featureDim: 80 },
  modelConfig: { nemoCtc: { model }, tokens, numThreads: 1, provider: "cpu", debug: 0 },
});
for (const file of readFileSync(list, "utf8").split("\n").filter(Boolean)) {
  const w = sherpa.readWave(file);
  const t0 = process.hrtime.bigint();
  const s = rec.createStream();
  s.acceptWaveform({ samples: w.samples, sampleRate: w.sampleRate });
  rec.decode(s);
  const r = rec.getResult(s);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  console.log(JSON.stringify({ file, text: r.text, tokens: r.tokens, timestamps: r.timestamps, ms }));
}
