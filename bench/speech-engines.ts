// Speech engine figures on this machine: real-time factor (processing time / audio time, single thread) and RSS
// growth of Silero VAD, GTCRN and Pico TTS. Run: node --expose-gc --import tsx bench/speech-engines.ts
import { GtcrnDenoiser } from "../daemon/speech/gtcrn-denoiser.ts";
import { concatInt16 } from "../daemon/media/pcm.ts";
import { PicoTts } from "../daemon/speech/pico-tts.ts";
import { sherpa } from "../daemon/speech/sherpa-api.ts";
import { SileroVad } from "../daemon/speech/silero-vad.ts";
import { espeak, frames, GTCRN, PICO_DIR, SILERO } from "../daemon/speech/testutil.ts";

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
function rssMb(): number {
  gc();
  return process.memoryUsage().rss / 2 ** 20;
}
const fmt = (x: number, d = 3) => x.toFixed(d);

function testAudio(seconds: number): Int16Array {
  const speech = espeak("Hello, thank you for calling. How can I help you today? Please say your customer number.");
  const parts: Int16Array[] = [];
  let n = 0;
  while (n < seconds * 16000) {
    parts.push(speech, new Int16Array(8000));
    n += speech.length + 8000;
  }
  return concatInt16(parts).subarray(0, seconds * 16000);
}

async function main() {
  console.log(`node ${process.version}, ${(await import("node:os")).cpus().length} cores`);
  const r0 = rssMb();
  sherpa();
  new (sherpa().LinearResampler)(8000, 16000);
  const r1 = rssMb();
  const audio = testAudio(60);
  const audioS = audio.length / 16000;
  console.log(`sherpa-onnx-node addon loaded: +${fmt(r1 - r0, 1)} MB RSS`);

  // --- Silero VAD
  {
    const vad = new SileroVad({ model: SILERO });
    const before = rssMb();
    const s = vad.createStream();
    const t0 = performance.now();
    let segs = 0;
    for (const f of frames(audio)) for (const e of s.push(f)) if (e.type === "speechEnd") segs++;
    const ms = performance.now() - t0;
    const after1 = rssMb();
    const more = Array.from({ length: 10 }, () => vad.createStream());
    for (const m of more) m.push(audio.subarray(0, 1600));
    const after11 = rssMb();
    console.log(
      `silero-vad: RTF ${fmt(ms / 1000 / audioS, 4)} (${fmt(ms, 0)} ms for ${audioS} s, ${segs} segments), ` +
        `first stream +${fmt(after1 - before, 1)} MB, each further stream +${fmt((after11 - after1) / 10, 2)} MB`,
    );
  }

  // --- GTCRN
  {
    const den = new GtcrnDenoiser({ model: GTCRN });
    const before = rssMb();
    const s = den.createStream();
    const t0 = performance.now();
    for (const f of frames(audio.subarray(0, 30 * 16000))) s.process(f);
    s.flush();
    const ms = performance.now() - t0;
    const after1 = rssMb();
    const more = Array.from({ length: 10 }, () => den.createStream());
    for (const m of more) m.process(audio.subarray(0, 1600));
    const after11 = rssMb();
    console.log(
      `gtcrn: RTF ${fmt(ms / 1000 / 30)} (${fmt(ms, 0)} ms for 30 s), first stream +${fmt(after1 - before, 1)} MB, ` +
        `each further stream +${fmt((after11 - after1) / 10, 2)} MB`,
    );
  }

  // --- Pico
  {
    const before = rssMb();
    const t0 = performance.now();
    const tts = await PicoTts.create({ langDir: PICO_DIR });
    const loadMs = performance.now() - t0;
    console.log(`pico: load 3 voices ${fmt(loadMs, 0)} ms, +${fmt(rssMb() - before, 1)} MB RSS`);
    const texts: Record<string, string> = {
      "de-DE":
        "Guten Tag, Sie sind mit der Praxis Dr. Meier verbunden. Leider sind alle Leitungen belegt. " +
        "Bitte nennen Sie Ihren Namen und Ihre Telefonnummer. Wir rufen Sie so bald wie möglich zurück. Vielen Dank.",
      "en-US":
        "Good morning, you have reached the front desk. All our lines are busy at the moment. " +
        "Please leave your name and number after the tone. We will call you back as soon as possible. Thank you.",
    };
    for (const voice of ["de-DE", "en-US"]) {
      // Warm-up run: the first synthesis compiles the WASM paths.
      for await (const _ of tts.synthesize("Test.", { voice })) void _;
      for (let run = 0; run < 2; run++) {
        const t1 = performance.now();
        let last = t1;
        let samples = 0;
        const perSentence: string[] = [];
        let ttfa = 0;
        for await (const c of tts.synthesize(texts[voice], { voice })) {
          const now = performance.now();
          if (!ttfa) ttfa = now - t1;
          perSentence.push(`${fmt(now - last, 0)}ms/${fmt(c.pcm.length / 16000, 2)}s`);
          last = now;
          samples += c.pcm.length;
        }
        const total = performance.now() - t1;
        console.log(
          `pico ${voice}: RTF ${fmt(total / 1000 / (samples / 16000))}, time to first audio ${fmt(ttfa, 0)} ms, ` +
            `per sentence (synth time/audio) ${perSentence.join(" ")}`,
        );
      }
    }
    console.log(`pico after synthesis: RSS ${fmt(rssMb(), 1)} MB total`);
  }
}

await main();
